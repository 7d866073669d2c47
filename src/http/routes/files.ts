import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import type { InitiateRequest } from '../../app/files/uploads.ts';
import { MAX_CHUNK_BYTES } from '../../domain/upload.ts';
import { Id, MAX_INTEGER, Uuid, problems } from '../schemas.ts';
import { principalOf } from '../auth.ts';
import { sendProblem } from '../problem.ts';
import { contentDisposition, contentLengthOf, parseRange, parseUploadChecksum } from '../file-headers.ts';
import { bearer, protect } from './guard.ts';

const Sha256Hex = Type.String({ pattern: '^[0-9a-fA-F]{64}$' });
const Timestamp = Type.String({ format: 'date-time' });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const UploadParams = Type.Object({ upload_id: Uuid });
const FileParams = Type.Object({ file_id: Uuid });
const ErrorInfo = Type.Object({ code: Type.String(), detail: Type.String() });

const Initiate = Type.Object({
  // Any text: it is cleaned and cut to 255 characters for display, never used as a path.
  filename: Type.String({ minLength: 1, maxLength: 65_536 }),
  file_size: Type.Integer({ minimum: 1, maximum: MAX_INTEGER }),
  mime_type: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  conversation_id: Type.Optional(Id),
  checksum_sha256: Type.Optional(Sha256Hex),
  // Bounded as a number here; the allowed range is the domain's answer (invalid-chunk-size).
  chunk_size: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_INTEGER, description: `bytes, ${1024 * 1024}..${MAX_CHUNK_BYTES} (default 8 MiB)` })),
});
const Initiated = Type.Object({
  upload_id: Uuid,
  status: Type.String(),
  filename: Type.String(),
  total_chunks: Type.Integer(),
  chunk_size: Type.Integer(),
  expires_at: Timestamp,
});
const ChunkStored = Type.Object({
  upload_id: Uuid,
  chunk_number: Type.Integer(),
  uploaded_chunks: Type.Integer(),
  total_chunks: Type.Integer(),
  percentage: Type.Number(),
});
const UploadStatus = Type.Object({
  upload_id: Uuid,
  status: Type.String(),
  filename: Type.String(),
  file_size: Type.Integer(),
  chunk_size: Type.Integer(),
  uploaded_chunks: Type.Integer(),
  total_chunks: Type.Integer(),
  percentage: Type.Number(),
  missing_chunks: Type.Array(Type.Integer()),
  file_id: Nullable(Uuid),
  download_url: Nullable(Type.String()),
  error: Type.Union([ErrorInfo, Type.Null()]),
  created_at: Timestamp,
  expires_at: Timestamp,
  completed_at: Nullable(Timestamp),
});
const Completed = Type.Object({ upload_id: Uuid, status: Type.String(), file_id: Nullable(Uuid), error: Type.Optional(ErrorInfo) });
const FileMetadata = Type.Object({
  file_id: Uuid,
  filename: Type.String(),
  size_bytes: Type.Integer(),
  mime_type: Type.String(),
  sha256: Type.String(),
  uploader_id: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
});
// 0 and numbers past the last chunk reach the domain, which answers chunk-out-of-range with total_chunks.
const ChunkNumber = Type.Integer({ minimum: 0, maximum: MAX_INTEGER });
const ChunkQuery = Type.Object({ chunk_number: ChunkNumber, checksum_sha256: Type.Optional(Sha256Hex) });

type ChunkRequest = FastifyRequest<{ Params: { upload_id: string; chunk_number?: number }; Querystring: { chunk_number?: number; checksum_sha256?: string } }>;

/** The chunk API of resumable uploads, and file metadata and downloads. */
export const fileRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  await server.register(jsonRoutes(app, config));
  await server.register(chunkRoutes(app, config));
};

const jsonRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  protect(server, app, config);
  const base = { tags: ['files'], security: bearer };

  server.post<{ Body: InitiateRequest }>(
    '/v1/files/initiate',
    {
      config: { rateClass: 'write', scope: 'files:write' },
      schema: {
        ...base,
        summary: 'Start a resumable upload; upload_id is also the future file_id',
        body: Initiate,
        response: { 201: Initiated, ...problems(400, 401, 403, 404, 413, 429, 503) },
      },
    },
    async (request, reply) => reply.code(201).send((await app.files.uploads.initiate(principalOf(request).userId, request.body)).view),
  );

  server.get<{ Params: { upload_id: string } }>(
    '/v1/files/:upload_id/status',
    {
      config: { rateClass: 'read', scope: 'files:write' },
      schema: {
        ...base,
        summary: 'Upload progress: stored and missing chunks, outcome',
        params: UploadParams,
        response: { 200: UploadStatus, ...problems(400, 401, 404, 409, 429) },
      },
    },
    async (request) => app.files.uploads.status(principalOf(request).userId, request.params.upload_id),
  );

  server.post<{ Params: { upload_id: string }; Body: { checksum_sha256?: string } | null }>(
    '/v1/files/:upload_id/complete',
    {
      config: { rateClass: 'write', scope: 'files:write' },
      schema: {
        ...base,
        summary: 'Assemble and verify the upload (SHA-256, magic bytes); idempotent',
        params: UploadParams,
        body: Type.Union([Type.Object({ checksum_sha256: Type.Optional(Sha256Hex) }), Type.Null()]),
        response: { 202: Completed, ...problems(400, 401, 404, 409, 422, 429, 503) },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await app.files.uploads.complete(principalOf(request).userId, request.params.upload_id, request.body?.checksum_sha256)),
  );

  server.get<{ Params: { file_id: string } }>(
    '/v1/files/:file_id',
    {
      config: { rateClass: 'read', scope: 'files:read' },
      schema: {
        ...base,
        summary: 'File metadata (uploader and members of conversations where it was shared)',
        params: FileParams,
        response: { 200: FileMetadata, ...problems(400, 401, 404, 429) },
      },
    },
    async (request) => app.files.downloads.describe(principalOf(request).userId, request.params.file_id),
  );

  server.get<{ Params: { file_id: string } }>(
    '/v1/files/:file_id/download',
    {
      config: { rateClass: 'read', scope: 'files:read' },
      schema: {
        ...base,
        summary: 'The bytes (Range supported), or a 302 to a short-lived presigned URL',
        params: FileParams,
        response: {
          200: binaryBody('The whole file. Content-Type is the type detected when the upload completed; Content-Disposition carries the file name.'),
          206: binaryBody('The requested byte range (Range: bytes=…), with Content-Range.'),
          302: { description: 'Object storage serves the bytes: follow Location (a presigned URL valid for a few minutes).', type: 'null' },
          ...problems(400, 401, 404, 416, 429),
        },
      },
    },
    (request, reply) => download(app, request, reply),
  );
};

async function download(app: App, request: FastifyRequest<{ Params: { file_id: string } }>, reply: FastifyReply) {
  const file = await app.files.downloads.describe(principalOf(request).userId, request.params.file_id);
  const disposition = contentDisposition(file.filename);
  const url = await app.files.downloads.presignedUrl(file, disposition);
  // The store serves the bytes (and Range) itself; our answer must not be cached past the URL's life.
  if (url) return reply.code(302).header('location', url).header('cache-control', 'no-store').send();
  const etag = `"${file.sha256}"`;
  const ifRange = request.headers['if-range'];
  const range = ifRange && ifRange !== etag ? undefined : parseRange(request.headers.range, file.size_bytes);
  reply.header('accept-ranges', 'bytes').header('etag', etag).header('cache-control', 'private, no-cache');
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${file.size_bytes}`);
    return sendProblem(request, reply, 416, 'range-not-satisfiable', `The file has ${file.size_bytes} bytes`);
  }
  // Uploaded content is never rendered by us: no sniffing, no scripts, saved as a file.
  reply
    .header('content-type', file.mime_type)
    .header('content-disposition', disposition)
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "sandbox; default-src 'none'");
  if (range)
    reply
      .code(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${file.size_bytes}`)
      .header('content-length', range.end - range.start + 1);
  else reply.header('content-length', file.size_bytes);
  return reply.send(await app.files.downloads.read(file, range));
}

/** Chunk uploads: the raw body, whatever its declared type, is streamed to storage, never parsed or buffered. */
const chunkRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  protect(server, app, config);
  server.removeAllContentTypeParsers();
  server.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  const base = { tags: ['files'], security: bearer, consumes: ['application/octet-stream'] };
  const response = { 200: ChunkStored, ...problems(400, 401, 404, 409, 429, 503) };

  server.post(
    '/v1/files/:upload_id/chunks',
    {
      config: { rateClass: 'chunk', scope: 'files:write' },
      bodyLimit: MAX_CHUNK_BYTES,
      schema: {
        ...base,
        summary: 'Store chunk chunk_number (1-based): raw bytes; optional SHA-256 as checksum_sha256 or Upload-Checksum',
        params: UploadParams,
        querystring: ChunkQuery,
        response,
      },
    },
    (request: ChunkRequest, reply) => receiveChunk(app, request, reply, Number(request.query.chunk_number)),
  );

  server.patch(
    '/v1/files/upload/:upload_id/:chunk_number',
    {
      config: { rateClass: 'chunk', scope: 'files:write' },
      bodyLimit: MAX_CHUNK_BYTES,
      schema: {
        ...base,
        summary: 'Same as POST /v1/files/{upload_id}/chunks',
        params: Type.Object({ upload_id: Uuid, chunk_number: ChunkNumber }),
        querystring: Type.Object({ checksum_sha256: Type.Optional(Sha256Hex) }),
        response,
      },
    },
    (request: ChunkRequest, reply) => receiveChunk(app, request, reply, Number(request.params.chunk_number)),
  );
};

async function receiveChunk(app: App, request: ChunkRequest, reply: FastifyReply, chunkNumber: number) {
  try {
    const checksums = [request.query.checksum_sha256, parseUploadChecksum(request.headers['upload-checksum'])].filter((c): c is string => !!c);
    const body = (request.body as Readable | undefined) ?? request.raw;
    return await app.files.uploads.receiveChunk(principalOf(request).userId, request.params.upload_id, chunkNumber, body, {
      contentLength: contentLengthOf(request.headers['content-length']),
      checksums,
    });
  } catch (e) {
    // The rest of an unread body would be parsed as the next request: close the connection instead.
    if (!request.raw.complete) reply.header('connection', 'close');
    throw e;
  }
}

/** A raw download: any content type, the bytes as they were uploaded. */
const binaryBody = (description: string) => ({ description, content: { '*/*': { schema: { type: 'string', format: 'binary' } } } });

/**
 * tus 1.0 at /v1/tus/ (core, creation, creation-with-upload, termination, expiration, checksum
 * sha256), same Bearer auth as the rest of /v1. A finished tus upload is a file like any other:
 * the last segment of its Location is its file_id.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import { requireUnexpired, type Upload } from '../../app/files/records.ts';
import type { Config } from '../../config.ts';
import { invalid, isDomainError } from '../../domain/errors.ts';
import { GENERIC_MIME } from '../../domain/upload.ts';
import { Uuid } from '../schemas.ts';
import { principalOf } from '../auth.ts';
import { sendProblem } from '../problem.ts';
import { contentLengthOf, parseUploadChecksum } from '../file-headers.ts';
import { integerHeader, parseUploadMetadata, TUS_CHECKSUM_ALGORITHMS, TUS_CONTENT_TYPE, TUS_EXTENSIONS, TUS_VERSION } from '../tus-protocol.ts';
import { bearer, protect } from './guard.ts';

const tags = ['tus'];
const IdParams = Type.Object({ id: Uuid });
type IdRequest = FastifyRequest<{ Params: { id: string } }>;

export const tusRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  server.addHook('onSend', async (_request, reply) => {
    reply.header('tus-resumable', TUS_VERSION);
  });
  await server.register(discovery(config));
  await server.register(uploads(app, config));
};

/** OPTIONS needs no credentials (it is also the browsers' CORS preflight). */
const discovery = (config: Config) => async (server: FastifyInstance) => {
  const describe = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(204)
      .headers({
        'tus-version': TUS_VERSION,
        'tus-extension': TUS_EXTENSIONS,
        'tus-max-size': config.limits.maxUploadBytes,
        'tus-checksum-algorithm': TUS_CHECKSUM_ALGORITHMS,
      })
      .send();
  server.options('/v1/tus', { schema: { tags, summary: 'tus capabilities' } }, describe);
  server.options('/v1/tus/:id', { schema: { hide: true } }, describe);
};

const uploads = (app: App, config: Config) => async (server: FastifyInstance) => {
  // Tus-Resumable first: a client speaking another version gets 412 and our version, nothing else.
  server.addHook('preHandler', async (request, reply) => {
    if (request.headers['tus-resumable'] === TUS_VERSION) return;
    reply.header('tus-version', TUS_VERSION);
    return sendProblem(request, reply, 412, 'tus-version-unsupported', `Send Tus-Resumable: ${TUS_VERSION}`);
  });
  protect(server, app, config);
  server.removeAllContentTypeParsers();
  server.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  server.post(
    '/v1/tus',
    {
      config: { rateClass: 'write', scope: 'files:write' },
      schema: { tags, security: bearer, summary: 'Create a tus upload (creation, creation-with-upload)' },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const length = integerHeader('Upload-Length', request.headers['upload-length']);
      if (length === undefined) throw invalid('upload-length-required', 'Send Upload-Length (deferred lengths are not supported)');
      const rawMetadata = headerText(request.headers['upload-metadata']);
      const meta = parseUploadMetadata(rawMetadata);
      const conversationId = meta.conversation_id ? Number(meta.conversation_id) : undefined;
      if (conversationId !== undefined && !(Number.isInteger(conversationId) && conversationId > 0))
        throw invalid('invalid-upload-metadata', 'conversation_id must be a positive integer');
      const upload = await app.files.tus.create(
        p.userId,
        {
          // Browsers report unknown types as "": that means "no declaration", not a bad one.
          filename: meta.filename || meta.name || 'file',
          file_size: length,
          mime_type: meta.filetype || meta.type || meta.mime_type || GENERIC_MIME,
          conversation_id: conversationId,
        },
        rawMetadata,
      );
      reply.header('location', `${baseUrl(request, config)}/v1/tus/${upload.id}`);
      const hasBody = (contentLengthOf(request.headers['content-length']) ?? 0) > 0;
      if (!hasBody) return reply.code(201).header('upload-expires', upload.expiresAt.toUTCString()).send();
      return patch(app, request, reply, upload.id, 0, 201);
    },
  );

  server.head(
    '/v1/tus/:id',
    { config: { rateClass: 'read', scope: 'files:write' }, schema: { tags, security: bearer, summary: 'The offset of a tus upload', params: IdParams } },
    async (request: IdRequest, reply) => {
      const upload = await app.files.tus.find(principalOf(request).userId, request.params.id);
      // An expired upload is gone for the client: tus clients then start a new one.
      requireUnexpired(upload);
      reply.header('cache-control', 'no-store').header('upload-offset', upload.tusOffset).header('upload-length', upload.sizeBytes);
      if (upload.tusMetadata) reply.header('upload-metadata', upload.tusMetadata);
      if (upload.status !== 'completed') reply.header('upload-expires', upload.expiresAt.toUTCString());
      return reply.code(200).send();
    },
  );

  server.patch(
    '/v1/tus/:id',
    {
      config: { rateClass: 'chunk', scope: 'files:write' },
      schema: { tags, security: bearer, summary: 'Append bytes at Upload-Offset (checksum: Upload-Checksum sha256)', params: IdParams },
    },
    async (request: IdRequest, reply) => {
      const offset = integerHeader('Upload-Offset', request.headers['upload-offset']);
      if (offset === undefined) throw invalid('upload-offset-required', 'Send Upload-Offset');
      return patch(app, request, reply, request.params.id, offset, 204);
    },
  );

  server.delete(
    '/v1/tus/:id',
    {
      config: { rateClass: 'write', scope: 'files:write' },
      schema: { tags, security: bearer, summary: 'Terminate an unfinished tus upload', params: IdParams },
    },
    async (request: IdRequest, reply) => {
      await app.files.tus.terminate(principalOf(request).userId, request.params.id);
      return reply.code(204).send();
    },
  );
};

async function patch(app: App, request: FastifyRequest, reply: FastifyReply, id: string, offset: number, status: 201 | 204) {
  let upload: Upload;
  try {
    const type = request.headers['content-type']?.split(';')[0].trim().toLowerCase();
    if (type !== TUS_CONTENT_TYPE)
      return await sendProblem(request, reply.header('connection', 'close'), 415, 'unsupported-media-type', `PATCH bodies are ${TUS_CONTENT_TYPE}`);
    const checksum = parseUploadChecksum(request.headers['upload-checksum']);
    const body = (request.body as Readable | undefined) ?? request.raw;
    upload = await app.files.tus.append(principalOf(request).userId, id, body, {
      offset,
      contentLength: contentLengthOf(request.headers['content-length']),
      checksum,
    });
  } catch (e) {
    if (!request.raw.complete) reply.header('connection', 'close');
    // tus's own status for a body that does not match its Upload-Checksum.
    if (isDomainError(e) && e.code === 'checksum-mismatch') return sendProblem(request, reply, 460, 'checksum-mismatch', e.message);
    throw e;
  }
  reply.header('upload-offset', upload.tusOffset);
  if (upload.status !== 'completed') reply.header('upload-expires', upload.expiresAt.toUTCString());
  return reply.code(status).send();
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** Absolute URLs in Location: PUBLIC_URL when set, else what the client (or a trusted proxy) asked for. */
function baseUrl(request: FastifyRequest, config: Config): string {
  return config.http.publicUrl?.replace(/\/$/, '') ?? `${request.protocol}://${request.host}`;
}

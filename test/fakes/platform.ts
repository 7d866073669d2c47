/**
 * The common half of the fake platforms: a real HTTP server on port 0 that parses JSON, form and
 * multipart bodies, records every request, and plays scripted faults before answering normally.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedFile {
  field: string;
  filename: string;
  type: string;
  bytes: Buffer;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The JSON body, or the text fields of a form / multipart body (JSON-looking fields left as strings). */
  body: Record<string, unknown>;
  files: RecordedFile[];
  raw: Buffer;
}

/** What the next POST gets instead of the normal answer: the platform's own error shapes. */
export type Fault =
  | { kind: 'rate-limit'; retryAfterSeconds: number }
  | { kind: 'server-error' }
  /** Never answers (the connection stays open until the client gives up or the fake stops). */
  | { kind: 'timeout' }
  /** The platform's permanent refusal of this recipient (blocked / not available). */
  | { kind: 'permanent' }
  | { kind: 'respond'; status: number; body: unknown; headers?: Record<string, string> };

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export abstract class FakePlatform {
  readonly requests: RecordedRequest[] = [];
  private readonly faults: Fault[] = [];
  private readonly held = new Set<ServerResponse>();
  private server?: Server;
  private port = 0;

  /** The base URL to give a connector, e.g. http://127.0.0.1:40123. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts listening (again on the same port after `stop()`, so a connector keeps its base URL). */
  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.serve(req.method ?? 'GET', req.url ?? '/', req.headers, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Goes down: open connections are cut and new ones refused until `start()`. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const res of this.held) res.destroy();
    this.held.clear();
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The next `times` POSTs get `fault`. */
  fail(fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push(fault);
  }

  /** Requests whose path ends with `suffix`. */
  received(suffix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.endsWith(suffix));
  }

  protected abstract handle(request: RecordedRequest): Answer | Promise<Answer>;
  protected abstract faultAnswer(fault: Exclude<Fault, { kind: 'timeout' }>, request: RecordedRequest): Answer;

  private async serve(method: string, rawUrl: string, headers: IncomingHttpHeaders, raw: Buffer, res: ServerResponse): Promise<void> {
    const url = new URL(rawUrl, 'http://fake');
    const request: RecordedRequest = { method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body: {}, files: [], raw };
    try {
      await parseBody(request);
    } catch {
      request.body = { unparsable: raw.toString('utf8') };
    }
    this.requests.push(request);
    const fault = method === 'POST' ? this.faults.shift() : undefined;
    if (fault?.kind === 'timeout') {
      this.held.add(res);
      res.on('close', () => this.held.delete(res));
      return;
    }
    const answer = fault ? this.faultAnswer(fault, request) : await this.handle(request);
    const isBytes = Buffer.isBuffer(answer.body);
    const body = isBytes ? (answer.body as Buffer) : Buffer.from(JSON.stringify(answer.body));
    // Announced like a platform's server does, unless the answer asks for chunked encoding.
    const length = answer.headers?.['transfer-encoding'] ? {} : { 'content-length': String(body.length) };
    res.writeHead(answer.status, { 'content-type': isBytes ? 'application/octet-stream' : 'application/json', ...length, ...answer.headers });
    res.end(body);
  }
}

async function parseBody(request: RecordedRequest): Promise<void> {
  const type = String(request.headers['content-type'] ?? '');
  if (request.raw.length === 0) return;
  if (type.startsWith('application/json')) {
    request.body = JSON.parse(request.raw.toString('utf8')) as Record<string, unknown>;
  } else if (type.startsWith('application/x-www-form-urlencoded')) {
    request.body = Object.fromEntries(new URLSearchParams(request.raw.toString('utf8')));
  } else if (type.startsWith('multipart/form-data')) {
    // The web Response parses multipart the way a platform's server would.
    const form = await new Response(request.raw, { headers: { 'content-type': type } }).formData();
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') request.body[field] = value;
      else request.files.push({ field, filename: value.name, type: value.type, bytes: Buffer.from(await value.arrayBuffer()) });
    }
  }
}

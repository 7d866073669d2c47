/**
 * WebSocket gateway: authenticates sockets, turns their frames into calls to the live-session
 * service (src/app/live/live-sessions.ts, which holds the subscription rules), maps errors to
 * error frames, and keeps sockets alive (heartbeat) until they close.
 */
import os from 'node:os';
import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { App } from '../app/app.ts';
import type { Config } from '../config.ts';
import type { Principal } from '../app/auth.ts';
import { isDomainError } from '../domain/errors.ts';
import { DatabaseError } from '../ports/database.ts';
import { metrics } from '../metrics.ts';
import { isDependencyFailure } from './problem.ts';
import type { ClientFrame } from './ws-frames.ts';
import { CLOSE_POLICY, CLOSE_TRY_AGAIN, WsClient } from './ws-client.ts';
import { credentialOf, verifyCredential } from './auth.ts';
import { FRAME_SCOPES, SOCKET_SCOPE, allows, type Scope } from '../domain/scopes.ts';

export const CLOSE_UNAUTHORIZED = 4001;
export const CLOSE_TOO_MANY = 4008;
/** An API key without messages:read (RFC 6750 insufficient_scope). */
export const CLOSE_INSUFFICIENT_SCOPE = 4003;
const RETRY_AFTER_SECONDS = 5;
const SERVER_INSTANCE = `${os.hostname()}:${process.pid}`;

export class WsGateway {
  /** This instance's open sockets (the heartbeat's and shutdown's list). */
  private readonly clients = new Set<WsClient>();
  /** The scopes of sockets opened with an API key (a person's socket has every scope and no entry). */
  private readonly keyScopes = new WeakMap<WsClient, readonly Scope[]>();
  private readonly pinger: NodeJS.Timeout;
  private readonly log;

  constructor(
    private readonly app: App,
    private readonly config: Config,
  ) {
    this.log = app.logger.child({ component: 'ws' });
    this.pinger = setInterval(() => this.heartbeat(), config.ws.pingIntervalMs).unref();
  }

  plugin() {
    return async (server: FastifyInstance) => {
      server.get('/ws', { websocket: true, schema: { hide: true } }, (socket, request) => {
        // @fastify/websocket's own error listener holds the upgrade's request and reply (and their
        // logger) for the socket's whole life, a few KiB per idle socket: ours needs neither.
        socket.removeAllListeners('error');
        socket.on('error', () => socket.terminate());
        // The upgrade was routed through a ServerResponse assigned to the TCP socket; detached, the
        // socket no longer keeps that response and its request (URL, headers) alive: ~2.5 KiB each.
        const upgradeResponse = (request.raw.socket as { _httpMessage?: ServerResponse | null })._httpMessage;
        upgradeResponse?.detachSocket(request.raw.socket);
        // Frames that arrive while authentication is in flight are queued (up to a burst), not lost.
        const early: Buffer[] = [];
        const queue = (data: Buffer) => {
          if (early.length < this.config.ws.frameBurst) early.push(data);
          else socket.close(CLOSE_POLICY, 'too many frames');
        };
        socket.on('message', queue);
        this.open(socket, request).then(
          (client) => {
            socket.off('message', queue);
            if (!client) return;
            socket.on('message', (data: Buffer) => this.onFrame(client, data));
            for (const data of early) this.onFrame(client, data);
          },
          (e: unknown) => {
            socket.off('message', queue);
            this.refuseOpen(socket, e);
          },
        );
      });
    };
  }

  /** Number of open sockets on this instance. */
  get size(): number {
    return this.clients.size;
  }

  private async open(socket: WebSocket, request: FastifyRequest): Promise<WsClient | undefined> {
    const principal = await this.authenticate(request);
    if (!principal) {
      socket.close(CLOSE_UNAUTHORIZED, 'unauthorized');
      return undefined;
    }
    if (!allows(principal.app?.scopes, SOCKET_SCOPE)) {
      socket.close(CLOSE_INSUFFICIENT_SCOPE, `insufficient_scope: ${SOCKET_SCOPE}`);
      return undefined;
    }
    const client = new WsClient(randomUUID(), socket, request.socket, principal.userId, principal.username, this.config.ws, this.log);
    if (principal.app) this.keyScopes.set(client, principal.app.scopes);
    // The limit counts the user's sockets on every API instance.
    if (!(await this.app.live.admit(client))) {
      socket.close(CLOSE_TOO_MANY, 'too many connections for this user');
      return undefined;
    }
    if (socket.readyState !== socket.OPEN) {
      // Closed while we were checking: nothing will call drop() for it.
      await this.app.live.abandon(client);
      return undefined;
    }
    this.clients.add(client);
    this.app.live.register(client);
    metrics.wsConnections.inc();
    socket.on('close', () => this.drop(client));
    await this.app.live.subscribeAll(client);
    client.release({ type: 'connected', user_id: client.userId, username: client.username, connection_id: client.id, server_instance: SERVER_INSTANCE });
    return client;
  }

  private async authenticate(request: FastifyRequest): Promise<Principal | undefined> {
    const query = request.query as { token?: string };
    const token = query.token ?? credentialOf(request.headers);
    if (!token) return undefined;
    try {
      return await verifyCredential(this.app, token);
    } catch (e) {
      // Only a verdict on the token means "unauthorized"; a failing dependency is thrown on (1013).
      if (isDomainError(e)) return undefined;
      throw e;
    }
  }

  /** A socket that could not be set up: 1013 when a dependency is down (clients retry, and keep their session). */
  private refuseOpen(socket: WebSocket, e: unknown): void {
    if (isDependencyFailure(e)) {
      this.log.warn({ reason: e instanceof Error ? e.message : String(e) }, 'websocket refused: database unavailable');
      socket.close(CLOSE_TRY_AGAIN, 'try again later');
      return;
    }
    this.log.error({ err: e }, 'websocket open failed');
    socket.close(1011, 'internal error');
  }

  private onFrame(client: WsClient, data: Buffer): void {
    const frame = client.receive(data);
    if (frame) this.handle(client, frame).catch((e: unknown) => this.frameFailed(client, frame, e));
  }

  private frameFailed(client: WsClient, frame: ClientFrame, e: unknown): void {
    const action = frame.action;
    // A failed send names its message and carries `detail`, as POST's problem document would.
    const fail = (code: string, text: string, extra: Record<string, unknown> = {}) =>
      client.sendError(code, text, action === 'send' ? { message_id: frame.message_id, detail: text, ...extra } : extra);
    if (isDomainError(e)) return fail(e.code, e.message, e.details);
    if (isDependencyFailure(e)) {
      this.log.warn({ action, reason: e instanceof Error ? e.message : String(e) }, 'websocket frame refused: database unavailable');
      return fail('dependency-unavailable', 'A dependency is unavailable; retry shortly', { retry_after: RETRY_AFTER_SECONDS });
    }
    if (e instanceof DatabaseError && e.isForeignKeyViolation)
      return fail('reference-gone', 'Something this request refers to no longer exists; nothing was stored');
    this.log.error({ err: e, action }, 'websocket frame failed');
    fail('internal', 'The frame could not be processed');
  }

  private async handle(client: WsClient, frame: ClientFrame): Promise<void> {
    const needed = FRAME_SCOPES[frame.action];
    if (!allows(this.keyScopes.get(client), needed))
      return client.sendError('insufficient-scope', `This API key lacks the scope ${needed} for "${frame.action}"`, { scope: needed });
    switch (frame.action) {
      case 'ping':
        return client.send({ type: 'pong' });
      case 'pong':
        return;
      case 'ack':
        return this.app.live.ack(client, frame.conversation_id, frame.seq);
      case 'sync':
        return client.inTurn(async () => {
          const caughtUp = await this.app.live.sync(client, frame.since ?? {}, frame.versions);
          if (caughtUp) client.send({ type: 'synced', ...caughtUp });
        });
      case 'subscribe':
        await this.app.live.subscribe(client, frame.conversation_id);
        return client.send({ type: 'subscribed', conversation_id: frame.conversation_id });
      case 'unsubscribe':
        this.app.live.unsubscribe(client, frame.conversation_id);
        return client.send({ type: 'unsubscribed', conversation_id: frame.conversation_id });
      case 'typing':
        // No answer: the other members get `typing`; a throttled one is dropped.
        await this.app.typing.start(client, frame.conversation_id);
        return;
      case 'send': {
        const { message_id, conversation_id, payload, channels, to, reply_to } = frame;
        const { accepted, isReplay } = await this.app.live.send(client, { message_id, conversation_id, payload, channels, to, reply_to });
        return client.send({
          type: 'send.ack',
          message_id: accepted.message_id,
          conversation_id: accepted.conversation_id,
          seq: accepted.seq,
          created_at: accepted.created_at,
          ...(isReplay ? { replayed: true } : {}),
        });
      }
    }
  }

  private heartbeat(): void {
    const staleBefore = Date.now() - 2 * this.config.ws.pingIntervalMs;
    for (const client of this.clients) {
      if (client.lastSeenAt < staleBefore) client.socket.terminate();
      else client.send({ type: 'ping' });
    }
  }

  private drop(client: WsClient): void {
    this.clients.delete(client);
    if (this.app.live.end(client)) metrics.wsConnections.dec();
  }

  /** Closes every socket (going away) and stops the heartbeat. */
  async close(): Promise<void> {
    clearInterval(this.pinger);
    for (const client of [...this.clients]) client.socket.close(1001, 'server shutting down');
  }
}

/**
 * WebSocket gateway: authenticates sockets, subscribes them to their user's conversations (also
 * ones created later), forwards fan-out events, and handles ack / sync / subscribe frames.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { App } from '../app/app.ts';
import type { Config } from '../config.ts';
import type { Principal } from '../app/auth.ts';
import { conversationTopic, userTopic } from '../domain/events.ts';
import { isDomainError } from '../domain/errors.ts';
import { metrics } from '../metrics.ts';
import { SpanKind, withSpan } from '../tracing.ts';
import { isDependencyFailure } from './problem.ts';
import { parseClientFrame, type ClientFrame } from './ws-frames.ts';
import { FrameThrottle, type Verdict } from './ws-throttle.ts';
import { whenDrained } from './ws-drain.ts';

export const CLOSE_UNAUTHORIZED = 4001;
export const CLOSE_TOO_MANY = 4008;
/** RFC 6455 1008: the client broke a rule (frame flood). */
export const CLOSE_POLICY = 1008;
/** RFC 6455 1013 "try again later": a dependency is down, or the client did not read in time. */
export const CLOSE_TRY_AGAIN = 1013;
// Messages per database read in `sync`; each page is written as the socket drains.
const SYNC_PAGE = 100;
// Syncs wait for each other; more than this many waiting is refused.
const MAX_QUEUED_SYNCS = 4;
// Live pushes cannot wait: a socket with this many high-water marks unsent is closed.
const PUSH_LIMIT_FACTOR = 16;
// After a close for not reading, the close frame waits behind the backlog this long at most.
const CLOSE_GRACE_MS = 1000;
const RETRY_AFTER_SECONDS = 5;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const SERVER_INSTANCE = `${os.hostname()}:${process.pid}`;

interface Client {
  id: string;
  socket: WebSocket;
  /** The TCP socket under `socket`: its 'drain' tells when buffered frames went out. */
  transport: Duplex;
  userId: number;
  username: string;
  conversations: Set<number>;
  lastSeenAt: number;
  /** Frames from events that arrived while subscribing, held until `connected` has gone out first. */
  backlog?: string[];
  throttle: FrameThrottle;
  /** Syncs run one after the other: the last one queued, and how many are queued or running. */
  syncs: Promise<void>;
  pendingSyncs: number;
}

export class WsGateway {
  private readonly byTopic = new Map<string, Set<Client>>();
  private readonly byUser = new Map<number, Set<Client>>();
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
        // Frames that arrive while authentication is in flight are queued (up to a burst), not lost.
        const early: Buffer[] = [];
        const queue = (data: Buffer) => {
          if (early.push(data) > this.config.ws.frameBurst) socket.close(CLOSE_POLICY, 'too many frames');
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
    let n = 0;
    for (const set of this.byUser.values()) n += set.size;
    return n;
  }

  private async open(socket: WebSocket, request: FastifyRequest): Promise<Client | undefined> {
    const principal = await this.authenticate(request);
    if (!principal) {
      socket.close(CLOSE_UNAUTHORIZED, 'unauthorized');
      return undefined;
    }
    // The limit counts the user's sockets on every API instance.
    const connectionId = randomUUID();
    if (!(await this.app.sockets.acquire(principal.userId, connectionId, this.config.limits.wsMaxPerUser))) {
      socket.close(CLOSE_TOO_MANY, 'too many connections for this user');
      return undefined;
    }
    if (socket.readyState !== socket.OPEN) {
      // Closed while we were checking: nothing will call drop() for it.
      await this.app.sockets.release(principal.userId, connectionId);
      return undefined;
    }
    const mine = this.byUser.get(principal.userId) ?? new Set<Client>();
    const client: Client = {
      id: connectionId, socket, transport: request.socket, userId: principal.userId, username: principal.username, conversations: new Set(), lastSeenAt: Date.now(), backlog: [],
      throttle: new FrameThrottle({ perSecond: this.config.ws.framesPerSecond, burst: this.config.ws.frameBurst }), syncs: Promise.resolve(), pendingSyncs: 0,
    };
    mine.add(client);
    this.byUser.set(principal.userId, mine);
    metrics.wsConnections.inc();
    socket.on('close', () => this.drop(client));
    socket.on('error', () => socket.terminate());
    await this.join(client, userTopic(client.userId));
    for (const id of await this.app.conversations.idsOf(client.userId)) await this.subscribeConversation(client, id);
    const backlog = client.backlog ?? [];
    client.backlog = undefined;
    this.send(client, { type: 'connected', user_id: client.userId, username: client.username, connection_id: client.id, server_instance: SERVER_INSTANCE });
    for (const data of backlog) if (socket.readyState === socket.OPEN) socket.send(data);
    return client;
  }

  private async authenticate(request: FastifyRequest): Promise<Principal | undefined> {
    const query = request.query as { token?: string };
    const header = request.headers.authorization;
    const token = query.token ?? (header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined);
    if (!token) return undefined;
    try {
      return await this.app.auth.verifyAccessToken(token);
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

  private onFrame(client: Client, data: Buffer): void {
    if (client.socket.readyState !== client.socket.OPEN) return;
    client.lastSeenAt = Date.now();
    const verdict = client.throttle.take();
    if (verdict !== 'accept') return this.refuseFrame(client, verdict);
    let text: string;
    try {
      // Text frames arrive checked by ws; binary ones do not.
      text = utf8.decode(data);
    } catch {
      return this.sendError(client, 'invalid-text', 'Frames are UTF-8 text');
    }
    const parsed = parseClientFrame(text);
    if ('problem' in parsed) return this.send(client, { type: 'error', ...parsed.problem });
    this.handle(client, parsed.frame).catch((e: unknown) => this.frameFailed(client, parsed.frame.action, e));
  }

  private refuseFrame(client: Client, verdict: Exclude<Verdict, 'accept'>): void {
    if (verdict === 'refuse-first') {
      this.sendError(client, 'rate-limited', 'Too many frames; this one and the next ones until retry_after were dropped', { retry_after: client.throttle.retryAfterSeconds });
    } else if (verdict === 'cut-off') {
      this.log.info({ user_id: client.userId, connection_id: client.id }, 'websocket closed: client kept flooding');
      client.socket.close(CLOSE_POLICY, 'too many frames');
    }
  }

  private frameFailed(client: Client, action: string, e: unknown): void {
    if (isDomainError(e)) return this.sendError(client, e.code, e.message, e.details);
    if (isDependencyFailure(e)) {
      this.log.warn({ action, reason: e instanceof Error ? e.message : String(e) }, 'websocket frame refused: database unavailable');
      return this.sendError(client, 'dependency-unavailable', 'A dependency is unavailable; retry shortly', { retry_after: RETRY_AFTER_SECONDS });
    }
    this.log.error({ err: e, action }, 'websocket frame failed');
    this.sendError(client, 'internal', 'The frame could not be processed');
  }

  private async handle(client: Client, frame: ClientFrame): Promise<void> {
    switch (frame.action) {
      case 'ping':
        return this.send(client, { type: 'pong' });
      case 'pong':
        return;
      case 'ack':
        if (!client.conversations.has(frame.conversation_id)) return this.sendError(client, 'not-a-member', `Not subscribed to conversation ${frame.conversation_id}`);
        return this.app.receipts.queueAck({ userId: client.userId, conversationId: frame.conversation_id, seq: frame.seq });
      case 'sync':
        return this.queueSync(client, frame.since ?? {});
      case 'subscribe':
        await this.app.conversations.details(client.userId, frame.conversation_id);
        await this.subscribeConversation(client, frame.conversation_id);
        return this.send(client, { type: 'subscribed', conversation_id: frame.conversation_id });
      case 'unsubscribe':
        this.unsubscribeConversation(client, frame.conversation_id);
        return this.send(client, { type: 'unsubscribed', conversation_id: frame.conversation_id });
    }
  }

  /** Runs syncs of one socket one at a time, so that their output is paced together. */
  private queueSync(client: Client, since: Record<string, number>): Promise<void> {
    if (client.pendingSyncs >= MAX_QUEUED_SYNCS) {
      this.sendError(client, 'rate-limited', `At most ${MAX_QUEUED_SYNCS} syncs may wait; send the next one after synced`, { retry_after: 1 });
      return Promise.resolve();
    }
    client.pendingSyncs += 1;
    const run = client.syncs.then(() => this.sync(client, since)).finally(() => (client.pendingSyncs -= 1));
    client.syncs = run.catch(() => undefined);
    return run;
  }

  /**
   * Sends every message after the client's cursors, in seq order per conversation, then `synced`.
   * Pages are read as the socket drains, so a client that does not read holds one page at most.
   */
  private async sync(client: Client, since: Record<string, number>): Promise<void> {
    const result: Record<string, number> = {};
    for (const [key, cursor] of Object.entries(since)) {
      const id = Number(key);
      if (!client.conversations.has(id)) continue;
      let after = cursor;
      for (;;) {
        const page = await this.app.messages.since(id, after, SYNC_PAGE);
        for (const m of page) if (!(await this.sendPaced(client, { type: 'message.created', ...m }))) return;
        if (page.length > 0) after = page[page.length - 1].seq;
        if (page.length < SYNC_PAGE) break;
      }
      result[key] = after;
    }
    this.send(client, { type: 'synced', conversations: result });
  }

  /** Sends once the socket is below its high-water mark; false (and the socket closed) when it is not in time. */
  private async sendPaced(client: Client, frame: object): Promise<boolean> {
    const { highWaterBytes, drainTimeoutMs } = this.config.ws;
    if (!(await whenDrained(client.socket, client.transport, highWaterBytes, drainTimeoutMs))) {
      this.closeSlow(client);
      return false;
    }
    this.send(client, frame);
    return true;
  }

  /** Closes a socket whose client does not read; the close frame sits behind its backlog, so it gets a short grace. */
  private closeSlow(client: Client): void {
    const { socket } = client;
    if (socket.readyState !== socket.OPEN) return;
    this.log.info({ user_id: client.userId, connection_id: client.id, buffered: socket.bufferedAmount }, 'websocket closed: client does not read');
    socket.close(CLOSE_TRY_AGAIN, 'not reading');
    setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
  }

  private async subscribeConversation(client: Client, conversationId: number): Promise<void> {
    client.conversations.add(conversationId);
    await this.join(client, conversationTopic(conversationId));
  }

  private unsubscribeConversation(client: Client, conversationId: number): void {
    client.conversations.delete(conversationId);
    this.leave(client, conversationTopic(conversationId));
  }

  private async join(client: Client, topic: string): Promise<void> {
    let set = this.byTopic.get(topic);
    if (!set) {
      set = new Set();
      this.byTopic.set(topic, set);
      await this.app.fanout.subscribe(topic, (event) => this.dispatch(topic, event));
    }
    set.add(client);
  }

  private leave(client: Client, topic: string): void {
    const set = this.byTopic.get(topic);
    if (!set) return;
    set.delete(client);
    if (set.size === 0) {
      this.byTopic.delete(topic);
      this.app.fanout.unsubscribe(topic).catch((e: unknown) => this.log.warn({ err: e, topic }, 'fan-out unsubscribe failed'));
    }
  }

  /** Events published inside a span carry its `traceparent`: the push continues that trace, and clients never see the field. */
  private dispatch(topic: string, event: Record<string, unknown>): void {
    if (event.traceparent === undefined) return this.push(topic, event);
    const { traceparent, ...frame } = event;
    withSpan('ws.push', String(traceparent), (span) => {
      span?.setAttributes({ 'messaging.destination.name': topic, 'chat4all.event': String(frame.type), 'chat4all.sockets': this.byTopic.get(topic)?.size ?? 0 });
      this.push(topic, frame);
    }, { kind: SpanKind.PRODUCER });
  }

  private push(topic: string, event: Record<string, unknown>): void {
    const clients = [...(this.byTopic.get(topic) ?? [])];
    const isUserTopic = topic.startsWith('user:');
    for (const client of clients) {
      if (isUserTopic && event.type === 'conversation.created') {
        const id = Number(event.conversation_id);
        if (!client.conversations.has(id)) void this.subscribeConversation(client, id);
      }
      if (isUserTopic && event.type === 'member.left') {
        const id = Number(event.conversation_id);
        // Still subscribed: it already had this event through the conversation topic.
        if (client.conversations.has(id)) {
          this.unsubscribeConversation(client, id);
          continue;
        }
      }
      this.send(client, event);
    }
  }

  private send(client: Client, frame: object): void {
    if (client.socket.readyState !== client.socket.OPEN) return;
    if (client.socket.bufferedAmount > PUSH_LIMIT_FACTOR * this.config.ws.highWaterBytes) return this.closeSlow(client);
    const data = JSON.stringify({ ...frame, timestamp: new Date().toISOString() });
    if (client.backlog) client.backlog.push(data);
    else client.socket.send(data);
  }

  private sendError(client: Client, code: string, error: string, extra: Record<string, unknown> = {}): void {
    this.send(client, { type: 'error', code, error, ...extra });
  }

  private heartbeat(): void {
    const staleBefore = Date.now() - 2 * this.config.ws.pingIntervalMs;
    for (const set of this.byUser.values()) {
      for (const client of set) {
        if (client.lastSeenAt < staleBefore) client.socket.terminate();
        else this.send(client, { type: 'ping' });
      }
    }
  }

  private drop(client: Client): void {
    const mine = this.byUser.get(client.userId);
    if (!mine?.delete(client)) return;
    if (mine.size === 0) this.byUser.delete(client.userId);
    metrics.wsConnections.dec();
    this.app.sockets.release(client.userId, client.id).catch((e: unknown) => this.log.warn({ err: e }, 'socket release failed'));
    this.leave(client, userTopic(client.userId));
    for (const id of client.conversations) this.leave(client, conversationTopic(id));
  }

  /** Closes every socket (going away) and stops the heartbeat. */
  async close(): Promise<void> {
    clearInterval(this.pinger);
    for (const set of [...this.byUser.values()]) for (const client of [...set]) client.socket.close(1001, 'server shutting down');
  }
}

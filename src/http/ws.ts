/**
 * WebSocket gateway: authenticates sockets, subscribes them to their user's conversations (also
 * ones created later), forwards fan-out events, and handles ack / sync / subscribe frames.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
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
import type { ClientFrame } from './ws-frames.ts';
import { CLOSE_POLICY, CLOSE_TRY_AGAIN, WsClient } from './ws-client.ts';

export const CLOSE_UNAUTHORIZED = 4001;
export const CLOSE_TOO_MANY = 4008;
// Messages per database read in `sync`; each page is written as the socket drains.
const SYNC_PAGE = 100;
const RETRY_AFTER_SECONDS = 5;
const SERVER_INSTANCE = `${os.hostname()}:${process.pid}`;

export class WsGateway {
  private readonly byTopic = new Map<string, Set<WsClient>>();
  private readonly byUser = new Map<number, Set<WsClient>>();
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
    let n = 0;
    for (const set of this.byUser.values()) n += set.size;
    return n;
  }

  private async open(socket: WebSocket, request: FastifyRequest): Promise<WsClient | undefined> {
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
    const mine = this.byUser.get(principal.userId) ?? new Set<WsClient>();
    const client = new WsClient(connectionId, socket, request.socket, principal.userId, principal.username, this.config.ws, this.log);
    mine.add(client);
    this.byUser.set(principal.userId, mine);
    metrics.wsConnections.inc();
    socket.on('close', () => this.drop(client));
    socket.on('error', () => socket.terminate());
    await this.join(client, userTopic(client.userId));
    for (const id of await this.app.conversations.idsOf(client.userId)) await this.subscribeConversation(client, id);
    client.release({ type: 'connected', user_id: client.userId, username: client.username, connection_id: client.id, server_instance: SERVER_INSTANCE });
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

  private onFrame(client: WsClient, data: Buffer): void {
    const frame = client.receive(data);
    if (frame) this.handle(client, frame).catch((e: unknown) => this.frameFailed(client, frame.action, e));
  }

  private frameFailed(client: WsClient, action: string, e: unknown): void {
    if (isDomainError(e)) return client.sendError(e.code, e.message, e.details);
    if (isDependencyFailure(e)) {
      this.log.warn({ action, reason: e instanceof Error ? e.message : String(e) }, 'websocket frame refused: database unavailable');
      return client.sendError('dependency-unavailable', 'A dependency is unavailable; retry shortly', { retry_after: RETRY_AFTER_SECONDS });
    }
    this.log.error({ err: e, action }, 'websocket frame failed');
    client.sendError('internal', 'The frame could not be processed');
  }

  private async handle(client: WsClient, frame: ClientFrame): Promise<void> {
    switch (frame.action) {
      case 'ping':
        return client.send({ type: 'pong' });
      case 'pong':
        return;
      case 'ack':
        if (!client.conversations.has(frame.conversation_id))
          return client.sendError('not-a-member', `Not subscribed to conversation ${frame.conversation_id}`);
        return this.app.receipts.queueAck({ userId: client.userId, conversationId: frame.conversation_id, seq: frame.seq });
      case 'sync':
        return client.inTurn(() => this.sync(client, frame.since ?? {}, frame.versions ?? {}));
      case 'subscribe':
        await this.app.conversations.details(client.userId, frame.conversation_id);
        await this.subscribeConversation(client, frame.conversation_id);
        return client.send({ type: 'subscribed', conversation_id: frame.conversation_id });
      case 'unsubscribe':
        this.unsubscribeConversation(client, frame.conversation_id);
        return client.send({ type: 'unsubscribed', conversation_id: frame.conversation_id });
    }
  }

  /**
   * Sends every message after the client's cursors, in seq order per conversation, then `synced`.
   * Pages are read as the socket drains, so a client that does not read holds one page at most.
   */
  private async sync(client: WsClient, since: Record<string, number>, versions: Record<string, number>): Promise<void> {
    const result: Record<string, number> = {};
    for (const [key, cursor] of Object.entries(since)) {
      const id = Number(key);
      if (!client.conversations.has(id)) continue;
      let after = cursor;
      for (;;) {
        const page = await this.app.messages.since(client.userId, id, after, SYNC_PAGE);
        for (const m of page) if (!(await client.sendPaced({ type: 'message.created', ...m }))) return;
        if (page.length > 0) after = page[page.length - 1].seq;
        if (page.length < SYNC_PAGE) break;
      }
      result[key] = after;
    }
    // Then changes to messages (edits, deletions, reactions) after each version cursor, as
    // `message.changed` frames with the message's current state.
    const reached: Record<string, number> = {};
    for (const [key, cursor] of Object.entries(versions)) {
      const id = Number(key);
      if (!client.conversations.has(id)) continue;
      let after = cursor;
      for (;;) {
        const page = await this.app.messageChanges.changedSince(client.userId, id, after, SYNC_PAGE);
        for (const m of page) if (!(await client.sendPaced({ type: 'message.changed', ...m }))) return;
        if (page.length > 0) after = page[page.length - 1].version;
        if (page.length < SYNC_PAGE) break;
      }
      reached[key] = after;
    }
    client.send({ type: 'synced', conversations: result, ...(Object.keys(versions).length > 0 ? { versions: reached } : {}) });
  }

  private async subscribeConversation(client: WsClient, conversationId: number): Promise<void> {
    client.conversations.add(conversationId);
    await this.join(client, conversationTopic(conversationId));
  }

  private unsubscribeConversation(client: WsClient, conversationId: number): void {
    client.conversations.delete(conversationId);
    this.leave(client, conversationTopic(conversationId));
  }

  private async join(client: WsClient, topic: string): Promise<void> {
    let set = this.byTopic.get(topic);
    if (!set) {
      set = new Set();
      this.byTopic.set(topic, set);
      await this.app.fanout.subscribe(topic, (event) => this.dispatch(topic, event));
    }
    set.add(client);
  }

  private leave(client: WsClient, topic: string): void {
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
    withSpan(
      'ws.push',
      String(traceparent),
      (span) => {
        span?.setAttributes({
          'messaging.destination.name': topic,
          'chat4all.event': String(frame.type),
          'chat4all.sockets': this.byTopic.get(topic)?.size ?? 0,
        });
        this.push(topic, frame);
      },
      { kind: SpanKind.PRODUCER },
    );
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
      client.send(event);
    }
  }

  private heartbeat(): void {
    const staleBefore = Date.now() - 2 * this.config.ws.pingIntervalMs;
    for (const set of this.byUser.values()) {
      for (const client of set) {
        if (client.lastSeenAt < staleBefore) client.socket.terminate();
        else client.send({ type: 'ping' });
      }
    }
  }

  private drop(client: WsClient): void {
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

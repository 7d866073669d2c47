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

export const CLOSE_UNAUTHORIZED = 4001;
export const CLOSE_TOO_MANY = 4008;
const SYNC_PAGE = 500;
const SERVER_INSTANCE = `${os.hostname()}:${process.pid}`;

interface Client {
  id: string;
  socket: WebSocket;
  userId: number;
  username: string;
  conversations: Set<number>;
  lastSeenAt: number;
  /** Frames from events that arrived while subscribing, held until `connected` has gone out first. */
  backlog?: string[];
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
        // Frames that arrive while authentication is in flight are queued, not lost.
        const early: Buffer[] = [];
        const queue = (data: Buffer) => early.push(data);
        socket.on('message', queue);
        this.open(socket, request).then(
          (client) => {
            socket.off('message', queue);
            if (!client) return;
            socket.on('message', (data: Buffer) => this.onFrame(client, data));
            for (const data of early) this.onFrame(client, data);
          },
          (e: unknown) => {
            this.log.error({ err: e }, 'websocket open failed');
            socket.close(1011, 'internal error');
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
    const client: Client = { id: connectionId, socket, userId: principal.userId, username: principal.username, conversations: new Set(), lastSeenAt: Date.now(), backlog: [] };
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
    return this.app.auth.verifyAccessToken(token).catch(() => undefined);
  }

  private onFrame(client: Client, data: Buffer): void {
    client.lastSeenAt = Date.now();
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(data.toString('utf8'));
      if (!frame || typeof frame !== 'object' || Array.isArray(frame)) throw new Error('not an object');
    } catch {
      return this.sendError(client, 'invalid-frame', 'Frames are JSON objects');
    }
    const action = String(frame.action ?? frame.type ?? '');
    this.handle(client, action, frame).catch((e: unknown) => {
      if (isDomainError(e)) return this.sendError(client, e.code, e.message);
      this.log.error({ err: e, action }, 'websocket frame failed');
      this.sendError(client, 'internal', 'The frame could not be processed');
    });
  }

  private async handle(client: Client, action: string, frame: Record<string, unknown>): Promise<void> {
    const conversationId = Number(frame.conversation_id);
    switch (action) {
      case 'pong':
      case 'ping':
        if (action === 'ping') this.send(client, { type: 'pong' });
        return;
      case 'ack': {
        const seq = Number(frame.seq);
        if (!isPositiveInt(conversationId) || !isPositiveInt(seq)) return this.sendError(client, 'invalid-frame', 'ack needs conversation_id and seq');
        if (!client.conversations.has(conversationId)) return this.sendError(client, 'not-a-member', `Not subscribed to conversation ${conversationId}`);
        this.app.receipts.queueAck({ userId: client.userId, conversationId, seq });
        return;
      }
      case 'sync':
        return this.sync(client, frame.since);
      case 'subscribe':
        if (!isPositiveInt(conversationId)) return this.sendError(client, 'invalid-frame', 'subscribe needs conversation_id');
        await this.app.conversations.details(client.userId, conversationId);
        await this.subscribeConversation(client, conversationId);
        return this.send(client, { type: 'subscribed', conversation_id: conversationId });
      case 'unsubscribe':
        if (!isPositiveInt(conversationId)) return this.sendError(client, 'invalid-frame', 'unsubscribe needs conversation_id');
        this.unsubscribeConversation(client, conversationId);
        return this.send(client, { type: 'unsubscribed', conversation_id: conversationId });
      default:
        return this.sendError(client, 'unknown-action', `Unknown action "${action}"`);
    }
  }

  /** Sends every message after the client's cursors, in seq order per conversation, then `synced`. */
  private async sync(client: Client, since: unknown): Promise<void> {
    if (since !== undefined && (typeof since !== 'object' || since === null || Array.isArray(since))) {
      return this.sendError(client, 'invalid-frame', 'sync needs since: {<conversation_id>: last_seq}');
    }
    const cursors = Object.entries((since ?? {}) as Record<string, unknown>);
    const result: Record<string, number> = {};
    for (const [key, value] of cursors) {
      const id = Number(key);
      let after = Number(value ?? 0);
      if (!isPositiveInt(id) || !Number.isInteger(after) || after < 0) continue;
      if (!client.conversations.has(id)) continue;
      for (;;) {
        const page = await this.app.messages.since(client.userId, id, after, SYNC_PAGE);
        for (const m of page) this.send(client, { type: 'message.created', ...m });
        if (page.length > 0) after = page[page.length - 1].seq;
        if (page.length < SYNC_PAGE) break;
      }
      result[key] = after;
    }
    this.send(client, { type: 'synced', conversations: result });
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
    const data = JSON.stringify({ ...frame, timestamp: new Date().toISOString() });
    if (client.backlog) client.backlog.push(data);
    else client.socket.send(data);
  }

  private sendError(client: Client, code: string, error: string): void {
    this.send(client, { type: 'error', code, error });
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

const isPositiveInt = (n: number) => Number.isInteger(n) && n > 0;

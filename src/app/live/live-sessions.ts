/**
 * Live subscriptions: which sessions hear which fan-out topics. A session listens to its user's
 * topic and to each of its conversations, joins conversations created later and leaves the ones
 * its user left; the per-user connection limit holds across every API instance.
 *
 * Every fan-out event becomes one frame in `dispatch`, which all its recipients receive.
 */
import { conversationTopic, userTopic } from '../../domain/events.ts';
import { forbidden, rateLimited } from '../../domain/errors.ts';
import type { Fanout } from '../../ports/fanout.ts';
import type { SocketRegistry } from '../../ports/presence.ts';
import { SpanKind, withSpan } from '../../tracing.ts';
import type { Conversations } from '../conversations.ts';
import type { Logger } from '../logger.ts';
import type { Messages } from '../messages.ts';
import type { MessageChanges } from '../message-changes.ts';
import type { Accepted, SendRequest } from '../messages.ts';
import { userCaller, type RequestLimits } from '../request-limits.ts';
import type { Receipts } from '../receipts.ts';
import type { LiveSession } from './live-session.ts';

// Messages per database read in `sync`; each page is sent as the client reads.
const SYNC_PAGE = 100;

export interface LiveSessionsDeps {
  fanout: Fanout;
  sockets: SocketRegistry;
  conversations: Conversations;
  messages: Messages;
  messageChanges: MessageChanges;
  receipts: Receipts;
  /** WS_MAX_PER_USER: sessions per user on every instance together. */
  maxPerUser: number;
  /** Told when a user's first session anywhere opens and when their last one closes. */
  presence?: PresenceTransitions;
  /** The per-user `send` limit of POST /v1/messages, which sends over a session count against too; none when rate limiting is off. */
  sendLimit?: { limits: RequestLimits; perMinute: number };
  logger: Logger;
}

export interface PresenceTransitions {
  cameOnline(userId: number): void;
  wentOffline(userId: number): void;
}

export class LiveSessions {
  private readonly byTopic = new Map<string, Set<LiveSession>>();
  /** Topics whose fan-out subscribe is still in flight. */
  private readonly subscribing = new Map<string, Promise<void>>();
  private readonly byUser = new Map<number, Set<LiveSession>>();

  constructor(private readonly deps: LiveSessionsDeps) {}

  /** Takes one of the user's connection slots (counted on every instance); false when the user has none left. */
  async admit(session: LiveSession): Promise<boolean> {
    const count = await this.deps.sockets.acquire(session.userId, session.id, this.deps.maxPerUser);
    if (count === 1) this.deps.presence?.cameOnline(session.userId);
    return count > 0;
  }

  /** Gives back the slot of a session that was admitted but never registered (it closed meanwhile). */
  async abandon(session: LiveSession): Promise<void> {
    await this.releaseSlot(session);
  }

  /** The users among `userIds` with a live session on any instance. */
  onlineAmong(userIds: readonly number[]): Promise<Set<number>> {
    return this.deps.sockets.onlineAmong(userIds);
  }

  /** Counts an admitted session as open, synchronously, so that an `end` that follows always finds it. */
  register(session: LiveSession): void {
    const mine = this.byUser.get(session.userId) ?? new Set<LiveSession>();
    mine.add(session);
    this.byUser.set(session.userId, mine);
  }

  /** Subscribes a registered session to its user's topic and to every conversation its user is in. */
  async subscribeAll(session: LiveSession): Promise<void> {
    await this.join(session, userTopic(session.userId));
    for (const id of await this.deps.conversations.idsOf(session.userId)) await this.subscribeConversation(session, id);
  }

  /** Removes a closed session everywhere; false when it was not registered (or already ended). */
  end(session: LiveSession): boolean {
    const mine = this.byUser.get(session.userId);
    if (!mine?.delete(session)) return false;
    if (mine.size === 0) this.byUser.delete(session.userId);
    this.releaseSlot(session).catch((e: unknown) => this.deps.logger.warn({ err: e }, 'socket release failed'));
    this.leave(session, userTopic(session.userId));
    for (const id of session.conversations) this.leave(session, conversationTopic(id));
    return true;
  }

  /** Subscribes to a conversation the user is a member of (not-found otherwise). */
  async subscribe(session: LiveSession, conversationId: number): Promise<void> {
    await this.deps.conversations.details(session.userId, conversationId);
    await this.subscribeConversation(session, conversationId);
  }

  unsubscribe(session: LiveSession, conversationId: number): void {
    this.unsubscribeConversation(session, conversationId);
  }

  /** Queues a read/delivery acknowledgement; only for a conversation this session is subscribed to. */
  async ack(session: LiveSession, conversationId: number, seq: number): Promise<void> {
    if (!session.conversations.has(conversationId)) throw forbidden('not-a-member', `Not subscribed to conversation ${conversationId}`);
    return this.deps.receipts.queueAck({ userId: session.userId, conversationId, seq });
  }

  /**
   * Sends a message for the session's user: the use case of POST /v1/messages (same validation,
   * idempotency, membership and codes), counted in the same per-user `send` window.
   */
  async send(session: LiveSession, req: SendRequest): Promise<{ accepted: Accepted; isReplay: boolean }> {
    const limit = this.deps.sendLimit;
    if (limit) {
      const d = await limit.limits.count('send', userCaller(session.userId), limit.perMinute);
      if (!d.isAllowed) throw rateLimited('rate-limited', `Too many requests of this kind; retry in ${d.resetSeconds} s`, { retry_after: d.resetSeconds });
    }
    return this.deps.messages.send(session.userId, session.username, req);
  }

  /**
   * Catches a session up, paced by the client: every message after its seq cursors, in seq order
   * per conversation (`message.created`), then, when `versions` is given, every message changed
   * (edited, deleted, reacted to) after its version cursors (`message.changed`, the message's
   * current state). Resolves with the cursors reached, or undefined when the client was cut off
   * for not reading. Conversations it is not subscribed to are left out.
   */
  async sync(
    session: LiveSession,
    since: Record<string, number>,
    versions?: Record<string, number>,
  ): Promise<{ conversations: Record<string, number>; versions?: Record<string, number> } | undefined> {
    const conversations = await this.catchUp(
      session,
      since,
      (id, after) => this.deps.messages.since(session.userId, id, after, SYNC_PAGE),
      'message.created',
      (m) => m.seq,
    );
    if (!conversations) return undefined;
    if (!versions) return { conversations };
    const reached = await this.catchUp(
      session,
      versions,
      (id, after) => this.deps.messageChanges.changedSince(session.userId, id, after, SYNC_PAGE),
      'message.changed',
      (m) => m.version,
    );
    return reached && { conversations, versions: reached };
  }

  /** Pages through `read` from each cursor, sending each item as a `type` frame; undefined when the client was cut off. */
  private async catchUp<T extends object>(
    session: LiveSession,
    cursors: Record<string, number>,
    read: (conversationId: number, after: number) => Promise<T[]>,
    type: string,
    cursorOf: (item: T) => number,
  ): Promise<Record<string, number> | undefined> {
    const result: Record<string, number> = {};
    for (const [key, cursor] of Object.entries(cursors)) {
      const id = Number(key);
      if (!session.conversations.has(id)) continue;
      let after = cursor;
      for (;;) {
        const page = await read(id, after);
        for (const item of page) if (!(await session.sendPaced({ type, ...item }))) return undefined;
        if (page.length > 0) after = cursorOf(page[page.length - 1]);
        if (page.length < SYNC_PAGE) break;
      }
      result[key] = after;
    }
    return result;
  }

  private async releaseSlot(session: LiveSession): Promise<void> {
    const left = await this.deps.sockets.release(session.userId, session.id);
    if (left === 0) this.deps.presence?.wentOffline(session.userId);
  }

  private async subscribeConversation(session: LiveSession, conversationId: number): Promise<void> {
    session.conversations.add(conversationId);
    await this.join(session, conversationTopic(conversationId));
  }

  private unsubscribeConversation(session: LiveSession, conversationId: number): void {
    session.conversations.delete(conversationId);
    this.leave(session, conversationTopic(conversationId));
  }

  /** Resolves once this instance receives `topic`'s events; a later joiner waits for the first one's subscribe too. */
  private async join(session: LiveSession, topic: string): Promise<void> {
    let set = this.byTopic.get(topic);
    if (!set) {
      set = new Set();
      this.byTopic.set(topic, set);
      const ready = this.deps.fanout.subscribe(topic, (event) => this.dispatch(topic, event)).finally(() => this.subscribing.delete(topic));
      this.subscribing.set(topic, ready);
    }
    set.add(session);
    await this.subscribing.get(topic);
  }

  private leave(session: LiveSession, topic: string): void {
    const set = this.byTopic.get(topic);
    if (!set) return;
    set.delete(session);
    if (set.size === 0) {
      this.byTopic.delete(topic);
      this.deps.fanout.unsubscribe(topic).catch((e: unknown) => this.deps.logger.warn({ err: e, topic }, 'fan-out unsubscribe failed'));
    }
  }

  /**
   * The one place a fan-out event becomes the frame its recipients get. Events published inside a
   * span carry its `traceparent`: the push continues that trace, and clients never see the field.
   */
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

  /**
   * Applies the subscription rules a user-topic event carries, then sends the frame to each
   * recipient: serialised once (timestamp included), the same bytes for every socket.
   */
  private push(topic: string, frame: Record<string, unknown>): void {
    const subscribed = this.byTopic.get(topic);
    if (!subscribed || subscribed.size === 0) return;
    const data = Buffer.from(JSON.stringify({ ...frame, timestamp: new Date().toISOString() }));
    const isUserTopic = topic.startsWith('user:');
    if (!isUserTopic) {
      // The common case (a conversation's event): nothing below can change the set while we send.
      // The typist's own sockets do not hear their typing.
      const typist = frame.type === 'typing' ? frame.user_id : undefined;
      for (const session of subscribed) if (session.userId !== typist) session.sendSerialised(data);
      return;
    }
    for (const session of [...subscribed]) {
      if (frame.type === 'conversation.created') {
        const id = Number(frame.conversation_id);
        if (!session.conversations.has(id)) {
          // The frame goes out once the subscription is in place (a Redis SUBSCRIBE is a round
          // trip): a message sent in answer to it then reaches this socket too.
          const send = () => session.sendSerialised(data);
          this.subscribeConversation(session, id).then(send, (e: unknown) => {
            this.deps.logger.warn({ err: e, conversation_id: id }, 'fan-out subscribe failed');
            send();
          });
          continue;
        }
      }
      if (frame.type === 'member.left') {
        const id = Number(frame.conversation_id);
        // Still subscribed: it already had this event through the conversation topic.
        if (session.conversations.has(id)) {
          this.unsubscribeConversation(session, id);
          continue;
        }
      }
      session.sendSerialised(data);
    }
  }
}

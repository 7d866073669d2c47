/**
 * Typing indicators: a member's "I am typing" goes to the other members' sockets on every
 * instance (through the fan-out) and is never stored. Each socket may announce a conversation at
 * most once per throttle window; the extra frames are dropped without an answer, because the
 * indicator the members already show lasts longer than the window.
 */
import { forbidden } from '../../domain/errors.ts';
import type { Notifier } from '../notify.ts';
import type { LiveSession } from './live-session.ts';

export interface TypingSettings {
  /** One `typing` per socket and conversation per this many ms; the others are dropped. */
  throttleMs: number;
  /** How long the members show the indicator (the frame's `until`). */
  ttlMs: number;
}

export const TYPING_DEFAULTS: TypingSettings = { throttleMs: 2500, ttlMs: 6000 };

export class Typing {
  /** When each session last announced each conversation. Dies with the session. */
  private readonly lastSent = new WeakMap<LiveSession, Map<number, number>>();

  constructor(
    private readonly notifier: Notifier,
    private readonly settings: TypingSettings = TYPING_DEFAULTS,
  ) {}

  /**
   * Announces that the session's user is typing in a conversation it is subscribed to (every
   * conversation of its user is: 403 not-a-member otherwise). Resolves false when throttled.
   */
  async start(session: LiveSession, conversationId: number): Promise<boolean> {
    if (!session.conversations.has(conversationId)) throw forbidden('not-a-member', `You are not a member of conversation ${conversationId}`);
    const now = Date.now();
    const sent = this.lastSent.get(session) ?? new Map<number, number>();
    this.lastSent.set(session, sent);
    const last = sent.get(conversationId);
    if (last !== undefined && now - last < this.settings.throttleMs) return false;
    sent.set(conversationId, now);
    await this.notifier.toConversation(conversationId, 'typing', {
      conversation_id: conversationId,
      user_id: session.userId,
      username: session.username,
      until: new Date(now + this.settings.ttlMs).toISOString(),
    });
    return true;
  }
}

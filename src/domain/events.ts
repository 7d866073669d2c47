/** Real-time events pushed to clients (WebSocket frames carry these plus a timestamp). */
import type { Channel, ExternalChannel, MessageStatus, Payload } from './message.ts';
import type { HistoryVisibility, Role } from './group.ts';

/** Reactions on a message, one entry per emoji in the order first used; `me` only in views for one user. */
export interface ReactionCount {
  emoji: string;
  count: number;
  me?: boolean;
}

/** What a reply shows of the message it answers: its sender and first 100 characters, or that it was deleted. */
export interface ReplyQuote {
  message_id: string;
  sender_id: number | null;
  sender_username: string | null;
  /** null when the original was deleted. */
  excerpt: string | null;
  deleted: boolean;
}

export interface EventMap {
  /** From a contact (inbound channel message): sender_id and sender_username are null, sender_contact says who. */
  'message.created': {
    message_id: string;
    conversation_id: number;
    seq: number;
    sender_id: number | null;
    sender_username: string | null;
    /** True when the sender is an app's bot user (absent in events of older instances and from contacts). */
    sender_is_bot?: boolean;
    sender_contact?: { contact_id: number; channel: ExternalChannel; display_name: string | null };
    payload: Payload;
    channels: Channel[];
    created_at: string;
    /** Set when the message replies to another of the conversation. */
    reply_to?: ReplyQuote | null;
  };
  /**
   * Edits, deletions and reactions: each takes the conversation's next `version` (see
   * docs/websocket.md, "Changes to messages"); a gap in versions means a missed change.
   */
  'message.updated': { message_id: string; conversation_id: number; seq: number; version: number; payload: Payload; edited_at: string };
  'message.deleted': { message_id: string; conversation_id: number; seq: number; version: number; deleted_at: string; deleted_by: number };
  'message.reaction': {
    message_id: string;
    conversation_id: number;
    seq: number;
    version: number;
    /** Who reacted: a user, or (null) the channel conversation's contact, named by `contact_id`. */
    user_id: number | null;
    contact_id?: number;
    emoji: string;
    action: 'added' | 'removed';
    reactions: ReactionCount[];
  };
  'message.status': {
    message_id: string;
    conversation_id: number;
    seq: number;
    status: MessageStatus | 'pending';
    user_id?: number;
    channel?: string;
    at: string;
    error?: string;
  };
  // Not `type`: that key is the frame's event name (the spread in Notifier would overwrite it).
  'conversation.created': { conversation_id: number; conversation_type: string; name: string | null; member_ids: number[] };
  'conversation.read': { conversation_id: number; user_id: number; username: string; read_seq: number; read_at: string };
  'member.joined': { conversation_id: number; user_id: number; username: string };
  'member.left': { conversation_id: number; user_id: number; username: string };
  'member.role_changed': { conversation_id: number; user_id: number; username: string; role: Role };
  'conversation.updated': { conversation_id: number; name: string | null; description: string | null; history_visibility: HistoryVisibility };
  /** Never stored: the members' clients show it until `until` unless another one extends it. */
  typing: { conversation_id: number; user_id: number; username: string; until: string };
  /** On a user's transitions only; last_seen_at with `offline` unless the user hides it. */
  presence: { user_id: number; status: 'online' | 'offline'; last_seen_at?: string };
}

export type EventType = keyof EventMap;
export type ClientEvent<K extends EventType = EventType> = { type: K } & EventMap[K];

/** Fan-out topics: every member's sockets listen to their conversations and to their own user topic. */
export const conversationTopic = (conversationId: number) => `conv:${conversationId}`;
export const userTopic = (userId: number) => `user:${userId}`;

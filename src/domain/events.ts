/** Real-time events pushed to clients (WebSocket frames carry these plus a timestamp). */
import type { Channel, ExternalChannel, MessageStatus, Payload } from './message.ts';
import type { HistoryVisibility, Role } from './group.ts';

export interface EventMap {
  /** From a contact (inbound channel message): sender_id and sender_username are null, sender_contact says who. */
  'message.created': {
    message_id: string;
    conversation_id: number;
    seq: number;
    sender_id: number | null;
    sender_username: string | null;
    sender_contact?: { contact_id: number; channel: ExternalChannel; display_name: string | null };
    payload: Payload;
    channels: Channel[];
    created_at: string;
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

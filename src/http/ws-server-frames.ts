/**
 * Server → client WebSocket frames: one schema per frame `type`, the reference for the AsyncAPI
 * document (/asyncapi.json) and for the contract tests that check real frames against it. Every
 * frame carries `type` and `timestamp` (when it was sent). Clients ignore fields they do not know:
 * new optional fields are not a breaking change.
 */
import { Type, type TObject, type TProperties, type TSchema } from 'typebox';
import { Id, Seq, Uuid } from './schemas.ts';

const Timestamp = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')]);
const HistoryVisibility = Type.Union([Type.Literal('shared'), Type.Literal('joined')]);

const frame = <P extends TProperties>(type: string, description: string, fields: P, open = false): TObject =>
  Type.Object({ type: Type.Literal(type), timestamp: Timestamp, ...fields }, { description, additionalProperties: open });

const ReactionCount = Type.Object({ emoji: Type.String(), count: Type.Integer({ minimum: 1 }), me: Type.Optional(Type.Boolean()) });

export const SERVER_FRAME_SCHEMAS: Readonly<Record<string, TObject>> = {
  connected: frame('connected', 'First frame of every socket: who it is authenticated as, and which API instance holds it.', {
    user_id: Id,
    username: Type.String(),
    connection_id: Type.String(),
    server_instance: Type.String(),
  }),
  ping: frame('ping', 'Heartbeat: answer with {"action":"pong"} (any frame counts) or the socket is closed after two intervals.', {}),
  pong: frame('pong', 'Answer to {"action":"ping"}.', {}),
  subscribed: frame('subscribed', 'Answer to subscribe.', { conversation_id: Id }),
  unsubscribed: frame('unsubscribed', 'Answer to unsubscribe.', { conversation_id: Id }),
  synced: frame('synced', 'Answer to sync, after every missed message.created (and message.changed): the cursors reached per conversation.', {
    conversations: Type.Record(Type.String({ pattern: '^[1-9][0-9]*$' }), Seq),
    versions: Type.Optional(Type.Record(Type.String({ pattern: '^[1-9][0-9]*$' }), Type.Integer({ minimum: 0 }))),
  }),
  'message.changed': frame(
    'message.changed',
    'During sync with versions only: a message edited, deleted or reacted to after your version cursor, in its current state (as in the REST history).',
    { message_id: Uuid, conversation_id: Id, seq: Seq, version: Type.Integer({ minimum: 1 }) },
    true,
  ),
  'send.ack': frame('send.ack', 'Answer to send, as the 202 of POST /v1/messages; replayed when the id was already stored with the same body.', {
    message_id: Uuid,
    conversation_id: Id,
    seq: Seq,
    created_at: Timestamp,
    replayed: Type.Optional(Type.Literal(true)),
  }),
  error: frame(
    'error',
    'A refused frame (nothing changed). `code` is stable (docs/errors.md); some codes add fields, e.g. retry_after (seconds).',
    {
      code: Type.String(),
      error: Type.String(),
      errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
      retry_after: Type.Optional(Type.Number({ minimum: 0 })),
    },
    true,
  ),
  'message.created': frame(
    'message.created',
    'A new message in a conversation of yours (also replayed by sync). sender_id and sender_username are null for a message from a contact (sender_contact).',
    {
      message_id: Uuid,
      conversation_id: Id,
      seq: Id,
      sender_id: Nullable(Id),
      sender_username: Nullable(Type.String()),
      sender_contact: Type.Optional(Type.Object({ contact_id: Id, channel: Type.String(), display_name: Nullable(Type.String()) })),
      payload: Type.Object({ type: Type.String() }, { additionalProperties: true }),
      channels: Type.Array(Type.String()),
      created_at: Timestamp,
    },
    true,
  ),
  'message.status': frame('message.status', 'Delivery progress of a message you sent (sent, delivered, read, failed), per recipient or channel.', {
    message_id: Uuid,
    conversation_id: Id,
    seq: Id,
    status: Type.String(),
    user_id: Type.Optional(Id),
    channel: Type.Optional(Type.String()),
    at: Timestamp,
    error: Type.Optional(Type.String()),
  }),
  'message.updated': frame('message.updated', 'A message was edited by its sender.', {
    message_id: Uuid,
    conversation_id: Id,
    seq: Id,
    version: Id,
    payload: Type.Object({ type: Type.String() }, { additionalProperties: true }),
    edited_at: Timestamp,
  }),
  'message.deleted': frame('message.deleted', 'A message was deleted for everyone (a tombstone stays).', {
    message_id: Uuid,
    conversation_id: Id,
    seq: Id,
    version: Id,
    deleted_at: Timestamp,
    deleted_by: Id,
  }),
  'message.reaction': frame(
    'message.reaction',
    "A member (or a channel's contact: `user_id` null, `contact_id`) added or removed a reaction; `reactions` is the message's new tally.",
    {
      message_id: Uuid,
      conversation_id: Id,
      seq: Id,
      version: Id,
      user_id: Type.Union([Id, Type.Null()]),
      contact_id: Type.Optional(Id),
      emoji: Type.String(),
      action: Type.Union([Type.Literal('added'), Type.Literal('removed')]),
      reactions: Type.Array(ReactionCount),
    },
  ),
  'conversation.created': frame('conversation.created', 'You are a member of a new conversation (the socket subscribes to it).', {
    conversation_id: Id,
    conversation_type: Type.String(),
    name: Nullable(Type.String()),
    member_ids: Type.Array(Id),
  }),
  'conversation.read': frame('conversation.read', 'A member read the conversation up to read_seq.', {
    conversation_id: Id,
    user_id: Id,
    username: Type.String(),
    read_seq: Seq,
    read_at: Timestamp,
  }),
  'conversation.updated': frame('conversation.updated', "A group's name, description or history visibility changed.", {
    conversation_id: Id,
    name: Nullable(Type.String()),
    description: Nullable(Type.String()),
    history_visibility: HistoryVisibility,
  }),
  'member.joined': frame('member.joined', 'Someone was added to a group.', { conversation_id: Id, user_id: Id, username: Type.String() }),
  'member.left': frame('member.left', 'Someone left or was removed from a group (when it is you, the socket unsubscribes).', {
    conversation_id: Id,
    user_id: Id,
    username: Type.String(),
  }),
  'member.role_changed': frame('member.role_changed', "A member's role changed.", { conversation_id: Id, user_id: Id, username: Type.String(), role: Role }),
  typing: frame('typing', 'Another member is typing: show it until `until` unless another typing frame extends it. Never stored, never replayed.', {
    conversation_id: Id,
    user_id: Id,
    username: Type.String(),
    until: Timestamp,
  }),
  presence: frame(
    'presence',
    'Someone who shares a conversation with you came online (first socket on any instance) or went offline (last socket closed). last_seen_at comes with offline unless they hide it.',
    {
      user_id: Id,
      status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
      last_seen_at: Type.Optional(Timestamp),
    },
  ),
};

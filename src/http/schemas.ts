/** JSON schemas of the public API: they validate requests and generate the OpenAPI document. */
import { Type, type TSchema } from 'typebox';

/** The largest integer JavaScript holds exactly; ids, seqs and offsets stay below it (and below PostgreSQL's bigint). */
export const MAX_INTEGER = Number.MAX_SAFE_INTEGER;
export const Id = Type.Integer({ minimum: 1, maximum: MAX_INTEGER });
/** A message sequence number or a count: 0 means "none yet". */
export const Seq = Type.Integer({ minimum: 0, maximum: MAX_INTEGER });
export const Uuid = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.String(),
    trace_id: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem document' },
);
export const problemRef = Type.Unsafe<unknown>({ $ref: 'Problem#' });
/** Documents the problem responses a route may give. */
export const problems = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, problemRef]));

export const Pagination = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  offset: Type.Integer({ minimum: 0, maximum: MAX_INTEGER, default: 0 }),
});

const IsBot = Type.Optional(Type.Boolean({ description: "True for an app's bot user" }));
export const PublicUser = Type.Object({ user_id: Id, username: Type.String(), display_name: Type.String(), created_at: Timestamp, is_bot: IsBot });
export const UserSummary = Type.Object({ user_id: Id, username: Type.String(), display_name: Type.String(), is_bot: IsBot });

export const Register = Type.Object({
  username: Type.String({ minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9_.-]+$' }),
  password: Type.String({ minLength: 8, maxLength: 256 }),
  display_name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
});
export const TokenRequest = Type.Object({
  grant_type: Type.Optional(Type.Union([Type.Literal('password'), Type.Literal('client_credentials'), Type.Literal('refresh_token')])),
  username: Type.Optional(Type.String({ maxLength: 256 })),
  password: Type.Optional(Type.String({ maxLength: 256 })),
  client_id: Type.Optional(Type.String({ maxLength: 256 })),
  client_secret: Type.Optional(Type.String({ maxLength: 256 })),
  refresh_token: Type.Optional(Type.String({ maxLength: 512 })),
  scope: Type.Optional(Type.String({ maxLength: 512 })),
});
export const TokenPair = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
  scope: Type.String(),
});

export const Payload = Type.Union([
  Type.Object({ type: Type.Literal('text'), content: Type.String({ minLength: 1 }) }),
  Type.Object({ type: Type.Literal('file'), file_id: Uuid }),
  // WhatsApp only (in a channel conversation); `components` as WhatsApp documents them.
  Type.Object({
    type: Type.Literal('template'),
    name: Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_]+$' }),
    language: Type.String({ minLength: 2, maxLength: 15, pattern: '^[A-Za-z_]+$' }),
    components: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: 20 })),
  }),
]);
export const ChannelName = Type.Union(['internal', 'whatsapp', 'instagram', 'messenger', 'telegram', 'all'].map((c) => Type.Literal(c)));
export const SendMessage = Type.Object({
  message_id: Type.String({
    format: 'uuid',
    description:
      'Chosen by the client (a fresh UUID per message, e.g. crypto.randomUUID()) so that sending is idempotent: a retry after a timeout or a dropped connection reuses it and gets the original acceptance instead of a duplicate message. It is also the id to read the message and its status with.',
  }),
  conversation_id: Id,
  payload: Payload,
  channels: Type.Optional(Type.Array(ChannelName, { minItems: 1, maxItems: 6 })),
  to: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  reply_to: Type.Optional(
    Type.String({
      format: 'uuid',
      description:
        'A message of the same conversation this one answers; the message then carries a quote of it. On an external channel with capability ' +
        '`replies` the platform shows it as a reply (Telegram reply_parameters, WhatsApp context, Messenger reply_to); elsewhere 409 not-supported-by-channel',
    }),
  ),
});
export const Accepted = Type.Object({ status: Type.Literal('accepted'), message_id: Uuid, conversation_id: Id, seq: Type.Integer(), created_at: Timestamp });
export const Message = Type.Object(
  {
    message_id: Uuid,
    conversation_id: Id,
    seq: Type.Integer(),
    sender_id: Type.Union([Id, Type.Null()]),
    sender_username: Type.Union([Type.String(), Type.Null()]),
    sender_is_bot: Type.Optional(Type.Boolean({ description: "True when an app's bot user sent it" })),
    sender_contact: Type.Optional(Type.Object({ contact_id: Type.Integer(), channel: Type.String(), display_name: Type.Union([Type.String(), Type.Null()]) })),
    payload: Type.Object({}, { additionalProperties: true }),
    channels: Type.Array(Type.String()),
    status: Type.String(),
    created_at: Timestamp,
    reply_to: Type.Optional(
      Nullable(
        Type.Object(
          {
            message_id: Uuid,
            sender_id: Nullable(Type.Integer()),
            sender_username: Nullable(Type.String()),
            excerpt: Nullable(Type.String()),
            deleted: Type.Boolean(),
          },
          { description: 'The message this one answers: its sender and first 100 characters (excerpt null once it is deleted)' },
        ),
      ),
    ),
    version: Type.Optional(Type.Integer({ description: 'The conversation version of the last edit, deletion or reaction change; 0 when never changed' })),
    edited_at: Type.Optional(Nullable(Timestamp)),
    deleted_at: Type.Optional(Nullable(Timestamp)),
    reactions: Type.Optional(
      Type.Array(Type.Object({ emoji: Type.String(), count: Type.Integer(), me: Type.Boolean({ description: 'the caller is among them' }) }), {
        description: 'One entry per emoji, in the order first used',
      }),
    ),
    statuses: Type.Optional(
      Type.Any({
        description:
          'GET /v1/messages/{id} only: `recipients` [{user_id, status, at}], `channels` [{channel, status, at, attempts, external_id?, error?, failure?}] ' +
          'and `channel_changes` [{change_id, channel, kind (edit, delete, reaction), status (pending, sent, failed, skipped), attempts, at, error?, failure?}]: ' +
          'the edits, deletions and reactions relayed to external channels',
      }),
    ),
    history: Type.Optional(Type.Any()),
  },
  { $id: 'Message' },
);
export const messageRef = Type.Unsafe<unknown>({ $ref: 'Message#' });

export const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')], {
  description: 'owner: everything, one per group; admin: adds members, removes members, changes the group; member: sends and reads',
});
export const HistoryVisibility = Type.Union([Type.Literal('shared'), Type.Literal('joined')], {
  description: 'shared: members see the whole history; joined: each member sees the messages sent after they joined',
});
const GroupName = Type.String({ minLength: 1, maxLength: 200 });
const GroupDescription = Type.String({ maxLength: 2000 });

export const CreateConversation = Type.Object({
  type: Type.Union([Type.Literal('private'), Type.Literal('group')]),
  member_ids: Type.Array(Id, { minItems: 1, maxItems: 100_000 }),
  name: Type.Optional(GroupName),
  description: Type.Optional(GroupDescription),
  // Groups only; default shared.
  history_visibility: Type.Optional(HistoryVisibility),
});
export const UpdateConversation = Type.Object(
  { name: Type.Optional(GroupName), description: Type.Optional(GroupDescription), history_visibility: Type.Optional(HistoryVisibility) },
  { minProperties: 1 },
);
export const ChangeRole = Type.Object({ role: Role });
export const ConversationDetails = Type.Object({
  contact: Type.Optional(Type.Object({}, { additionalProperties: true })),
  id: Type.Integer({ minimum: 1, maximum: MAX_INTEGER, deprecated: true, description: 'Deprecated alias of conversation_id; removed in the next version.' }),
  conversation_id: Id,
  type: Type.String(),
  name: Nullable(Type.String()),
  description: Nullable(Type.String()),
  history_visibility: HistoryVisibility,
  created_at: Timestamp,
  member_count: Type.Integer(),
  last_seq: Type.Integer(),
  members: Type.Array(
    Type.Object({
      user_id: Id,
      username: Type.String(),
      display_name: Type.String(),
      is_bot: IsBot,
      role: Role,
      read_seq: Type.Integer(),
      delivered_seq: Type.Integer(),
    }),
  ),
});
// Same names as ConversationDetails (conversation_id, type, name, description, created_at); the
// conversation_* names are the aliases this list used before, kept for one version.
const deprecatedAlias = (of: string) => ({ deprecated: true, description: `Deprecated alias of ${of}; removed in the next version.` });
export const ConversationListItem = Type.Object({
  conversation_id: Id,
  type: Type.String(),
  name: Nullable(Type.String()),
  created_at: Timestamp,
  conversation_type: Type.String(deprecatedAlias('type')),
  conversation_name: Type.Union([Type.String(), Type.Null()], deprecatedAlias('name')),
  description: Nullable(Type.String()),
  last_message_timestamp: Nullable(Timestamp),
  last_message_content: Nullable(Type.String()),
  last_message_sender: Nullable(Type.String()),
  last_seq: Type.Integer(),
  unread_count: Type.Integer(),
  conversation_created_at: Type.String({ format: 'date-time', ...deprecatedAlias('created_at') }),
});
export const ConversationIdParams = Type.Object({ id: Id });

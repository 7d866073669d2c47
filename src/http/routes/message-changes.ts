import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { Config } from '../../config.ts';
import type { SearchQuery } from '../../app/search.ts';
import { MAX_EMOJI_CODE_POINTS } from '../../domain/message-changes.ts';
import { MAX_INTEGER, Uuid, messageRef, problems } from '../schemas.ts';
import { principalOf } from '../auth.ts';
import { bearer, protect } from './guard.ts';

// The emoji arrives percent-encoded in the path; the domain checks what it is made of (invalid-emoji).
const EmojiParams = Type.Object({ message_id: Uuid, emoji: Type.String({ minLength: 1, maxLength: MAX_EMOJI_CODE_POINTS * 2 }) });
const Timestamp = Type.String({ format: 'date-time' });

/** Reactions, edits, deletion, previous versions and search (issue 16). */
export const messageChangeRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  protect(server, app, config);
  const tags = ['messages'];
  const MessageParams = Type.Object({ message_id: Uuid });

  for (const method of ['PUT', 'DELETE'] as const) {
    server.route<{ Params: { message_id: string; emoji: string } }>({
      method,
      url: '/v1/messages/:message_id/reactions/:emoji',
      config: { rateClass: 'write', scope: 'messages:write' },
      schema: {
        tags,
        security: bearer,
        summary: method === 'PUT' ? 'React with an emoji (one of each emoji per user; idempotent)' : 'Take back a reaction (idempotent)',
        description:
          'The emoji is 1 to 10 code points, each Extended_Pictographic, Emoji_Component or U+FE0E, with at least one pictograph, ' +
          'regional indicator or keycap (percent-encoded in the path). Anything else is 400 invalid-emoji. Answers the message as the caller sees it. ' +
          'On a message that went to (or came from) an external channel the reaction is relayed there when the channel has capability `reactions` ' +
          '(else 409 not-supported-by-channel); a channel with a fixed set of reactions (`reaction_emoji`, Telegram) refuses others with ' +
          '422 emoji-not-supported-by-channel before anything is stored.',
        params: EmojiParams,
        response: { 200: messageRef, ...problems(400, 401, 404, 409, 422, 429) },
      },
      handler: async (request) => app.messageChanges.react(principalOf(request).userId, request.params.message_id, request.params.emoji, method === 'PUT'),
    });
  }

  server.patch<{ Params: { message_id: string }; Body: { payload: { type: 'text'; content: string } } }>(
    '/v1/messages/:message_id',
    {
      config: { rateClass: 'write', scope: 'messages:write' },
      schema: {
        tags,
        security: bearer,
        summary: 'Edit the text of your own text message within the edit window (MESSAGE_EDIT_WINDOW_HOURS)',
        description:
          'On a message sent to an external channel the edit is relayed to the platform (after its send settled) when the channel has capability ' +
          '`edits`; otherwise 409 not-supported-by-channel and nothing changes. The relay shows in `statuses.channel_changes` of GET /v1/messages/{id}.',
        params: MessageParams,
        body: Type.Object({ payload: Type.Object({ type: Type.Literal('text'), content: Type.String({ minLength: 1 }) }) }),
        response: { 200: messageRef, ...problems(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => app.messageChanges.edit(principalOf(request).userId, request.params.message_id, request.body.payload.content),
  );

  server.delete<{ Params: { message_id: string } }>(
    '/v1/messages/:message_id',
    {
      config: { rateClass: 'write', scope: 'messages:write' },
      schema: {
        tags,
        security: bearer,
        summary: 'Delete a message for everyone: yours within the edit window, or anyone’s as a group owner or admin',
        description:
          'Leaves a tombstone (payload {"type":"deleted"}, deleted_at); the text, previous versions and reactions are gone. Idempotent. ' +
          'On a message sent to an external channel the deletion is relayed to the platform when the channel has capability `deletes`; ' +
          'otherwise 409 not-supported-by-channel and nothing changes.',
        params: MessageParams,
        response: { 200: messageRef, ...problems(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => app.messageChanges.remove(principalOf(request).userId, request.params.message_id),
  );

  server.get<{ Params: { message_id: string } }>(
    '/v1/messages/:message_id/versions',
    {
      config: { rateClass: 'read', scope: 'messages:read' },
      schema: {
        tags,
        security: bearer,
        summary: 'The texts an edit replaced, oldest first (sender only)',
        params: MessageParams,
        response: {
          200: Type.Object({
            message_id: Uuid,
            current: Type.Object({
              payload: Type.Object({}, { additionalProperties: true }),
              edited_at: Type.Union([Timestamp, Type.Null()]),
              deleted_at: Type.Union([Timestamp, Type.Null()]),
            }),
            versions: Type.Array(Type.Object({ payload: Type.Object({}, { additionalProperties: true }), created_at: Timestamp, replaced_at: Timestamp })),
          }),
          ...problems(400, 401, 403, 404, 429),
        },
      },
    },
    async (request) => app.messageChanges.versions(principalOf(request).userId, request.params.message_id),
  );

  server.get<{ Querystring: SearchQuery }>(
    '/v1/search/messages',
    {
      config: { rateClass: 'read', scope: 'messages:read' },
      schema: {
        tags,
        security: bearer,
        summary: 'Full-text search in your conversations, best match first, with highlighted snippets',
        description:
          'q uses web-search syntax ("quoted phrase", or, -word). Matches English word forms and words as written. ' +
          'snippet_html is HTML-escaped text with matches in <mark>…</mark>. Page with offset, passing the first answer’s `before` so that new messages do not shift pages.',
        querystring: Type.Object({
          q: Type.String({ minLength: 1, maxLength: 256 }),
          conversation_id: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_INTEGER })),
          before: Type.Optional(Timestamp),
          limit: Type.Integer({ minimum: 1, maximum: 50, default: 20 }),
          offset: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
        }),
        response: {
          200: Type.Object({
            results: Type.Array(
              Type.Object({
                message_id: Uuid,
                conversation_id: Type.Integer(),
                seq: Type.Integer(),
                sender_id: Type.Union([Type.Integer(), Type.Null()]),
                sender_username: Type.Union([Type.String(), Type.Null()]),
                created_at: Timestamp,
                rank: Type.Number(),
                snippet_html: Type.String(),
              }),
            ),
            before: Timestamp,
            limit: Type.Integer(),
            offset: Type.Integer(),
            has_more: Type.Boolean(),
          }),
          ...problems(400, 401, 403, 404, 429),
        },
      },
    },
    async (request) => app.search.messages(principalOf(request).userId, request.query),
  );
};

import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app/app.ts';
import type { ReadResult } from '../../app/receipts.ts';
import type { Config } from '../../config.ts';
import type { CreateConversation as CreateInput } from '../../app/conversations.ts';
import {
  ChangeRole,
  ConversationDetails,
  ConversationIdParams,
  ConversationListItem,
  CreateConversation,
  Id,
  MAX_INTEGER,
  Pagination,
  Seq,
  UpdateConversation,
  messageRef,
  problems,
} from '../schemas.ts';
import type { GroupSettings } from '../../app/groups.ts';
import type { Role } from '../../domain/group.ts';
import { principalOf } from '../auth.ts';
import { bearer, protect } from './guard.ts';

type IdParams = { Params: { id: number } };
type MemberParams = { Params: { id: number; user_id: number } };
const MemberParamsSchema = Type.Object({ id: Id, user_id: Id });

export const conversationRoutes = (app: App, config: Config) => async (server: FastifyInstance) => {
  protect(server, app, config);
  const tags = ['conversations'];
  const base = { tags, security: bearer };

  server.post<{ Body: CreateInput }>(
    '/v1/conversations',
    {
      config: { rateClass: 'write', scope: 'conversations:write' },
      schema: {
        ...base,
        summary: 'Create a private or group conversation (an existing private pair is returned)',
        body: CreateConversation,
        response: { 201: ConversationDetails, ...problems(400, 401, 429) },
      },
    },
    async (request, reply) => reply.code(201).send(await app.conversations.create(principalOf(request).userId, request.body)),
  );

  server.get<{ Querystring: { limit: number; offset: number } }>(
    '/v1/conversations',
    {
      config: { rateClass: 'read', scope: 'conversations:read' },
      schema: {
        ...base,
        summary: 'My conversations, newest activity first',
        querystring: Pagination,
        response: {
          200: Type.Object({
            items: Type.Array(ConversationListItem),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
            has_more: Type.Boolean(),
          }),
          ...problems(400, 401, 429),
        },
      },
    },
    async (request) => app.conversations.list(principalOf(request).userId, request.query.limit, request.query.offset),
  );

  server.get<IdParams>(
    '/v1/conversations/:id',
    {
      config: { rateClass: 'read', scope: 'conversations:read' },
      schema: {
        ...base,
        summary: 'Conversation details with members and read cursors',
        params: ConversationIdParams,
        response: { 200: ConversationDetails, ...problems(400, 401, 403, 404, 429) },
      },
    },
    async (request) => app.conversations.details(principalOf(request).userId, request.params.id),
  );

  server.patch<IdParams & { Body: GroupSettings }>(
    '/v1/conversations/:id',
    {
      config: { rateClass: 'write', scope: 'conversations:write' },
      schema: {
        ...base,
        summary: "Change a group's name, description or history visibility (owner or admin)",
        params: ConversationIdParams,
        body: UpdateConversation,
        response: { 200: ConversationDetails, ...problems(400, 401, 403, 404, 429) },
      },
    },
    async (request) => app.groups.update(principalOf(request).userId, request.params.id, request.body),
  );

  server.post<IdParams & { Body: { user_ids: number[] } }>(
    '/v1/conversations/:id/members',
    {
      config: { rateClass: 'write', scope: 'conversations:write' },
      schema: {
        ...base,
        summary: 'Add members to a group (owner or admin)',
        params: ConversationIdParams,
        body: Type.Object({ user_ids: Type.Array(Id, { minItems: 1, maxItems: 10_000 }) }),
        response: { 200: ConversationDetails, ...problems(400, 401, 403, 404, 429) },
      },
    },
    async (request) => app.groups.addMembers(principalOf(request).userId, request.params.id, request.body.user_ids),
  );

  server.patch<MemberParams & { Body: { role: Role } }>(
    '/v1/conversations/:id/members/:user_id',
    {
      config: { rateClass: 'write', scope: 'conversations:write' },
      schema: {
        ...base,
        summary: 'Change a member\'s role (owner only); role "owner" hands the group over and makes the previous owner an admin',
        params: MemberParamsSchema,
        body: ChangeRole,
        response: { 200: ConversationDetails, ...problems(400, 401, 403, 404, 429) },
      },
    },
    async (request) => app.groups.changeRole(principalOf(request).userId, request.params.id, request.params.user_id, request.body.role),
  );

  server.delete<MemberParams>(
    '/v1/conversations/:id/members/:user_id',
    {
      config: { rateClass: 'write', scope: 'conversations:write' },
      schema: {
        ...base,
        summary: 'Remove a member from a group (yourself = leave; others: owner, or admin for members)',
        params: MemberParamsSchema,
        response: { 204: Type.Null(), ...problems(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      await app.groups.removeMember(principalOf(request).userId, request.params.id, request.params.user_id);
      return reply.code(204).send();
    },
  );

  server.post<IdParams & { Body: { up_to_seq?: number } | undefined }>(
    '/v1/conversations/:id/read',
    {
      config: { rateClass: 'write', scope: 'messages:read' },
      schema: {
        ...base,
        summary: 'Move my read cursor (default: latest message)',
        params: ConversationIdParams,
        body: Type.Union([Type.Object({ up_to_seq: Type.Optional(Seq) }), Type.Null()]),
        response: {
          200: Type.Object({ status: Type.Literal('success'), conversation_id: Id, read_seq: Type.Integer(), messages_marked_read: Type.Integer() }),
          ...problems(400, 401, 403, 404, 429),
        },
      },
    },
    async (request) => {
      const p = principalOf(request);
      return presentRead(await app.receipts.markRead(p.userId, p.username, request.params.id, request.body?.up_to_seq));
    },
  );

  server.get<IdParams & { Querystring: { limit: number; offset: number; after_seq?: number; before_seq?: number; changed_after?: number } }>(
    '/v1/conversations/:id/messages',
    {
      config: { rateClass: 'read', scope: 'messages:read' },
      schema: {
        ...base,
        summary: 'History: newest first by offset, or oldest first after a seq (catch-up), or before a seq; or changes after a version',
        description:
          'changed_after=<version>: the messages edited, deleted or whose reactions changed after that conversation version, in version order and ' +
          'in their current state (docs/websocket.md, "Changes to messages"); last_version is the cursor to keep.',
        params: ConversationIdParams,
        querystring: Type.Object({
          ...Pagination.properties,
          after_seq: Type.Optional(Seq),
          before_seq: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_INTEGER })),
          changed_after: Type.Optional(Seq),
        }),
        response: {
          200: Type.Object({
            messages: Type.Array(messageRef),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
            has_more: Type.Boolean(),
            last_version: Type.Optional(Type.Integer({ description: "The conversation's last change version: the changed_after cursor" })),
          }),
          ...problems(400, 401, 403, 404, 429),
        },
      },
    },
    async (request) => {
      const { userId } = principalOf(request);
      const q = request.query;
      if (q.changed_after === undefined) return app.messages.history(userId, request.params.id, q);
      const changes = await app.messageChanges.changes(userId, request.params.id, q.changed_after, q.limit);
      return { ...changes, limit: q.limit, offset: 0 };
    },
  );
};

/** The wire form of a mark-read result. */
function presentRead(r: ReadResult) {
  return { status: 'success' as const, conversation_id: r.conversationId, read_seq: r.readSeq, messages_marked_read: r.marked };
}

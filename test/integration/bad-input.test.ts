import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuid } from '../support/harness.ts';
import { startTarget, startTimeoutMs, targetKinds, type TestTarget } from '../support/targets.ts';
import { checkingProblems, expectProblem, groupConversation, privateConversation, send, tableCounts, type TestUser } from '../support/factories.ts';

/** One bad request: what is sent, and the problem that must come back. */
interface Case {
  name: string;
  method: string;
  url: string;
  body?: unknown;
  raw?: string;
  contentType?: string;
  status?: number;
  code?: string;
  path?: string;
  isPublic?: boolean;
}

const JSON_TYPE = 'application/json';

describe.each(targetKinds())('bad input on every route on %s', (kind) => {
  let c4: TestTarget;
  let owner: TestUser;
  let member: TestUser;
  let group: number;
  let direct: number;
  beforeAll(async () => {
    c4 = checkingProblems(await startTarget(kind));
    owner = await c4.user('owner');
    member = await c4.user('member');
    const third = await c4.user('third');
    group = await groupConversation(c4, owner, [member, third]);
    direct = await privateConversation(c4, owner, member);
    await send(c4, owner.token, direct, 'existing');
  }, startTimeoutMs);
  afterAll(async () => c4?.close(), startTimeoutMs);

  const run = async (k: Case, token?: string) => {
    const headers: Record<string, string> = {};
    if (k.raw !== undefined || k.contentType) headers['content-type'] = k.contentType ?? JSON_TYPE;
    return c4.request(k.method, k.url, { token: k.isPublic ? undefined : token, body: k.raw ?? k.body, headers });
  };

  const expectAll = async (cases: Case[]) => {
    const before = await tableCounts(c4);
    for (const k of cases) {
      const res = await run(k, owner.token);
      const problem = expectProblem(res, k.status ?? 400, k.code ?? 'validation-failed');
      if (k.path) expect(problem.errors, k.name).toEqual(expect.arrayContaining([expect.objectContaining({ path: k.path })]));
    }
    expect(await tableCounts(c4)).toEqual(before);
  };

  const malformed = (method: string, url: string, isPublic = false): Case[] => [
    { name: `${url} truncated JSON`, method, url, raw: '{"a":', code: 'malformed-request', isPublic },
    { name: `${url} not JSON`, method, url, raw: 'hello', code: 'malformed-request', isPublic },
    { name: `${url} empty JSON body`, method, url, raw: '', code: 'malformed-request', isPublic },
    { name: `${url} JSON array`, method, url, raw: '[]', isPublic },
    { name: `${url} unsupported media type`, method, url, raw: 'a=b', contentType: 'application/xml', status: 415, code: 'unsupported-media-type', isPublic },
    { name: `${url} oversized`, method, url, raw: JSON.stringify({ pad: 'x'.repeat(1024 * 1024 + 10) }), status: 413, code: 'payload-too-large', isPublic },
  ];

  it('answers malformed, empty, oversized and mistyped bodies with a problem on every write route', async () => {
    await expectAll([
      ...malformed('POST', '/auth/register', true),
      ...malformed('POST', '/auth/token', true),
      ...malformed('POST', '/auth/refresh', true),
      ...malformed('POST', '/auth/revoke', true),
      ...malformed('POST', '/v1/conversations'),
      ...malformed('POST', `/v1/conversations/${group}/members`),
      ...malformed('POST', '/v1/messages'),
      { name: 'form token body too large', method: 'POST', url: '/auth/token', raw: `username=${'x'.repeat(20_000)}`, contentType: 'application/x-www-form-urlencoded', status: 413, code: 'payload-too-large', isPublic: true },
      { name: 'read cursor, truncated JSON', method: 'POST', url: `/v1/conversations/${direct}/read`, raw: '{"up_to_seq":', code: 'malformed-request' },
    ]);
  });

  it('rejects missing and wrong-typed auth fields without coercion', async () => {
    await expectAll([
      { name: 'register without password', method: 'POST', url: '/auth/register', body: { username: 'nopass_user' }, path: '/password', isPublic: true },
      { name: 'register with numeric username', method: 'POST', url: '/auth/register', body: { username: 12345, password: 'password123' }, path: '/username', isPublic: true },
      { name: 'register with empty display name', method: 'POST', url: '/auth/register', body: { username: 'empty_dn', password: 'password123', display_name: '' }, path: '/display_name', isPublic: true },
      { name: 'token with numeric password', method: 'POST', url: '/auth/token', body: { username: 'user1', password: 123456789 }, path: '/password', isPublic: true },
      { name: 'refresh without token', method: 'POST', url: '/auth/refresh', body: {}, path: '/refresh_token', isPublic: true },
      { name: 'refresh with a number', method: 'POST', url: '/auth/refresh', body: { refresh_token: 42 }, path: '/refresh_token', isPublic: true },
      { name: 'revoke without token', method: 'POST', url: '/auth/revoke', body: { token_type_hint: 'access_token' }, path: '/token', isPublic: true },
    ]);
  });

  it('rejects missing and wrong-typed conversation fields without coercion', async () => {
    await expectAll([
      { name: 'no type', method: 'POST', url: '/v1/conversations', body: { member_ids: [member.id] }, path: '/type' },
      { name: 'unknown type', method: 'POST', url: '/v1/conversations', body: { type: 'channel', member_ids: [member.id] }, path: '/type' },
      { name: 'member_ids a string', method: 'POST', url: '/v1/conversations', body: { type: 'private', member_ids: String(member.id) }, path: '/member_ids' },
      { name: 'member id a string', method: 'POST', url: '/v1/conversations', body: { type: 'private', member_ids: [String(member.id)] }, path: '/member_ids/0' },
      { name: 'member id zero', method: 'POST', url: '/v1/conversations', body: { type: 'private', member_ids: [0] }, path: '/member_ids/0' },
      { name: 'member id fractional', method: 'POST', url: '/v1/conversations', body: { type: 'private', member_ids: [1.5] }, path: '/member_ids/0' },
      { name: 'no members', method: 'POST', url: '/v1/conversations', body: { type: 'group', member_ids: [] }, path: '/member_ids' },
      { name: 'numeric name', method: 'POST', url: '/v1/conversations', body: { type: 'group', name: 7, member_ids: [member.id, 1] }, path: '/name' },
      { name: 'user_ids a string', method: 'POST', url: `/v1/conversations/${group}/members`, body: { user_ids: '5' }, path: '/user_ids' },
      { name: 'user id a string', method: 'POST', url: `/v1/conversations/${group}/members`, body: { user_ids: ['5'] }, path: '/user_ids/0' },
      { name: 'no user_ids', method: 'POST', url: `/v1/conversations/${group}/members`, body: {}, path: '/user_ids' },
      { name: 'up_to_seq a string', method: 'POST', url: `/v1/conversations/${direct}/read`, body: { up_to_seq: '1' } },
      { name: 'up_to_seq negative', method: 'POST', url: `/v1/conversations/${direct}/read`, body: { up_to_seq: -1 } },
    ]);
  });

  it('rejects missing and wrong-typed message fields without coercion', async () => {
    const ok = { message_id: uuid(), conversation_id: direct, payload: { type: 'text', content: 'x' } };
    await expectAll([
      { name: 'conversation_id a string', method: 'POST', url: '/v1/messages', body: { ...ok, conversation_id: String(direct) }, path: '/conversation_id' },
      { name: 'no conversation_id', method: 'POST', url: '/v1/messages', body: { message_id: ok.message_id, payload: ok.payload }, path: '/conversation_id' },
      { name: 'message_id not a uuid', method: 'POST', url: '/v1/messages', body: { ...ok, message_id: 'abc-123' }, path: '/message_id' },
      { name: 'message_id a number', method: 'POST', url: '/v1/messages', body: { ...ok, message_id: 42 }, path: '/message_id' },
      { name: 'no payload', method: 'POST', url: '/v1/messages', body: { message_id: ok.message_id, conversation_id: direct }, path: '/payload' },
      { name: 'payload a string', method: 'POST', url: '/v1/messages', body: { ...ok, payload: 'hello' } },
      { name: 'unknown payload type', method: 'POST', url: '/v1/messages', body: { ...ok, payload: { type: 'video', content: 'x' } } },
      { name: 'numeric content', method: 'POST', url: '/v1/messages', body: { ...ok, payload: { type: 'text', content: 5 } } },
      { name: 'file without uuid', method: 'POST', url: '/v1/messages', body: { ...ok, payload: { type: 'file', file_id: 'nope' } } },
      { name: 'channels not an array', method: 'POST', url: '/v1/messages', body: { ...ok, channels: 'internal' }, path: '/channels' },
      { name: 'empty recipient', method: 'POST', url: '/v1/messages', body: { ...ok, to: '' }, path: '/to' },
      { name: 'id beyond 2^53', method: 'POST', url: '/v1/messages', body: { ...ok, conversation_id: 2 ** 64 }, path: '/conversation_id' },
    ]);
  });

  it('rejects path ids that are not positive integers or uuids, and bad query strings', async () => {
    const notIds = ['abc', '0', '-1', '1.5', '1e3', '99999999999999999999', '%20'];
    await expectAll([
      ...notIds.flatMap((id): Case[] => [
        { name: `details ${id}`, method: 'GET', url: `/v1/conversations/${id}`, path: '/id' },
        { name: `history ${id}`, method: 'GET', url: `/v1/conversations/${id}/messages`, path: '/id' },
        { name: `read ${id}`, method: 'POST', url: `/v1/conversations/${id}/read`, body: {}, path: '/id' },
        { name: `add members ${id}`, method: 'POST', url: `/v1/conversations/${id}/members`, body: { user_ids: [member.id] }, path: '/id' },
        { name: `remove member ${id}`, method: 'DELETE', url: `/v1/conversations/${group}/members/${id}`, path: '/user_id' },
        { name: `user ${id}`, method: 'GET', url: `/v1/users/${id}`, path: '/user_id' },
      ]),
      { name: 'message id not a uuid', method: 'GET', url: '/v1/messages/12345', path: '/message_id' },
      { name: 'list limit 0', method: 'GET', url: '/v1/conversations?limit=0', path: '/limit' },
      { name: 'list limit 101', method: 'GET', url: '/v1/conversations?limit=101', path: '/limit' },
      { name: 'list offset negative', method: 'GET', url: '/v1/conversations?offset=-1', path: '/offset' },
      { name: 'list limit text', method: 'GET', url: '/v1/conversations?limit=ten', path: '/limit' },
      { name: 'history after_seq text', method: 'GET', url: `/v1/conversations/${direct}/messages?after_seq=x`, path: '/after_seq' },
      { name: 'history before_seq 0', method: 'GET', url: `/v1/conversations/${direct}/messages?before_seq=0`, path: '/before_seq' },
      { name: 'history limit 1000', method: 'GET', url: `/v1/conversations/${direct}/messages?limit=1000`, path: '/limit' },
    ]);
  });

  it('answers unknown ids with 404 problems and changes nothing', async () => {
    const unknown = 987654321;
    await expectAll([
      { name: 'details', method: 'GET', url: `/v1/conversations/${unknown}`, status: 404, code: 'conversation-not-found' },
      { name: 'history', method: 'GET', url: `/v1/conversations/${unknown}/messages`, status: 404, code: 'conversation-not-found' },
      { name: 'read', method: 'POST', url: `/v1/conversations/${unknown}/read`, body: {}, status: 404, code: 'conversation-not-found' },
      { name: 'add members', method: 'POST', url: `/v1/conversations/${unknown}/members`, body: { user_ids: [member.id] }, status: 404, code: 'conversation-not-found' },
      { name: 'remove unknown member', method: 'DELETE', url: `/v1/conversations/${group}/members/${unknown}`, status: 404, code: 'member-not-found' },
      { name: 'send', method: 'POST', url: '/v1/messages', body: { message_id: uuid(), conversation_id: unknown, payload: { type: 'text', content: 'x' } }, status: 404, code: 'conversation-not-found' },
      { name: 'message', method: 'GET', url: `/v1/messages/${uuid()}`, status: 404, code: 'message-not-found' },
      { name: 'user', method: 'GET', url: `/v1/users/${unknown}`, status: 404, code: 'user-not-found' },
      { name: 'route', method: 'GET', url: '/v1/nothing-here', status: 404, code: 'route-not-found' },
      { name: 'method', method: 'PUT', url: '/v1/messages', body: {}, status: 404, code: 'route-not-found' },
    ]);
  });

  it('checks credentials before reading the body: no token and bad input → 401', async () => {
    await expectAll([
      { name: 'malformed JSON without token', method: 'POST', url: '/v1/messages', raw: '{"a":', status: 401, code: 'missing-token', isPublic: true },
      { name: 'wrong types without token', method: 'POST', url: '/v1/conversations', body: { type: 1 }, status: 401, code: 'missing-token', isPublic: true },
      { name: 'bad path id without token', method: 'GET', url: '/v1/conversations/abc', status: 401, code: 'missing-token', isPublic: true },
    ]);
  });

  it('keeps conversations, seqs and messages exactly as they were', async () => {
    const details = await c4.request('GET', `/v1/conversations/${direct}`, { token: owner.token });
    expect(details.body).toMatchObject({ last_seq: 1, member_count: 2 });
    expect((await c4.request('GET', `/v1/conversations/${group}`, { token: owner.token })).body.member_count).toBe(3);
    const list = await c4.request('GET', '/v1/conversations', { token: owner.token });
    expect(list.body.total).toBe(2);
    expect((await c4.request('GET', `/v1/conversations/${direct}/messages`, { token: owner.token })).body.total).toBe(1);
  });
});

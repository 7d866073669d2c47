import { describe, expect, it } from 'vitest';
import { classifyGraphError, graphError } from './graph-error.ts';

const answer = (status: number, error: object | undefined, headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers(headers),
  body: error ? { error: { message: 'm', type: 'OAuthException', fbtrace_id: 'A1', ...error } } : '<html>',
});

describe('classifyGraphError', () => {
  it.each([
    [400, 130429, undefined, 'rate-limited'],
    [400, 131056, undefined, 'rate-limited'],
    [400, 131048, undefined, 'rate-limited'],
    [429, 4, undefined, 'rate-limited'],
    [400, 80007, undefined, 'rate-limited'],
    [400, 613, undefined, 'rate-limited'],
    [500, 131000, undefined, 'unavailable'],
    [500, 2, undefined, 'unavailable'],
    [500, 1, undefined, 'unavailable'],
    [400, 131047, undefined, 'window-closed'],
    [400, 10, 2018278, 'window-closed'],
    [400, 100, 2018001, 'invalid-recipient'],
    [400, 131026, undefined, 'invalid-recipient'],
    [400, 131030, undefined, 'invalid-recipient'],
    [400, 551, 1545041, 'blocked'],
    [400, 368, undefined, 'policy'],
    [401, 190, undefined, 'auth'],
    [403, 200, undefined, 'auth'],
    [400, 10, undefined, 'auth'],
    [400, 100, undefined, 'invalid-request'],
    [400, 131051, undefined, 'invalid-request'],
    [400, 132001, undefined, 'invalid-request'],
  ])('HTTP %i with code %i/%s is %s', (status, code, subcode, expected) => {
    expect(classifyGraphError(status, { code, error_subcode: subcode })).toBe(expected);
  });

  it('falls back on the HTTP status when the body is not a Graph error', () => {
    expect(classifyGraphError(503, undefined)).toBe('unavailable');
    expect(classifyGraphError(429, undefined)).toBe('rate-limited');
    expect(classifyGraphError(401, undefined)).toBe('auth');
    expect(classifyGraphError(400, undefined)).toBe('invalid-request');
  });
});

describe('graphError', () => {
  it('keeps the provider code (with its subcode), the details and Retry-After', () => {
    const e = graphError('whatsapp send', answer(429, { code: 130429, error_data: { details: 'too many messages' } }, { 'retry-after': '7' }));
    expect(e).toMatchObject({ errorClass: 'rate-limited', isPermanent: false, providerCode: '130429', retryAfterMs: 7000 });
    expect(e.message).toBe('whatsapp send: too many messages');
    expect(graphError('messenger send', answer(400, { code: 100, error_subcode: 2018001 }))).toMatchObject({ providerCode: '100/2018001', isPermanent: true });
    expect(graphError('x', answer(502, undefined))).toMatchObject({ providerCode: '502', errorClass: 'unavailable', retryAfterMs: undefined });
  });
});

import { describe, expect, it } from 'vitest';
import { checkSubscription, noticeOf, pushTopicOf, PUSH_PREVIEW_LENGTH } from './push.ts';
import { isDomainError } from './errors.ts';

const p256dh = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url');
const auth = Buffer.alloc(16, 1).toString('base64url');
const good = { endpoint: 'https://push.example.com/send/abc', keys: { p256dh, auth } };
const rules = { isLoopbackHttpAllowed: false };

function problemPaths(input: typeof good, r = rules): string[] {
  try {
    checkSubscription(input, r);
    return [];
  } catch (e) {
    if (!isDomainError(e) || e.code !== 'invalid-push-subscription') throw e;
    return (e.details.errors as { path: string }[]).map((x) => x.path);
  }
}

describe('checkSubscription', () => {
  it('accepts an https endpoint with a 65-byte point and a 16-byte secret', () => {
    expect(problemPaths(good)).toEqual([]);
  });

  it('refuses http, IP addresses, credentials and loopback unless loopback http is allowed', () => {
    expect(problemPaths({ ...good, endpoint: 'http://push.example.com/x' })).toEqual(['/endpoint']);
    expect(problemPaths({ ...good, endpoint: 'https://10.0.0.1/x' })).toEqual(['/endpoint']);
    expect(problemPaths({ ...good, endpoint: 'https://[fd00::1]/x' })).toEqual(['/endpoint']);
    expect(problemPaths({ ...good, endpoint: 'https://u:p@push.example.com/x' })).toEqual(['/endpoint']);
    expect(problemPaths({ ...good, endpoint: 'not a url' })).toEqual(['/endpoint']);
    expect(problemPaths({ ...good, endpoint: 'http://127.0.0.1:9/x' })).toEqual(['/endpoint']);
    expect(problemPaths({ ...good, endpoint: 'http://127.0.0.1:9/x' }, { isLoopbackHttpAllowed: true })).toEqual([]);
    expect(problemPaths({ ...good, endpoint: 'http://10.0.0.1/x' }, { isLoopbackHttpAllowed: true })).toEqual(['/endpoint']);
  });

  it('refuses keys of the wrong length, padding, a compressed point or another alphabet', () => {
    const compressed = Buffer.concat([Buffer.from([2]), Buffer.alloc(64, 7)]).toString('base64url');
    expect(problemPaths({ ...good, keys: { p256dh: compressed, auth } })).toEqual(['/keys/p256dh']);
    expect(problemPaths({ ...good, keys: { p256dh: p256dh.slice(1), auth } })).toEqual(['/keys/p256dh']);
    expect(problemPaths({ ...good, keys: { p256dh, auth: `${auth}==` } })).toEqual(['/keys/auth']);
    expect(problemPaths({ ...good, keys: { p256dh, auth: Buffer.alloc(16, 1).toString('base64') + '+' } })).toEqual(['/keys/auth']);
    expect(problemPaths({ endpoint: 'ftp://x', keys: { p256dh: 'x', auth: 'y' } })).toEqual(['/endpoint', '/keys/p256dh', '/keys/auth']);
  });
});

describe('noticeOf', () => {
  it('carries a preview of at most PUSH_PREVIEW_LENGTH characters, never the whole text', () => {
    const n = noticeOf({
      conversationId: 3,
      messageId: 'm',
      seq: 9,
      senderName: 'Ana',
      conversationName: null,
      payload: { type: 'text', content: '😀'.repeat(500) },
    });
    expect([...n.preview]).toHaveLength(PUSH_PREVIEW_LENGTH);
    expect(n).toMatchObject({ type: 'message', conversation_id: 3, seq: 9, sender_name: 'Ana', conversation_name: null });
  });

  it('names a file instead of its content', () => {
    const n = noticeOf({
      conversationId: 1,
      messageId: 'm',
      seq: 1,
      senderName: 'A',
      conversationName: 'G',
      payload: { type: 'file', file_id: 'f', filename: 'a.pdf' },
    });
    expect(n.preview).toBe('[File] a.pdf');
  });
});

it('keeps the Topic header within RFC 8030 bounds', () => {
  expect(pushTopicOf(9_007_199_254_740_991)).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
});

import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isDomainError } from '../../domain/errors.ts';
import { invalidSignature, verifyMetaChallenge, verifyMetaSignature, verifyTelegramSecret } from './signatures.ts';

const sign = (body: Buffer, secret: string) => 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');

describe('verifyMetaSignature', () => {
  // Known-answer vector for the same `X-Hub-Signature-256: sha256=<hex>` scheme, published by GitHub:
  // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
  it('accepts the published known-answer vector', () => {
    const header = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(verifyMetaSignature(Buffer.from('Hello, World!'), header, "It's a Secret to Everybody")).toBe(true);
  });

  const body = Buffer.from('{"object":"whatsapp_business_account","entry":[{"id":"310000000000001","changes":[]}]}');
  const secret = 'app-secret-for-tests';

  it('accepts an HMAC-SHA256 of the raw bytes, in either hex case', () => {
    expect(verifyMetaSignature(body, sign(body, secret), secret)).toBe(true);
    expect(verifyMetaSignature(body, 'sha256=' + sign(body, secret).slice(7).toUpperCase(), secret)).toBe(true);
  });

  it('is computed over the bytes, not over re-serialised JSON', () => {
    const spaced = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 2));
    expect(verifyMetaSignature(spaced, sign(body, secret), secret)).toBe(false);
  });

  it('rejects a wrong secret, a changed body and a missing header', () => {
    expect(verifyMetaSignature(body, sign(body, 'other-secret'), secret)).toBe(false);
    expect(verifyMetaSignature(Buffer.concat([body, Buffer.from(' ')]), sign(body, secret), secret)).toBe(false);
    expect(verifyMetaSignature(body, undefined, secret)).toBe(false);
    expect(verifyMetaSignature(body, '', secret)).toBe(false);
  });

  it('rejects malformed headers without throwing', () => {
    const hex = sign(body, secret).slice(7);
    for (const header of [
      hex,
      `sha1=${hex}`,
      `SHA256=${hex}`,
      `sha256=${hex.slice(0, 63)}`,
      `sha256=${hex}00`,
      `sha256=${hex.slice(0, 62)}zz`,
      `sha256= ${hex}`,
      'sha256=',
    ]) {
      expect(verifyMetaSignature(body, header, secret), header).toBe(false);
    }
  });

  it('never matches when no app secret is configured', () => {
    expect(verifyMetaSignature(body, sign(body, ''), '')).toBe(false);
  });
});

describe('verifyTelegramSecret', () => {
  it('accepts exactly the configured secret token', () => {
    expect(verifyTelegramSecret('tg_Secret-123', 'tg_Secret-123')).toBe(true);
  });
  it('rejects a wrong, shorter, longer, differently cased or missing token', () => {
    for (const header of ['tg_Secret-124', 'tg_Secret-12', 'tg_Secret-1234', 'TG_SECRET-123', '', undefined]) {
      expect(verifyTelegramSecret(header, 'tg_Secret-123'), String(header)).toBe(false);
    }
  });
  it('never matches when no secret is configured', () => {
    expect(verifyTelegramSecret('', '')).toBe(false);
  });
});

describe('verifyMetaChallenge', () => {
  const query = { 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-me', 'hub.challenge': '1158201444' };
  it('returns the challenge when the verify token matches', () => {
    expect(verifyMetaChallenge(query, 'verify-me')).toBe('1158201444');
  });
  it('returns nothing for a wrong or missing token, another mode, or no challenge', () => {
    expect(verifyMetaChallenge(query, 'other')).toBeUndefined();
    expect(verifyMetaChallenge({ ...query, 'hub.verify_token': undefined }, 'verify-me')).toBeUndefined();
    expect(verifyMetaChallenge({ ...query, 'hub.mode': 'unsubscribe' }, 'verify-me')).toBeUndefined();
    expect(verifyMetaChallenge({ ...query, 'hub.challenge': '' }, 'verify-me')).toBeUndefined();
    expect(verifyMetaChallenge({ ...query, 'hub.challenge': undefined }, 'verify-me')).toBeUndefined();
  });
  it('refuses repeated query keys (parsed as arrays) and an unset verify token', () => {
    expect(verifyMetaChallenge({ ...query, 'hub.verify_token': ['verify-me', 'verify-me'] }, 'verify-me')).toBeUndefined();
    expect(verifyMetaChallenge({ ...query, 'hub.challenge': ['a', 'b'] }, 'verify-me')).toBeUndefined();
    expect(verifyMetaChallenge({ ...query, 'hub.verify_token': '' }, '')).toBeUndefined();
  });
});

describe('webhook auth errors', () => {
  it('maps a bad signature to the invalid-signature code of kind unauthenticated', () => {
    const e = invalidSignature();
    expect(isDomainError(e) && [e.kind, e.code]).toEqual(['unauthenticated', 'invalid-signature']);
  });
});

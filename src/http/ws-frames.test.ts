import { describe, expect, it } from 'vitest';
import { MAX_SYNC_CONVERSATIONS, parseClientFrame } from './ws-frames.ts';

const codeOf = (text: string) => {
  const r = parseClientFrame(text);
  return 'problem' in r ? r.problem.code : 'ok';
};

describe('parseClientFrame', () => {
  it('accepts each action with its arguments, `type` standing for `action`', () => {
    expect(parseClientFrame('{"action":"ack","conversation_id":3,"seq":0}')).toEqual({ frame: { action: 'ack', conversation_id: 3, seq: 0 } });
    expect(parseClientFrame('{"type":"subscribe","conversation_id":9007199254740991}')).toEqual({
      frame: { action: 'subscribe', type: 'subscribe', conversation_id: 9007199254740991 },
    });
    expect(parseClientFrame('{"action":"sync","since":{"1":5,"22":0}}')).toEqual({ frame: { action: 'sync', since: { 1: 5, 22: 0 } } });
    expect(parseClientFrame('{"action":"sync"}')).toEqual({ frame: { action: 'sync' } });
    expect(codeOf('{"action":"pong"}')).toBe('ok');
  });

  it('refuses integers out of range, floats, negatives, strings and other types as invalid-frame, naming the field', () => {
    for (const bad of ['1e300', '9007199254740992', '9223372036854775808', '99999999999999999999', '1.5', '-1', '0', '"5"', 'true', 'null', '[]', '{}']) {
      const r = parseClientFrame(`{"action":"ack","conversation_id":${bad},"seq":1}`);
      expect(r, bad).toMatchObject({ problem: { code: 'invalid-frame', errors: [{ path: '/conversation_id', message: expect.any(String) }] } });
    }
    for (const bad of ['1e300', '-1', '0.5', '"1"']) expect(codeOf(`{"action":"ack","conversation_id":1,"seq":${bad}}`), bad).toBe('invalid-frame');
  });

  it('bounds sync: ids as decimal keys within 2^53-1, non-negative seqs, at most MAX_SYNC_CONVERSATIONS keys', () => {
    for (const since of [
      '[1]',
      '5',
      '{"x":1}',
      '{"01":1}',
      '{"-1":1}',
      '{"1.5":1}',
      '{"\\u0000":1}',
      '{"9999999999999999":1}',
      '{"1":-1}',
      '{"1":1e300}',
      '{"1":"2"}',
    ]) {
      expect(codeOf(`{"action":"sync","since":${since}}`), since).toBe('invalid-frame');
    }
    const many = Object.fromEntries(Array.from({ length: MAX_SYNC_CONVERSATIONS + 1 }, (_, i) => [i + 1, 0]));
    expect(codeOf(JSON.stringify({ action: 'sync', since: many }))).toBe('invalid-frame');
  });

  it('refuses fields an action does not take', () => {
    expect(parseClientFrame('{"action":"pong","seq":1e300}')).toMatchObject({ problem: { code: 'invalid-frame', errors: [{ path: '/seq' }] } });
    expect(codeOf('{"action":"unsubscribe","conversation_id":1,"extra":"\\u0000"}')).toBe('invalid-frame');
  });

  it('answers invalid-text for an action with NUL or a lone surrogate, unknown-action for others, invalid-frame for non-objects', () => {
    expect(codeOf('{"action":"ack\\u0000"}')).toBe('invalid-text');
    expect(codeOf('{"action":"\\ud800"}')).toBe('invalid-text');
    expect(codeOf('{"action":"sync\\udc00x"}')).toBe('invalid-text');
    expect(codeOf('{"action":"\\u202esync"}')).toBe('unknown-action');
    expect(codeOf('{"action":"toString"}')).toBe('unknown-action');
    expect(codeOf('{"action":"__proto__"}')).toBe('unknown-action');
    expect(codeOf('{"action":5}')).toBe('invalid-frame');
    for (const text of ['', '{', '[1]', 'null', '"ack"', '1e300']) expect(codeOf(text), text).toBe('invalid-frame');
  });

  it('takes typing with a conversation id only', () => {
    expect(parseClientFrame('{"action":"typing","conversation_id":7}')).toEqual({ frame: { action: 'typing', conversation_id: 7 } });
    expect(codeOf('{"action":"typing"}')).toBe('invalid-frame');
    expect(codeOf('{"action":"typing","conversation_id":0}')).toBe('invalid-frame');
    expect(codeOf('{"action":"typing","conversation_id":7,"until":"later"}')).toBe('invalid-frame');
  });

  it('keeps an unknown action short in the error', () => {
    const r = parseClientFrame(JSON.stringify({ action: 'x'.repeat(10_000) }));
    expect('problem' in r && r.problem.error.length).toBeLessThan(100);
  });

  it('checks send frames with the schema of POST /v1/messages and its codes, naming the message', () => {
    const id = '0b7e7f2a-5c1d-4c6e-9a55-2f3a4b5c6d7e';
    const send = (fields: object) => parseClientFrame(JSON.stringify({ action: 'send', message_id: id, conversation_id: 3, ...fields }));
    expect(send({ payload: { type: 'text', content: 'hi' }, channels: ['internal'] })).toEqual({
      frame: { action: 'send', message_id: id, conversation_id: 3, payload: { type: 'text', content: 'hi' }, channels: ['internal'] },
    });
    expect(send({ payload: { type: 'text', content: '' } })).toMatchObject({
      problem: { code: 'validation-failed', message_id: id, detail: expect.any(String) },
    });
    expect(send({ payload: { type: 'text', content: 'a\u0000' } })).toMatchObject({
      problem: { code: 'invalid-text', message_id: id, errors: [{ path: '/payload/content' }] },
    });
    expect(send({ payload: { type: 'text', content: 'hi' }, message_id: 'nope' })).toMatchObject({
      problem: { code: 'validation-failed', message_id: 'nope' },
    });
    expect(send({ payload: { type: 'text', content: 'hi' }, message_id: 7 })).toMatchObject({ problem: { code: 'validation-failed' } });
    expect(send({ payload: { type: 'text', content: 'hi' }, message_id: 7 })).not.toHaveProperty('problem.message_id');
  });
});

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Digest, through } from './streams.ts';

describe('through', () => {
  it('passes a source error to the reader instead of crashing the process', async () => {
    const source = new PassThrough();
    const digest = through(source, new Digest());
    source.write(Buffer.from('abc'));
    source.destroy(new Error('client aborted'));
    // Nobody listens to the digest's 'error' yet: an unhandled one would be thrown here.
    await new Promise((r) => setTimeout(r, 20));
    await expect(async () => {
      for await (const _ of digest) void _;
    }).rejects.toThrow(/aborted|premature/i);
  });

  it('hashes what flows through', async () => {
    const source = new PassThrough();
    const digest = through(source, new Digest(2));
    source.end(Buffer.from('hello'));
    for await (const _ of digest) void _;
    expect(digest.hex()).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(digest.head().toString()).toBe('he');
  });
});

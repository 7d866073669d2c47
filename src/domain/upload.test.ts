import { describe, expect, it } from 'vitest';
import { displayFilename, expectedChunkBytes, missingChunks, normaliseMime, percentage, totalChunks, MiB } from './upload.ts';

describe('chunk arithmetic', () => {
  it('gives every chunk but the last the chunk size, and the last the remainder', () => {
    expect(totalChunks(3 * MiB + 1, MiB)).toBe(4);
    expect(totalChunks(3 * MiB, MiB)).toBe(3);
    expect(expectedChunkBytes(3 * MiB + 1, MiB, 1)).toBe(MiB);
    expect(expectedChunkBytes(3 * MiB + 1, MiB, 4)).toBe(1);
    expect(expectedChunkBytes(3 * MiB, MiB, 3)).toBe(MiB);
  });

  it('lists missing chunks in order and rounds percentages to two decimals', () => {
    expect(missingChunks(5, [4, 1, 2])).toEqual([3, 5]);
    expect(percentage(1, 3)).toBe(33.33);
    expect(percentage(3, 3)).toBe(100);
  });
});

describe('displayFilename', () => {
  it('removes control characters, NUL and bidi overrides but keeps separators as text', () => {
    expect(displayFilename('a\u0000b\u0007c\u202eexe.txt')).toBe('abcexe.txt');
    expect(displayFilename('../../etc/passwd')).toBe('../../etc/passwd');
    expect(displayFilename(' \u0001 ')).toBe('file');
  });

  it('caps the name at 255 whole code points', () => {
    const name = displayFilename('😀'.repeat(10_000));
    expect(Array.from(name)).toHaveLength(255);
    expect(name.endsWith('😀')).toBe(true);
  });
});

describe('normaliseMime', () => {
  it('lower-cases, drops parameters and refuses what is not a media type', () => {
    expect(normaliseMime('Image/PNG; charset=binary')).toBe('image/png');
    expect(normaliseMime(undefined)).toBe('application/octet-stream');
    expect(normaliseMime('not a type')).toBeUndefined();
    expect(normaliseMime('text/')).toBeUndefined();
  });
});

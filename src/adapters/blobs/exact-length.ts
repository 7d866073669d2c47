import { Transform, type TransformCallback } from 'node:stream';

/** A body that is longer or shorter than announced: the store must not keep it. */
export class LengthMismatch extends Error {
  constructor(expected: number, received: number) {
    super(`expected ${expected} bytes, received ${received}${received > expected ? ' or more' : ''}`);
  }
}

/** Passes bytes through and fails the stream as soon as it is known not to be exactly `size` bytes long. */
export function exactLength(size: number): Transform {
  let received = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      received += chunk.length;
      if (received > size) callback(new LengthMismatch(size, received));
      else callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      callback(received === size ? null : new LengthMismatch(size, received));
    },
  });
}

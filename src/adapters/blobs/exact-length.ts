import { Transform, type Readable, type TransformCallback } from 'node:stream';

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

/**
 * Sends a request whose body is `body`, checked to be exactly `size` bytes. HTTP clients (the AWS
 * SDK's included) pipe a body into the socket without watching it for errors: a body that fails
 * (client gone, wrong length) would leave the request waiting forever, so a failure aborts it.
 */
export async function sendChecked<T>(body: Readable, size: number, send: (checked: Readable, abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const checked = exactLength(size);
  let failure: unknown;
  checked.on('error', (e) => {
    failure ??= e;
    controller.abort();
  });
  body.on('error', (e) => checked.destroy(e));
  body.pipe(checked);
  try {
    return await send(checked, controller.signal);
  } catch (e) {
    throw failure ?? e;
  } finally {
    // The caller owns `body` (often an HTTP request whose rest Node discards after the response).
    body.unpipe(checked);
  }
}

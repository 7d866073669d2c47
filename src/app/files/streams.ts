/** Stream pieces for uploads: hashing on the way through, exact slices of a body, concatenation. */
import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform, Writable, pipeline, type TransformCallback } from 'node:stream';

/** Passes bytes through while computing their SHA-256 and count, keeping the first `headLimit` bytes for type sniffing. */
export class Digest extends Transform {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private readonly headParts: Buffer[] = [];
  private headBytes = 0;
  private hexDigest: string | undefined;

  constructor(private readonly headLimit = 0) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.headBytes < this.headLimit) {
      const part = chunk.subarray(0, this.headLimit - this.headBytes);
      this.headParts.push(Buffer.from(part));
      this.headBytes += part.length;
    }
    callback(null, chunk);
  }

  /** The hex SHA-256 of everything that went through (call once the stream has ended). */
  hex(): string {
    return (this.hexDigest ??= this.hash.digest('hex'));
  }

  head(): Buffer {
    return Buffer.concat(this.headParts);
  }
}

/** Passes bytes through and counts them (progress of a body). */
export class ByteCounter extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/**
 * `source` piped into `transform`, with errors of the source passed on (pipe alone drops them).
 * pipeline() keeps an error listener on both ends, so an aborted request that destroys the
 * transform before anyone reads it cannot surface as an unhandled 'error' event (a crash); the
 * reader of `transform` still sees the failure.
 */
export function through<T extends Transform>(source: Readable, transform: T): T {
  pipeline(source, transform, () => undefined);
  return transform;
}

/** A sink that drops what it receives (we only want the Digest on the way). */
export const discard = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });

/** Several streams, opened lazily one after the other, as one. */
export function concatenate(parts: (() => Promise<Readable> | Readable)[]): Readable {
  return Readable.from(
    (async function* () {
      for (const open of parts) for await (const chunk of await open()) yield chunk as Buffer;
    })(),
  );
}

/**
 * Hands out consecutive exact-length slices of one body, so that a body can be cut into chunks
 * while it streams. Each slice must be consumed before the next is taken.
 */
export class ByteSlicer {
  private readonly iterator: AsyncIterator<Buffer>;
  private pending: Buffer | undefined;

  constructor(source: Readable) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  take(length: number): Readable {
    return Readable.from(this.slice(length));
  }

  private async *slice(length: number): AsyncIterable<Buffer> {
    let left = length;
    while (left > 0) {
      let chunk = this.pending ?? (await this.next());
      this.pending = undefined;
      if (chunk.length > left) {
        this.pending = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      yield chunk;
    }
  }

  private async next(): Promise<Buffer> {
    const r = await this.iterator.next();
    if (r.done) throw new Error('the body ended before its announced length');
    return r.value;
  }
}

/**
 * Typed domain errors. Each concrete error extends one of a fixed set of kinds; the HTTP layer
 * maps kinds to status codes (src/http/problem.ts) and `code` is the stable public identifier
 * documented in docs/errors.md.
 */
export type ErrorKind = 'not-found' | 'conflict' | 'forbidden' | 'invalid' | 'unprocessable' | 'unauthenticated' | 'rate-limited' | 'unavailable' | 'too-large';

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    /** Client-safe extra fields merged into the problem document. */
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

const make =
  (kind: ErrorKind) =>
  (code: string, message: string, details: Record<string, unknown> = {}, cause?: unknown) =>
    new DomainError(kind, code, message, details, { cause });

export const notFound = make('not-found');
export const conflict = make('conflict');
export const forbidden = make('forbidden');
export const invalid = make('invalid');
export const unprocessable = make('unprocessable');
export const unauthenticated = make('unauthenticated');
export const rateLimited = make('rate-limited');
export const unavailable = make('unavailable');
export const tooLarge = make('too-large');

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;

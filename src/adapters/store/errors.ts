import { DatabaseError } from '../../ports/database.ts';

// SQLSTATE 08003 connection_does_not_exist: what a closed pool or a closed PGlite means to callers.
const CLOSED = /closed|after calling end|terminat|not open/i;

/** Driver errors → DatabaseError with the SQLSTATE (or socket error code) callers can act on. */
export function toDatabaseError(e: unknown): unknown {
  if (!(e instanceof Error) && !(e && typeof e === 'object' && 'message' in e)) return e;
  const err = e as { code?: unknown; message?: string; constraint?: string };
  const message = err.message ?? 'database error';
  if (typeof err.code === 'string') return new DatabaseError(err.code, message, err.constraint, { cause: e });
  if (CLOSED.test(message)) return new DatabaseError('08003', message, undefined, { cause: e });
  return e;
}

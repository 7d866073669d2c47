/**
 * Claims on upload work (a chunk being stored, a tus PATCH writing): each names the process that
 * holds it and is renewed while bytes keep arriving. A claim is void, and a retry takes it over at
 * once, when its process is gone (src/app/instances.ts) or when no byte arrived for CLAIM_LEASE_SECONDS.
 */
import { isOwnerGoneSql } from '../instances.ts';

/** A claim with no progress for this long is void even though its process lives (a stalled client). */
export const CLAIM_LEASE_SECONDS = 30;
const RENEW_MS = 5_000;

/** SQL: true when a claim (its renewal time and owner as SQL expressions) may be taken over. */
export const isClaimVoidSql = (claimedAt: string, owner: string) =>
  `(${claimedAt} < now() - interval '${CLAIM_LEASE_SECONDS} seconds' OR ${isOwnerGoneSql(owner)})`;

/**
 * Renews a claim every few seconds while `progress()` (bytes received) grows. When a renewal finds
 * the claim taken over (renew resolves false), calls `onLost` so the write stops before it can
 * overwrite the new holder's bytes. Returns a function that stops renewing.
 */
export function keepClaim(progress: () => number, renew: () => Promise<boolean>, onLost: () => void): () => void {
  let seen = progress();
  let isRenewing = false;
  const timer = setInterval(() => {
    const now = progress();
    if (now === seen || isRenewing) return;
    seen = now;
    isRenewing = true;
    renew()
      .then((isHeld) => (isHeld ? undefined : onLost()))
      .catch(() => undefined) // a failed renewal is retried at the next tick; the lease is long enough for a few
      .finally(() => (isRenewing = false));
  }, RENEW_MS);
  timer.unref();
  return () => clearInterval(timer);
}

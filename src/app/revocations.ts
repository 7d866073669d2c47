/** What voids an access token before it expires, as this instance knows it. */
import type { Database } from '../ports/database.ts';

/**
 * A token (by jti), a sign-in family (a refresh-token chain and every access token issued from it),
 * an app's API key (by key id) or a whole app (every key of it).
 */
export interface Revocation {
  kind: 'token' | 'family' | 'app-key' | 'app';
  id: string;
  /** Seconds since the epoch: after this no access token it covers can still be valid. */
  expiresAt: number;
}

export type RevokedReason = 'token-revoked' | 'user-gone';

/** How often the lists are reloaded from the database (announcements make most revocations immediate). */
export const RELOAD_MS = 5000;

/**
 * Revoked tokens and families, and users that no longer exist. Revocations are announced to every
 * instance at once (remember); the database holds them too and is reloaded at most every 5 s, which
 * covers a lost announcement and users deleted straight from the database.
 */
export class Revocations {
  /** Keys `token:<jti>` / `family:<id>` → expiry in ms. */
  private revoked = new Map<string, number>();
  /** User ids are never reused, so a user once gone stays gone. */
  private readonly goneUsers = new Set<number>();
  private loadedAt = 0;

  constructor(
    private readonly db: Database,
    private readonly accessTtlSeconds: number,
  ) {}

  remember(r: Revocation): void {
    this.revoked.set(`${r.kind}:${r.id}`, r.expiresAt * 1000);
  }

  /** Why a token of this jti, family and user is void, if it is. */
  reasonFor(token: { jti: string; familyId?: string; userId: number; app?: { appId: number; keyId: string } }): RevokedReason | undefined {
    if (this.goneUsers.has(token.userId)) return 'user-gone';
    if (this.revoked.has(`token:${token.jti}`) || (token.familyId && this.revoked.has(`family:${token.familyId}`))) return 'token-revoked';
    if (token.app && (this.revoked.has(`app-key:${token.app.keyId}`) || this.revoked.has(`app:${token.app.appId}`))) return 'token-revoked';
    return undefined;
  }

  /** Reloads from the database when the last load is older than RELOAD_MS; `userIds` are the users whose tokens are in use here. */
  async refresh(userIds: () => Iterable<number>): Promise<void> {
    const now = Date.now();
    if (now - this.loadedAt < RELOAD_MS) return;
    this.loadedAt = now;
    const tokens = await this.db.query('SELECT jti, expires_at FROM revoked_access_tokens WHERE expires_at > now()');
    // A family's access tokens were all issued before it was revoked: they expire within one TTL of that.
    const families = await this.db.query(
      `SELECT family_id::text AS id, max(revoked_at) + make_interval(secs => $1) AS expires_at
         FROM refresh_tokens WHERE revoked_at > now() - make_interval(secs => $1) GROUP BY family_id`,
      [this.accessTtlSeconds],
    );
    const loaded = new Map<string, number>([
      ...tokens.map((r) => [`token:${r.jti}`, new Date(r.expires_at as string).getTime()] as const),
      ...families.map((r) => [`family:${r.id}`, new Date(r.expires_at as string).getTime()] as const),
    ]);
    // A revocation made while these queries ran may be missing from their result: keep every
    // local entry until its tokens expire, as the tables do, so a revocation is never forgotten.
    for (const [key, expiresAt] of this.revoked) if (expiresAt > now && !loaded.has(key)) loaded.set(key, expiresAt);
    this.revoked = loaded;
    await this.findGoneUsers([...new Set(userIds())].filter((id) => !this.goneUsers.has(id)));
  }

  private async findGoneUsers(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    const rows = await this.db.query('SELECT id FROM users WHERE id = ANY($1::bigint[])', [ids]);
    const present = new Set(rows.map((r) => Number(r.id)));
    for (const id of ids) if (!present.has(id)) this.goneUsers.add(id);
  }
}

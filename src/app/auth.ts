/** Registration, password and client-credential logins, refresh-token rotation, revocation. */
import { createHash, createSecretKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Database, Sql } from '../ports/database.ts';
import type { RateLimiter } from '../ports/rate-limiter.ts';
import { conflict, invalid, notFound, unauthenticated } from '../domain/errors.ts';
import { USERNAME, hasBidiControl, usernameKey } from '../domain/user.ts';
import { codePointLength } from '../domain/text.ts';
import { isUniqueViolation } from './sql-errors.ts';
import { LoginThrottle, type LoginThrottleSettings } from './login-throttle.ts';
import { Revocations, type Revocation } from './revocations.ts';
import type { Scope } from '../domain/scopes.ts';

export interface AuthSettings {
  jwtSecret: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  registration: 'open' | 'closed';
  loginThrottle: LoginThrottleSettings;
}

export interface PublicUser {
  user_id: number;
  username: string;
  display_name: string;
  created_at: string;
  /** True for an app's bot user. */
  is_bot: boolean;
}

export interface TokenPair {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
}

export interface Principal {
  userId: number;
  username: string;
  jti: string;
  expiresAt: number;
  /** The sign-in (refresh-token family) the token was issued for; absent in tokens issued before families were tracked. */
  familyId?: string;
  /** Set when the caller is an app's API key: userId is then the app's bot user, and only these scopes are allowed. */
  app?: { appId: number; keyId: string; scopes: readonly Scope[] };
}

const VERIFIED_CACHE_SIZE = 10_000;
const SCOPE = 'messages:read messages:write files:read files:write';
// Verifying against this when the user is unknown makes both answers cost the same time.
let dummyHash: Promise<string> | undefined;

export const toPublicUser = (r: Record<string, unknown>): PublicUser => ({
  user_id: Number(r.id),
  username: String(r.username),
  display_name: String(r.display_name),
  created_at: new Date(r.created_at as string).toISOString(),
  is_bot: r.kind === 'bot',
});

export class Auth {
  private readonly key: KeyObject;
  /** Recently verified tokens: a hot client's token is checked once, not on every request. */
  private readonly verified = new Map<string, Principal>();
  private readonly revocations: Revocations;
  private readonly throttle: LoginThrottle;
  constructor(
    private readonly db: Database,
    private readonly settings: AuthSettings,
    limiter: RateLimiter,
    /** Told of each token or family revoked here, so that other instances refuse its tokens at once too. */
    private readonly onRevoked: (revocation: Revocation) => Promise<void> = async () => undefined,
  ) {
    this.key = createSecretKey(Buffer.from(settings.jwtSecret, 'utf8'));
    this.revocations = new Revocations(db, settings.accessTtlSeconds);
    this.throttle = new LoginThrottle(limiter, settings.loginThrottle);
  }

  /** Creates a user; 409 username-taken (also for a name that differs only in case). Registration may be closed (404 in HTTP). */
  async register(input: { username: string; password: string; display_name?: string }, options: { isAdmin?: boolean } = {}): Promise<PublicUser> {
    if (this.settings.registration === 'closed' && !options.isAdmin) throw notFound('registration-closed', 'Registration is closed on this server');
    if (!USERNAME.test(input.username))
      throw invalid('validation-failed', 'Username must be 3-32 letters, digits, dot, dash or underscore', {
        errors: [{ path: '/username', message: 'must match ^[A-Za-z0-9_.-]{3,32}$' }],
      });
    if (codePointLength(input.password) < 8)
      throw invalid('validation-failed', 'Password must have at least 8 characters', {
        errors: [{ path: '/password', message: 'must have at least 8 characters' }],
      });
    if (input.display_name !== undefined && hasBidiControl(input.display_name)) {
      throw invalid('invalid-text', 'display_name must not contain bidirectional control characters', {
        errors: [
          { path: '/display_name', message: 'must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C)' },
        ],
      });
    }
    const passwordHash = await hash(input.password);
    try {
      const rows = await this.db.query(
        'INSERT INTO users (username, username_key, display_name, password_hash) VALUES ($1, $2, $3, $4) RETURNING id, username, display_name, kind, created_at',
        [input.username, usernameKey(input.username), input.display_name?.trim() || input.username, passwordHash],
      );
      return toPublicUser(rows[0]);
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict('username-taken', `The username "${input.username}" is taken`);
      throw e;
    }
  }

  /**
   * Password grant; the same 401 for an unknown user and a wrong password, and the same 429 once
   * the name has too many failures. Names match without case; accounts that predate that rule and
   * differ only in case sign in with their exact spelling (it wins over the case-less match).
   */
  async login(username: string, password: string): Promise<TokenPair> {
    return this.throttle.attempt(username, async () => {
      const rows = await this.db.query(
        'SELECT id, username, password_hash FROM users WHERE username_key = $1 OR username = $2 ORDER BY username = $2 DESC LIMIT 1',
        [usernameKey(username), username],
      );
      const user = rows[0];
      dummyHash ??= hash('chat4all-timing-equaliser');
      const isValid = await verify(user ? String(user.password_hash) : await dummyHash, password).catch(() => false);
      if (!user || !isValid) throw unauthenticated('invalid-credentials', 'Wrong username or password');
      return this.issue(this.db, Number(user.id), String(user.username), randomUUID());
    });
  }

  /** Rotates a refresh token. Reusing a rotated token revokes its whole family, access tokens included. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const tokenHash = sha256(refreshToken);
    const outcome = await this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `SELECT r.id, r.family_id, r.user_id, r.expires_at, r.rotated_at, r.revoked_at, u.username
           FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE r.token_hash = $1 FOR UPDATE OF r`,
        [tokenHash],
      );
      const row = rows[0];
      if (!row) return { error: 'invalid-refresh-token' } as const;
      if (row.revoked_at) return { error: 'invalid-refresh-token' } as const;
      if (row.rotated_at) {
        await tx.query('UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL', [row.family_id]);
        return { error: 'refresh-token-reused', familyId: String(row.family_id) } as const;
      }
      if (new Date(row.expires_at as string).getTime() <= Date.now()) return { error: 'invalid-refresh-token' } as const;
      await tx.query('UPDATE refresh_tokens SET rotated_at = now() WHERE id = $1', [row.id]);
      return { pair: await this.issue(tx, Number(row.user_id), String(row.username), String(row.family_id)) };
    });
    if ('error' in outcome) {
      const reused = outcome.error === 'refresh-token-reused';
      if (outcome.familyId) await this.revokeFamily(outcome.familyId);
      throw unauthenticated(
        outcome.error!,
        reused ? 'This refresh token was already used; every session of its family was signed out' : 'The refresh token is unknown, expired or revoked',
      );
    }
    return outcome.pair;
  }

  /**
   * RFC 7009: revokes a refresh token's family (and, as §2.1 advises, the access tokens issued
   * from it) or one access token; unknown tokens are fine.
   */
  async revoke(token: string): Promise<void> {
    const rows = await this.db.query('SELECT family_id FROM refresh_tokens WHERE token_hash = $1', [sha256(token)]);
    if (rows[0]) {
      await this.db.query('UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL', [rows[0].family_id]);
      await this.revokeFamily(String(rows[0].family_id));
      return;
    }
    const principal = await this.verifyAccessToken(token).catch(() => undefined);
    if (principal) {
      await this.db.query('INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, to_timestamp($2)) ON CONFLICT DO NOTHING', [
        principal.jti,
        principal.expiresAt,
      ]);
      await this.announce({ kind: 'token', id: principal.jti, expiresAt: principal.expiresAt });
    }
  }

  /** Records a revocation, e.g. one another instance announced. */
  rememberRevoked(revocation: Revocation): void {
    this.revocations.remember(revocation);
  }

  /** Verifies an access JWT (HS256 only, so `alg:none` and algorithm confusion fail) and that it is neither revoked nor of a deleted user. */
  async verifyAccessToken(token: string): Promise<Principal> {
    await this.revocations.refresh(() => [...this.verified.values()].map((p) => p.userId));
    const cached = this.verified.get(token);
    if (cached && cached.expiresAt * 1000 > Date.now()) return this.unlessRevoked(cached);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] }));
    } catch (e) {
      const isExpired = e instanceof joseErrors.JWTExpired;
      throw unauthenticated(isExpired ? 'token-expired' : 'invalid-token', isExpired ? 'The access token has expired' : 'The access token is invalid');
    }
    if (payload.type !== 'access' || typeof payload.user_id !== 'number' || typeof payload.jti !== 'string' || typeof payload.exp !== 'number') {
      throw unauthenticated('invalid-token', 'The access token is invalid');
    }
    const familyId = typeof payload.fid === 'string' ? payload.fid : undefined;
    const principal = this.unlessRevoked({ userId: payload.user_id, username: String(payload.username), jti: payload.jti, expiresAt: payload.exp, familyId });
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.clear();
    this.verified.set(token, principal);
    return principal;
  }

  async me(userId: number): Promise<PublicUser> {
    const rows = await this.db.query('SELECT id, username, display_name, kind, created_at FROM users WHERE id = $1', [userId]);
    if (!rows[0]) throw userGone();
    return toPublicUser(rows[0]);
  }

  /** Creates user1…user5 (password123) when the database has no users. Returns how many were made. */
  async ensureDemoUsers(): Promise<number> {
    const [{ n }] = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    if (n > 0) return 0;
    for (let i = 1; i <= 5; i++) {
      await this.register({ username: `user${i}`, password: 'password123', display_name: `User ${i}` }, { isAdmin: true }).catch((e) => {
        if (!(e instanceof Error && 'code' in e && e.code === 'username-taken')) throw e;
      });
    }
    return 5;
  }

  private async issue(sql: Sql, userId: number, username: string, familyId: string): Promise<TokenPair> {
    const jti = randomUUID();
    const accessToken = await new SignJWT({ user_id: userId, username, scope: SCOPE, type: 'access', fid: familyId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(userId))
      .setJti(jti)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + this.settings.accessTtlSeconds)
      .sign(this.key);
    const refreshToken = randomBytes(32).toString('base64url');
    await sql.query('INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))', [
      randomUUID(),
      familyId,
      userId,
      sha256(refreshToken),
      this.settings.refreshTtlSeconds,
    ]);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: this.settings.accessTtlSeconds, refresh_token: refreshToken, scope: SCOPE };
  }

  /** The principal, unless its token, family, key or app was revoked or its user deleted (401). */
  unlessRevoked(principal: Principal): Principal {
    const reason = this.revocations.reasonFor(principal);
    if (reason === 'user-gone') throw userGone();
    if (reason) throw unauthenticated('token-revoked', 'The access token was revoked');
    return principal;
  }

  /** Every access token of the family was issued before now, so none outlives now + the access TTL. */
  private async revokeFamily(familyId: string): Promise<void> {
    await this.announce({ kind: 'family', id: familyId, expiresAt: Math.ceil(Date.now() / 1000) + this.settings.accessTtlSeconds });
  }

  /** Refuses the revoked credentials here at once and tells the other instances (also used for API keys, src/app/apps.ts). */
  async announce(revocation: Revocation): Promise<void> {
    this.revocations.remember(revocation);
    await this.onRevoked(revocation);
  }
}

const userGone = () => unauthenticated('user-gone', 'The user of this token no longer exists; sign in again');

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

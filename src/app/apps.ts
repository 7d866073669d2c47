/**
 * Apps (integrations, bots) and their API keys. An app acts as a bot user of its own: it is added
 * to conversations and sends messages like a person, and sees only the conversations it is in.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Database, Sql } from '../ports/database.ts';
import { conflict, invalid, notFound, unauthenticated } from '../domain/errors.ts';
import type { Scope } from '../domain/scopes.ts';
import { codePointLength } from '../domain/text.ts';
import { hasBidiControl, usernameKey } from '../domain/user.ts';
import { isUniqueViolation } from './sql-errors.ts';
import type { Auth, Principal } from './auth.ts';
import { RELOAD_MS } from './revocations.ts';

export const API_KEY_PREFIX = 'c4a_';
export const MAX_APP_NAME = 100;
/** A password hash no password matches: a bot user never signs in with a password. */
const NO_PASSWORD = '!bot';
/** Long enough that every instance's cached copy of a revoked key has expired (the cache keeps a key RELOAD_MS at most). */
const REVOCATION_MEMORY_SECONDS = 60;
const CACHE_SIZE = 10_000;

export interface AppKeyView {
  key_id: string;
  /** The key's first characters, to tell keys apart (the key itself is never shown again). */
  prefix: string;
  created_at: string;
  /** Set while a rotated-out key is in its grace period. */
  expires_at: string | null;
}

export interface AppView {
  app_id: number;
  name: string;
  scopes: Scope[];
  /** The app's bot user: add it to conversations by this id. */
  bot_user_id: number;
  bot_username: string;
  created_at: string;
  keys: AppKeyView[];
}

export interface IssuedKey {
  /** Shown once: only its hash is stored. */
  api_key: string;
  key_id: string;
  prefix: string;
}

export interface Rotation extends IssuedKey {
  grace_seconds: number;
  /** When the keys issued before this rotation stop working. */
  previous_keys_expire_at: string;
}

export class Apps {
  /** Recently verified keys by hash, kept at most RELOAD_MS: revocations are announced, and the database is asked again after that. */
  private readonly verified = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly db: Database,
    private readonly auth: Auth,
    private readonly settings: { keyGraceSeconds: number },
  ) {}

  /** Creates the app, its bot user and its first key. 400 for a blank name, 409 app-name-taken for a name the owner already uses. */
  async create(ownerId: number, input: { name: string; scopes: Scope[] }): Promise<AppView & IssuedKey> {
    const name = checkName(input.name);
    const scopes = [...new Set(input.scopes)];
    try {
      return await this.db.transaction(async (tx) => {
        const botName = `bot-${randomBytes(6).toString('hex')}`;
        const [bot] = await tx.query(
          "INSERT INTO users (username, username_key, display_name, password_hash, kind) VALUES ($1, $2, $3, $4, 'bot') RETURNING id",
          [botName, usernameKey(botName), name, NO_PASSWORD],
        );
        const [row] = await tx.query('INSERT INTO apps (owner_id, bot_user_id, name, scopes) VALUES ($1, $2, $3, $4) RETURNING id, created_at', [
          ownerId,
          bot.id,
          name,
          scopes,
        ]);
        const key = await insertKey(tx, Number(row.id));
        const view: AppView = {
          app_id: Number(row.id),
          name,
          scopes,
          bot_user_id: Number(bot.id),
          bot_username: botName,
          created_at: iso(row.created_at),
          keys: [{ key_id: key.key_id, prefix: key.prefix, created_at: iso(row.created_at), expires_at: null }],
        };
        return { ...view, ...key };
      }, 'app.create');
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict('app-name-taken', `You already have an app named "${name}"`);
      throw e;
    }
  }

  /** The owner's live apps with their usable keys (never the keys themselves). */
  async list(ownerId: number): Promise<{ items: AppView[] }> {
    const rows = await this.db.query(
      `SELECT a.id, a.name, a.scopes, a.bot_user_id, u.username AS bot_username, a.created_at,
              coalesce(json_agg(json_build_object('key_id', k.id, 'prefix', k.prefix, 'created_at', k.created_at, 'expires_at', k.expires_at)
                       ORDER BY k.created_at) FILTER (WHERE k.id IS NOT NULL), '[]') AS keys
         FROM apps a JOIN users u ON u.id = a.bot_user_id
         LEFT JOIN app_keys k ON k.app_id = a.id AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
        WHERE a.owner_id = $1 AND a.revoked_at IS NULL
        GROUP BY a.id, u.username ORDER BY a.id`,
      [ownerId],
    );
    return {
      items: rows.map((r) => ({
        app_id: Number(r.id),
        name: String(r.name),
        scopes: r.scopes as Scope[],
        bot_user_id: Number(r.bot_user_id),
        bot_username: String(r.bot_username),
        created_at: iso(r.created_at),
        keys: (typeof r.keys === 'string' ? JSON.parse(r.keys) : (r.keys as Record<string, unknown>[])).map((k: Record<string, unknown>) => ({
          key_id: String(k.key_id),
          prefix: String(k.prefix),
          created_at: iso(k.created_at),
          expires_at: k.expires_at ? iso(k.expires_at) : null,
        })),
      })),
    };
  }

  /**
   * Issues a new key. The keys issued before keep working for the grace period (so that a deployment
   * can switch without downtime), then stop; a key already in a shorter grace keeps its end.
   */
  async rotate(ownerId: number, appId: number): Promise<Rotation> {
    const grace = this.settings.keyGraceSeconds;
    return this.db.transaction(async (tx) => {
      await requireOwnApp(tx, ownerId, appId, true);
      const [{ ends }] = await tx.query('SELECT now() + make_interval(secs => $1) AS ends', [grace]);
      await tx.query('UPDATE app_keys SET expires_at = $2 WHERE app_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)', [appId, ends]);
      const key = await insertKey(tx, appId);
      return { ...key, grace_seconds: grace, previous_keys_expire_at: iso(ends) };
    }, 'app.rotate');
  }

  /** Revokes one key at once, on every instance. */
  async revokeKey(ownerId: number, appId: number, keyId: string): Promise<void> {
    await requireOwnApp(this.db, ownerId, appId);
    const rows = await this.db.query('UPDATE app_keys SET revoked_at = now() WHERE id = $1 AND app_id = $2 AND revoked_at IS NULL RETURNING id', [
      keyId,
      appId,
    ]);
    if (!rows[0]) throw notFound('app-key-not-found', `App ${appId} has no live key ${keyId}`);
    await this.auth.announce({ kind: 'app-key', id: keyId, expiresAt: revocationExpiry() });
  }

  /** Deletes the app: every key stops at once, on every instance. Its bot user stays, so that its messages keep their sender. */
  async revoke(ownerId: number, appId: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await requireOwnApp(tx, ownerId, appId, true);
      await tx.query('UPDATE apps SET revoked_at = now() WHERE id = $1', [appId]);
      await tx.query('UPDATE app_keys SET revoked_at = now() WHERE app_id = $1 AND revoked_at IS NULL', [appId]);
    }, 'app.revoke');
    await this.auth.announce({ kind: 'app', id: String(appId), expiresAt: revocationExpiry() });
  }

  /** The principal of an API key: its app's bot user and scopes. 401 invalid-api-key for an unknown, expired or revoked key. */
  async verifyKey(key: string): Promise<Principal> {
    const keyHash = hashKey(key);
    const now = Date.now();
    const cached = this.verified.get(keyHash);
    if (cached && cached.until > now) return this.auth.unlessRevoked(cached.principal);
    const rows = await this.db.query(
      `SELECT k.id, k.expires_at, a.id AS app_id, a.scopes, a.bot_user_id, u.username
         FROM app_keys k JOIN apps a ON a.id = k.app_id JOIN users u ON u.id = a.bot_user_id
        WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND a.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())`,
      [keyHash],
    );
    const row = rows[0];
    if (!row) {
      this.verified.delete(keyHash);
      throw unauthenticated('invalid-api-key', 'The API key is unknown, expired or revoked');
    }
    const keyEnds = row.expires_at ? new Date(row.expires_at as string).getTime() : Infinity;
    const principal: Principal = {
      userId: Number(row.bot_user_id),
      username: String(row.username),
      jti: `app-key:${row.id}`,
      expiresAt: Math.floor(Math.min(keyEnds, now + 365 * 86_400_000) / 1000),
      app: { appId: Number(row.app_id), keyId: String(row.id), scopes: row.scopes as Scope[] },
    };
    if (this.verified.size >= CACHE_SIZE) this.verified.clear();
    this.verified.set(keyHash, { principal, until: Math.min(now + RELOAD_MS, keyEnds) });
    return this.auth.unlessRevoked(principal);
  }
}

function checkName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0 || codePointLength(name) > MAX_APP_NAME)
    throw invalid('validation-failed', `The app name must have 1 to ${MAX_APP_NAME} characters`, {
      errors: [{ path: '/name', message: `must have 1 to ${MAX_APP_NAME} characters besides surrounding spaces` }],
    });
  // The name is the bot's display name: the same rule as people's display names.
  if (hasBidiControl(name))
    throw invalid('invalid-text', 'The app name must not contain bidirectional control characters', {
      errors: [{ path: '/name', message: 'must not contain bidirectional control characters' }],
    });
  return name;
}

async function requireOwnApp(sql: Sql, ownerId: number, appId: number, isLocking = false): Promise<void> {
  const rows = await sql.query(`SELECT 1 FROM apps WHERE id = $1 AND owner_id = $2 AND revoked_at IS NULL${isLocking ? ' FOR UPDATE' : ''}`, [appId, ownerId]);
  // Someone else's app is "not found" too: ids are not confirmed to strangers.
  if (!rows[0]) throw notFound('app-not-found', `You have no app ${appId}`);
}

/**
 * 256 random bits, so the key cannot be guessed or brute-forced from its hash: one fast SHA-256 is
 * enough (a slow password hash such as Argon2 only helps low-entropy secrets and would cost every
 * request). The hash is unkeyed so that rotating JWT_SECRET_KEY leaves API keys working.
 */
async function insertKey(sql: Sql, appId: number): Promise<IssuedKey> {
  const apiKey = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  const keyId = randomUUID();
  const prefix = apiKey.slice(0, API_KEY_PREFIX.length + 6);
  await sql.query('INSERT INTO app_keys (id, app_id, key_hash, prefix) VALUES ($1, $2, $3, $4)', [keyId, appId, hashKey(apiKey), prefix]);
  return { api_key: apiKey, key_id: keyId, prefix };
}

const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');
const revocationExpiry = () => Math.ceil(Date.now() / 1000) + REVOCATION_MEMORY_SECONDS;
const iso = (v: unknown) => new Date(v as string).toISOString();

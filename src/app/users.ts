import type { Database } from '../ports/database.ts';
import { notFound } from '../domain/errors.ts';

export interface UserSummary {
  user_id: number;
  username: string;
  display_name: string;
  is_bot: boolean;
}

/** User directory: prefix search and lookup. */
export class Users {
  constructor(private readonly db: Database) {}

  async search(query: string, limit: number): Promise<{ items: UserSummary[] }> {
    // Escape LIKE wildcards: the query is a literal prefix.
    const prefix = query.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
    const rows = await this.db.query('SELECT id, username, display_name, kind FROM users WHERE lower(username) LIKE lower($1) ORDER BY username LIMIT $2', [
      prefix,
      limit,
    ]);
    return { items: rows.map(toSummary) };
  }

  async get(userId: number): Promise<UserSummary & { created_at: string }> {
    const rows = await this.db.query('SELECT id, username, display_name, kind, created_at FROM users WHERE id = $1', [userId]);
    if (!rows[0]) throw notFound('user-not-found', `User ${userId} does not exist`);
    return { ...toSummary(rows[0]), created_at: new Date(rows[0].created_at as string).toISOString() };
  }

  async list(limit: number): Promise<(UserSummary & { created_at: string })[]> {
    const rows = await this.db.query('SELECT id, username, display_name, kind, created_at FROM users ORDER BY id LIMIT $1', [limit]);
    return rows.map((r) => ({ ...toSummary(r), created_at: new Date(r.created_at as string).toISOString() }));
  }
}

const toSummary = (r: Record<string, unknown>): UserSummary => ({
  user_id: Number(r.id),
  username: String(r.username),
  display_name: String(r.display_name),
  is_bot: r.kind === 'bot',
});

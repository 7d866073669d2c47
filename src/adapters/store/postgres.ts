import pg from 'pg';
import { type Database, type Row, type Sql } from '../../ports/database.ts';
import { toDatabaseError } from './errors.ts';

// BIGINT and NUMERIC as numbers: ids and counters stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

/** PostgreSQL 15+ through a `pg` connection pool. */
export class PostgresDatabase implements Database {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private isClosed = false;

  constructor(url: string, poolSize: number, onError: (e: Error) => void = () => undefined) {
    this.pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.pool.on('error', onError);
  }

  get poolStats(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  async query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]> {
    try {
      const result = await this.pool.query<T>(text, params as unknown[] | undefined);
      return result.rows;
    } catch (e) {
      throw toDatabaseError(e);
    }
  }

  async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw toDatabaseError(e);
    }
    const tx: Sql = {
      query: async <R extends Row>(text: string, params?: readonly unknown[]) => {
        try {
          return (await client.query<R>(text, params as unknown[] | undefined)).rows;
        } catch (e) {
          throw toDatabaseError(e);
        }
      },
    };
    let isBroken = false;
    try {
      await tx.query('BEGIN');
      const result = await work(tx);
      await tx.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {
        isBroken = true;
      });
      throw e;
    } finally {
      client.release(isBroken);
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await this.pool.end();
  }
}


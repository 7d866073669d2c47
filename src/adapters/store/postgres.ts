import pg from 'pg';
import { type Database, type Row, type Sql, type TransactionObserver } from '../../ports/database.ts';
import { toDatabaseError } from './errors.ts';
import { timed, type QueryObserver } from './operation.ts';

// BIGINT and NUMERIC as numbers: ids and counters stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

/**
 * Queries with parameters run as named prepared statements: PostgreSQL parses and plans each text
 * once per connection instead of on every call, which is most of its CPU for our short hot
 * statements (the accept statement above all). Our SQL texts are constants, so the set stays
 * small; the cap guards against a caller building texts dynamically. (Behind PgBouncer, use 1.21+
 * with max_prepared_statements set.)
 */
const MAX_PREPARED = 300;
const statementNames = new Map<string, string>();

function statement(text: string, params?: readonly unknown[]): pg.QueryConfig {
  const values = params as unknown[] | undefined;
  if (!values || values.length === 0) return { text, values };
  let name = statementNames.get(text);
  if (!name && statementNames.size < MAX_PREPARED) statementNames.set(text, (name = `chat4all_${statementNames.size + 1}`));
  return name ? { name, text, values } : { text, values };
}

/** PostgreSQL 15+ through a `pg` connection pool. */
export class PostgresDatabase implements Database {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private isClosed = false;

  constructor(
    private readonly url: string,
    poolSize: number,
    onError: (e: Error) => void = () => undefined,
    private readonly observe: TransactionObserver = () => undefined,
    private readonly observeQuery?: QueryObserver,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.pool.on('error', onError);
  }

  get poolStats(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  async query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]> {
    try {
      const result = await timed(this.observeQuery, text, () => this.pool.query<T>(statement(text, params)));
      return result.rows;
    } catch (e) {
      throw toDatabaseError(e);
    }
  }

  async transaction<T>(work: (tx: Sql) => Promise<T>, name = 'unnamed'): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw toDatabaseError(e);
    }
    const tx: Sql = {
      query: async <R extends Row>(text: string, params?: readonly unknown[]) => {
        try {
          return (await timed(this.observeQuery, text, () => client.query<R>(statement(text, params)))).rows;
        } catch (e) {
          throw toDatabaseError(e);
        }
      },
    };
    let isBroken = false;
    // Measured from BEGIN: waiting for a pool connection shows in chat4all_db_pool_connections.
    const started = performance.now();
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
      this.observe(name, (performance.now() - started) / 1000);
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async listen(channel: string, onNotify: () => void): Promise<() => Promise<void>> {
    let client: pg.Client | undefined;
    let isStopped = false;
    let retry: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      const next = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
      // A dropped LISTEN connection is replaced a second later; the listener's poll covers the gap.
      const reconnect = () => {
        if (client !== next) return;
        client = undefined;
        next.end().catch(() => undefined);
        if (!isStopped) retry = setTimeout(() => void connect().catch(reconnect), 1000).unref();
      };
      next.on('error', reconnect);
      next.on('end', reconnect);
      next.on('notification', (n) => {
        if (n.channel === channel) onNotify();
      });
      client = next;
      await next.connect();
      await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    };
    try {
      await connect();
    } catch (e) {
      throw toDatabaseError(e);
    }
    return async () => {
      isStopped = true;
      clearTimeout(retry);
      const last = client;
      client = undefined;
      await last?.end().catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await this.pool.end();
  }
}

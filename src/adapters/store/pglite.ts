import { PGlite, types } from '@electric-sql/pglite';
import { type Database, type Row, type Sql, type TransactionObserver } from '../../ports/database.ts';
import { toDatabaseError } from './errors.ts';
import { takeLock } from './dir-lock.ts';
import { timed, type QueryObserver } from './operation.ts';

/**
 * PostgreSQL compiled to WASM, embedded in the process, data under DATA_DIR/db.
 * PGlite has a single connection, so every statement and transaction is queued here: a statement
 * issued while another caller's transaction is open would otherwise run inside that transaction.
 */
export class PgliteDatabase implements Database {
  readonly kind = 'pglite';
  private tail: Promise<unknown> = Promise.resolve();
  private isClosed = false;

  private constructor(
    private readonly pg: PGlite,
    private readonly unlock: () => void,
    private readonly observe: TransactionObserver,
    private readonly observeQuery?: QueryObserver,
  ) {}

  /**
   * Opens (or creates) the database in `dataDir`; `undefined` means in memory. PGlite does not
   * guard its directory, and a second process writing to it loses data silently: `lockFile`
   * makes a second opener fail with DatabaseInUse instead.
   */
  static async open(
    dataDir: string | undefined,
    options: { lockFile?: string; onTransaction?: TransactionObserver; onQuery?: QueryObserver } = {},
  ): Promise<PgliteDatabase> {
    const unlock = options.lockFile ? takeLock(options.lockFile) : () => undefined;
    try {
      const pg = await PGlite.create(dataDir ?? 'memory://', {
        parsers: { [types.INT8]: (v: string) => Number(v), [types.NUMERIC]: (v: string) => Number(v) },
      });
      return new PgliteDatabase(pg, unlock, options.onTransaction ?? (() => undefined), options.onQuery);
    } catch (e) {
      unlock();
      throw e;
    }
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** One statement on the connection (the caller holds it), timed for the query metric. */
  private async run<T extends Row>(text: string, params?: readonly unknown[]): Promise<T[]> {
    try {
      const result = await timed(this.observeQuery, text, () => this.pg.query<T>(text, params as unknown[] | undefined));
      return result.rows;
    } catch (e) {
      throw toDatabaseError(e);
    }
  }

  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]> {
    return this.exclusive(() => this.run<T>(text, params));
  }

  transaction<T>(work: (tx: Sql) => Promise<T>, name = 'unnamed'): Promise<T> {
    return this.exclusive(async () => {
      // Measured from BEGIN: the wait for the single connection is not the transaction's.
      const started = performance.now();
      await this.run('BEGIN');
      const tx: Sql = { query: (text, params) => this.run(text, params) };
      try {
        const result = await work(tx);
        await this.run('COMMIT');
        return result;
      } catch (e) {
        await this.run('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        this.observe(name, (performance.now() - started) / 1000);
      }
    });
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async listen(channel: string, onNotify: () => void): Promise<() => Promise<void>> {
    // One process holds the embedded database, so this hears the process's own NOTIFYs.
    const stop = await this.exclusive(() => this.pg.listen(channel, onNotify));
    return () => this.exclusive(() => stop());
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    try {
      await this.exclusive(() => this.pg.close());
    } finally {
      this.unlock();
    }
  }
}

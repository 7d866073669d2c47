/** A row as returned by the driver: column name → value. */
export type Row = Record<string, unknown>;

/** Something that runs SQL: the database itself or an open transaction. */
export interface Sql {
  /** Runs one statement with $1… parameters; returns the rows (empty for non-SELECT without RETURNING). */
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

/**
 * The relational store. The same SQL (PostgreSQL dialect) runs on PGlite and PostgreSQL.
 * Adapters translate driver errors into DatabaseError with a SQLSTATE `code`.
 */
export interface Database extends Sql {
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
   * `name` labels its duration (BEGIN to COMMIT or ROLLBACK) in the transaction metric.
   */
  transaction<T>(work: (tx: Sql) => Promise<T>, name?: string): Promise<T>;
  /** Round-trip check for readiness probes; throws when the database does not answer. */
  ping(): Promise<void>;
  /**
   * Calls `onNotify` for each NOTIFY on `channel` from any session (LISTEN on a connection of its
   * own); resolves with a function that stops listening. Best effort: a lost connection is
   * re-established, and notifications sent meanwhile are lost, so listeners keep a slow poll.
   */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  /** Name of the technology for logs and /ready ("pglite" | "postgres"). */
  readonly kind: string;
  /** Releases connections; idempotent. */
  close(): Promise<void>;
}

/** Told the duration of each transaction, from BEGIN to COMMIT or ROLLBACK, with its name. */
export type TransactionObserver = (name: string, seconds: number) => void;

/** A driver error with its SQLSTATE, e.g. 23505 unique_violation. */
export class DatabaseError extends Error {
  constructor(
    readonly sqlState: string | undefined,
    message: string,
    readonly constraint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  get isUniqueViolation(): boolean {
    return this.sqlState === '23505';
  }
  /**
   * The database did not answer, as opposed to refusing the statement: SQLSTATE class 08
   * (connection), 57P0x (shutdown) or a socket error code. Worth retrying later.
   */
  get isConnectionFailure(): boolean {
    const state = this.sqlState;
    return !!state && (state.startsWith('08') || state.startsWith('57P') || /^E[A-Z]+$/.test(state));
  }
  /** 23503: a row this statement refers to does not exist (e.g. deleted meanwhile). */
  get isForeignKeyViolation(): boolean {
    return this.sqlState === '23503';
  }
}

/** The embedded database directory is open in another process (or already in this one). */
export class DatabaseInUse extends Error {
  constructor(
    readonly lockFile: string,
    readonly ownerPid: number | undefined,
  ) {
    super(
      `the embedded database is in use by another chat4all process (pid ${ownerPid ?? 'unknown'}, lock ${lockFile}): ` +
        'stop that process first, or use PostgreSQL (DATABASE_URL) to run several processes on one database',
    );
  }
}

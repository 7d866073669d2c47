/**
 * Wakes the outbox relay in another process when a commit wrote outbox rows (PostgreSQL NOTIFY),
 * so a relay in a separate worker does not wait for its next poll. Within one process the relay is
 * woken directly and this is not used.
 */
import type { Database } from '../../ports/database.ts';
import type { Logger } from '../logger.ts';

const CHANNEL = 'chat4all_outbox';

export class OutboxSignal {
  private inFlight: Promise<void> | undefined;
  private isAgain = false;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  /** Announces new outbox rows; concurrent calls coalesce into at most one NOTIFY in flight and one after it. */
  notify(): void {
    if (this.inFlight) {
      this.isAgain = true;
      return;
    }
    this.inFlight = this.db
      .query('SELECT pg_notify($1, NULL)', [CHANNEL])
      .then(
        () => undefined,
        // Best effort: the relay's poll picks the rows up anyway.
        (e: unknown) => this.logger.warn({ err: e }, 'outbox notify failed'),
      )
      .finally(() => {
        this.inFlight = undefined;
        if (this.isAgain) {
          this.isAgain = false;
          this.notify();
        }
      });
  }

  /** Calls `onRows` on every announcement from any process; resolves with a function that stops listening. */
  listen(onRows: () => void): Promise<() => Promise<void>> {
    return this.db.listen(CHANNEL, onRows);
  }
}

/** `chat4all migrate`: opens the database only, applies pending migrations, exits. */
import type { Config } from '../../config.ts';
import type { RootLogger } from '../../logger.ts';
import { openDatabase, runMigrations } from '../../compose.ts';

export async function migrate(config: Config, logger: RootLogger): Promise<number> {
  const db = await openDatabase(config, logger);
  try {
    const applied = await runMigrations(db);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'database already up to date');
  } finally {
    await db.close();
  }
  return 0;
}

/** `chat4all dlq list|replay`: opens the database only (openAdminServices); running workers deliver what is replayed. */
import type { Config } from '../../config.ts';
import type { RootLogger } from '../../logger.ts';
import { openAdminServices } from '../../compose.ts';
import type { Parsed } from '../args.ts';

export async function dlq({ values, positionals: [sub, ...ids] }: Parsed, config: Config, logger: RootLogger): Promise<number> {
  const app = await openAdminServices(config, logger);
  try {
    if (sub === 'list') {
      const items = await app.deadLetters.list({ includeReplayed: values.all === true, limit: 1000 });
      for (const d of items) console.log(JSON.stringify(d));
      if (items.length === 0) console.error('the dead-letter queue is empty');
      return 0;
    }
    const n = await app.deadLetters.replay(values.all === true ? [] : ids.map(Number));
    console.log(`replayed ${n} dead letter(s); running workers deliver them again`);
    return 0;
  } finally {
    await app.close();
  }
}

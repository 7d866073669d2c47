/** `chat4all users create|list`: opens the database only (openAdminServices). */
import type { Config } from '../../config.ts';
import type { RootLogger } from '../../logger.ts';
import { openAdminServices } from '../../compose.ts';
import type { Parsed } from '../args.ts';

export async function users({ positionals: [sub, username, password, ...name] }: Parsed, config: Config, logger: RootLogger): Promise<number> {
  const app = await openAdminServices(config, logger);
  try {
    if (sub === 'create') {
      const user = await app.auth.register({ username, password, display_name: name.join(' ') || undefined }, { isAdmin: true });
      console.log(JSON.stringify(user));
    } else {
      for (const u of await app.users.list(1000)) console.log(`${u.user_id}\t${u.username}\t${u.display_name}\t${u.created_at}`);
    }
    return 0;
  } finally {
    await app.close();
  }
}

/** Runs one parsed `chat4all` command (src/cli/index.ts parses and reports). */
import pino from 'pino';
import { ALL_ROLES, type Config, type Role } from '../config.ts';
import { createLogger, type RootLogger } from '../logger.ts';
import { run, stopOnSignals } from '../main.ts';
import { openAdminServices, openDatabase, runMigrations } from '../compose.ts';
import type { Command } from './commands.ts';
import type { Parsed } from './args.ts';
import { collectGarbage } from './gc.ts';
import { doctor } from './commands/doctor.ts';

export async function execute(name: Command, parsed: Parsed, roles: readonly Role[], config: Config): Promise<number> {
  // Servers log to stdout; one-shot commands keep stdout for their results (JSON, tables) and log to stderr.
  const isServer = name === 'start' || name === 'api' || name === 'worker';
  const logger = isServer
    ? createLogger(config.logLevel, 'chat4all', undefined, config.logPretty)
    : createLogger(config.logLevel, 'chat4all', pino.destination(2));
  try {
    switch (name) {
      case 'start':
        return await serve(config, ALL_ROLES, logger, true);
      case 'api':
        return await serve(config, ['api'], logger, false);
      case 'worker':
        return await serve(config, roles, logger, false);
      case 'migrate':
        return await migrate(config, logger);
      case 'users':
        return await users(parsed, config, logger);
      case 'dlq':
        return await dlq(parsed, config, logger);
      case 'gc':
        return await collectGarbage(config, logger);
      case 'doctor':
        return await doctor(parsed, config);
    }
  } catch (e) {
    // The operator reads one line (index.ts); the stack is in the log at debug level.
    logger.debug({ err: e }, `chat4all ${name} failed`);
    throw e;
  }
}

async function serve(config: Config, roles: readonly Role[], logger: RootLogger, isBanner: boolean): Promise<number> {
  const running = await run(config, roles, logger);
  stopOnSignals(running, logger);
  if (isBanner) {
    const docs = config.docs.isEnabled ? ` (API docs: ${running.url}/docs)` : '';
    const demo = config.auth.demoUsers ? ' — sign in as user1 … user5, password "password123"' : '';
    const local =
      config.http.host === '127.0.0.1' ? '\nReachable from this machine only. To expose it: DEMO_USERS=false HOST=0.0.0.0 (see the README, "Security").' : '';
    process.stdout.write(`\nChat4All is running at ${running.url}/${docs}${demo}${local}\n\n`);
  }
  logger.info({ url: running.url, roles }, 'listening');
  return new Promise<number>(() => undefined); // runs until a signal
}

async function migrate(config: Config, logger: RootLogger): Promise<number> {
  const db = await openDatabase(config, logger);
  try {
    const applied = await runMigrations(db);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'database already up to date');
  } finally {
    await db.close();
  }
  return 0;
}

async function users({ positionals: [sub, username, password, ...name] }: Parsed, config: Config, logger: RootLogger): Promise<number> {
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

async function dlq({ values, positionals: [sub, ...ids] }: Parsed, config: Config, logger: RootLogger): Promise<number> {
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

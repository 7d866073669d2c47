/** The `chat4all` command line. */
import { parseArgs } from 'node:util';
import { ALL_ROLES, ConfigError, loadConfig, type Role } from '../config.ts';
import pino from 'pino';
import { createLogger } from '../logger.ts';
import { run, stopOnSignals } from '../main.ts';
import { compose, openDatabase, runMigrations } from '../compose.ts';
import { COMMANDS, type Command } from './commands.ts';
import { collectGarbage } from './gc.ts';

const WORKER_ROLES: readonly Role[] = ALL_ROLES.filter((r) => r !== 'api');

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || !(command in COMMANDS)) {
    usage(command && command !== 'help' && command !== '--help' ? `unknown command "${command}"` : undefined);
    return command && command !== 'help' && command !== '--help' ? 2 : 0;
  }
  const config = loadConfig();
  // Servers log to stdout; one-shot commands keep stdout for their results (JSON, tables) and log to stderr.
  const isServer = command === 'start' || command === 'api' || command === 'worker';
  const logger = isServer ? createLogger(config.logLevel) : createLogger(config.logLevel, 'chat4all', pino.destination(2));
  switch (command as Command) {
    case 'start':
      return serve(config, ALL_ROLES, logger, true);
    case 'api':
      return serve(config, ['api'], logger, false);
    case 'worker': {
      const { values } = parseArgs({ args: rest, options: { roles: { type: 'string' } } });
      const roles = (values.roles ?? WORKER_ROLES.join(',')).split(',').map((r) => r.trim()).filter(Boolean);
      const unknown = roles.filter((r) => !WORKER_ROLES.includes(r as Role));
      if (unknown.length) {
        console.error(`unknown worker role(s): ${unknown.join(', ')}; choose from ${WORKER_ROLES.join(', ')}`);
        return 2;
      }
      return serve(config, roles as Role[], logger, false);
    }
    case 'migrate': {
      const db = await openDatabase(config, logger);
      try {
        const applied = await runMigrations(db);
        logger.info({ applied }, applied.length ? 'migrations applied' : 'database already up to date');
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'users':
      return users(rest, config, logger);
    case 'dlq':
      return dlq(rest, config, logger);
    case 'gc':
      return collectGarbage(config, logger);
  }
  return 2;
}

async function serve(config: ReturnType<typeof loadConfig>, roles: readonly Role[], logger: ReturnType<typeof createLogger>, isBanner: boolean): Promise<number> {
  const running = await run(config, roles, logger);
  stopOnSignals(running, logger);
  if (isBanner) {
    const demo = config.auth.demoUsers ? ' — sign in as user1 … user5, password "password123"' : '';
    process.stdout.write(`\nChat4All is running at ${running.url}/ (API docs: ${running.url}/docs)${demo}\n\n`);
  }
  logger.info({ url: running.url, roles }, 'listening');
  return new Promise<number>(() => undefined); // runs until a signal
}

async function users(args: string[], config: ReturnType<typeof loadConfig>, logger: ReturnType<typeof createLogger>): Promise<number> {
  const app = await compose(config, logger);
  try {
    const [sub, username, password, ...name] = args;
    if (sub === 'create' && username && password) {
      const user = await app.auth.register({ username, password, display_name: name.join(' ') || undefined }, { isAdmin: true });
      console.log(JSON.stringify(user));
      return 0;
    }
    if (sub === 'list') {
      for (const u of await app.users.list(1000)) console.log(`${u.user_id}\t${u.username}\t${u.display_name}\t${u.created_at}`);
      return 0;
    }
    console.error('usage: chat4all users create <username> <password> [display name] | chat4all users list');
    return 2;
  } finally {
    await app.close();
  }
}

async function dlq(args: string[], config: ReturnType<typeof loadConfig>, logger: ReturnType<typeof createLogger>): Promise<number> {
  const app = await compose(config, logger);
  try {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { all: { type: 'boolean', default: false } } });
    const [sub, ...ids] = positionals;
    if (sub === 'list') {
      const items = await app.deadLetters.list({ includeReplayed: values.all, limit: 1000 });
      for (const d of items) console.log(JSON.stringify(d));
      if (items.length === 0) console.error('the dead-letter queue is empty');
      return 0;
    }
    if (sub === 'replay' && (values.all || ids.length > 0)) {
      const numbers = ids.map(Number);
      if (numbers.some((n) => !Number.isInteger(n) || n < 1)) {
        console.error('dead-letter ids are positive integers (see chat4all dlq list)');
        return 2;
      }
      const n = await app.deadLetters.replay(values.all ? [] : numbers);
      console.log(`replayed ${n} dead letter(s); running workers deliver them again`);
      return 0;
    }
    console.error('usage: chat4all dlq list [--all] | chat4all dlq replay <id…> | chat4all dlq replay --all');
    return 2;
  } finally {
    await app.close();
  }
}

function usage(problem?: string): void {
  if (problem) console.error(`chat4all: ${problem}\n`);
  console.error('usage: chat4all <command>\n');
  for (const [name, text] of Object.entries(COMMANDS)) console.error(`  ${name.padEnd(8)} ${text}`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof ConfigError) console.error(e.message);
    else console.error(e);
    process.exit(1);
  },
);

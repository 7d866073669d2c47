/** Runs one parsed `chat4all` command (src/cli/index.ts parses and reports); each command is one file under commands/. */
import pino from 'pino';
import type { Config, Role } from '../config.ts';
import { createLogger } from '../logger.ts';
import type { Command } from './commands.ts';
import type { Parsed } from './args.ts';
import { start } from './commands/start.ts';
import { api } from './commands/api.ts';
import { worker } from './commands/worker.ts';
import { migrate } from './commands/migrate.ts';
import { users } from './commands/users.ts';
import { dlq } from './commands/dlq.ts';
import { collectGarbage } from './commands/gc.ts';
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
        return await start(config, logger);
      case 'api':
        return await api(config, logger);
      case 'worker':
        return await worker(config, roles, logger);
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

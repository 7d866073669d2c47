/** The `chat4all` command line. */
import { ALL_ROLES, ConfigError, loadProcessConfig, type Role } from '../config.ts';
import { DomainError } from '../domain/errors.ts';
import { VERSION } from '../version.ts';
import { COMMANDS, helpText, overviewText, type Command } from './commands.ts';
import { parseCommand, UsageError, type Parsed } from './args.ts';

const WORKER_ROLES: readonly Role[] = ALL_ROLES.filter((r) => r !== 'api');

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') return (process.stdout.write(`${VERSION}\n`), 0);
  if (!command || command === '--help' || command === '-h' || (command === 'help' && !rest[0])) return (process.stdout.write(overviewText()), 0);
  if (command === 'help' && isCommand(rest[0])) return (process.stdout.write(helpText(rest[0])), 0);
  const name = command === 'help' ? rest[0] : command;
  if (!isCommand(name)) throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see chat4all --help)`);
  const parsed = parseCommand(name, rest);
  if (parsed.isHelp) return (process.stdout.write(helpText(name)), 0);
  const roles = name === 'worker' ? workerRoles(parsed) : [];
  checkArguments(name, parsed);
  const config = loadProcessConfig();
  // Loaded only now: --help and usage errors answer at once, without the server's modules.
  const { execute } = await import('./execute.ts');
  return execute(name, parsed, roles, config);
}

const isCommand = (name: string | undefined): name is Command => name !== undefined && Object.hasOwn(COMMANDS, name);

function workerRoles(parsed: Parsed): Role[] {
  const listed = String(parsed.values.roles ?? WORKER_ROLES.join(','))
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = listed.filter((r) => !WORKER_ROLES.includes(r as Role));
  if (unknown.length || listed.length === 0)
    throw new UsageError(`unknown worker role(s): ${unknown.join(', ') || '(none given)'}; choose from ${WORKER_ROLES.join(', ')}`);
  return listed as Role[];
}

/** Checks the positional arguments of users and dlq before anything is opened. */
function checkArguments(name: Command, { values, positionals: [sub, ...args] }: Parsed): void {
  if (name === 'users') {
    if (sub === 'create' && args.length >= 2) return;
    if (sub === 'list' && args.length === 0) return;
    throw new UsageError('usage: chat4all users create <username> <password> [display name…] | chat4all users list');
  }
  if (name === 'dlq') {
    if (sub === 'list' && args.length === 0) return;
    if (sub === 'replay' && values.all === true && args.length === 0) return;
    if (sub === 'replay' && values.all !== true && args.length > 0) {
      if (args.every((id) => /^[1-9]\d{0,14}$/.test(id))) return;
      throw new UsageError('dead-letter ids are positive integers (see chat4all dlq list)');
    }
    throw new UsageError('usage: chat4all dlq list [--all] | chat4all dlq replay <id…> | chat4all dlq replay --all');
  }
}

/** One line on stderr for anything that goes wrong; exit 2 for bad usage, 1 otherwise. */
function report(e: unknown): number {
  if (e instanceof ConfigError) return (console.error(`chat4all: ${e.message}`), 1);
  if (e instanceof UsageError) return (console.error(`chat4all: ${e.message}`), 2);
  if (e instanceof DomainError) return (console.error(`chat4all: ${e.message} (${e.code})`), 1);
  const message = e instanceof Error ? e.message : String(e);
  console.error(`chat4all: ${message.split('\n')[0] || 'failed'} (LOG_LEVEL=debug logs the details)`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => process.exit(report(e)),
);

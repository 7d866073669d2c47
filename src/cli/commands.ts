import { DOCTOR_SPEC } from './commands/doctor.ts';

/** The `chat4all` subcommands (manifests and tests check their commands against this list). */
export const COMMANDS = {
  start: 'run every role in one process (embedded default) and print the URL',
  api: 'run the REST + WebSocket API',
  worker: 'run pipeline workers: --roles relay,router,connectors,status,inbound,scheduler,push (default all)',
  migrate: 'apply database migrations and exit',
  users: 'users create <username> <password> [display name] | users list',
  dlq: 'dlq list [--all] | dlq replay <id…|--all>',
  gc: 'remove uploads not completed within GC_RETENTION_HOURS, and their stored bytes; exits non-zero on failure',
  doctor: 'check that the database, Kafka, Redis and S3 answer and report their versions; exit 1 if one does not',
} as const;
export type Command = keyof typeof COMMANDS;

type Option = { type: 'string' | 'boolean'; short?: string };

/** What `chat4all <command> --help` prints, and the options and arguments each command accepts. */
export interface CommandSpec {
  usage: string[];
  details: string;
  options: Record<string, Option & { help: string }>;
  isTakingArguments: boolean;
}

const CONFIG_NOTE = 'Configuration comes from the environment and ./.env (see .env.example and the README).';

export const SPECS: Record<Command, CommandSpec> = {
  start: {
    usage: ['chat4all start'],
    details:
      'Runs the API, the pipeline workers and the upload collector in one process. Without DATABASE_URL,\nKAFKA_BROKERS or REDIS_URL everything is embedded under DATA_DIR (one process per DATA_DIR).',
    options: {},
    isTakingArguments: false,
  },
  api: { usage: ['chat4all api'], details: 'Runs the REST + WebSocket API (and the web client).', options: {}, isTakingArguments: false },
  worker: {
    usage: ['chat4all worker [--roles <role,…>]'],
    details: 'Runs pipeline workers; /health and /ready on PORT, /metrics on METRICS_PORT.',
    options: { roles: { type: 'string', help: 'comma-separated: relay, router, connectors, status, scheduler (default: all)' } },
    isTakingArguments: false,
  },
  migrate: {
    usage: ['chat4all migrate'],
    details: 'Applies the database migrations that are not applied yet, then exits.',
    options: {},
    isTakingArguments: false,
  },
  users: {
    usage: ['chat4all users create <username> <password> [display name…]', 'chat4all users list'],
    details: 'Creates an account (also when registration is closed) or lists the accounts.',
    options: {},
    isTakingArguments: true,
  },
  dlq: {
    usage: ['chat4all dlq list [--all]', 'chat4all dlq replay <id…>', 'chat4all dlq replay --all'],
    details: 'Lists dead letters (--all: replayed ones too) or hands them back to the delivery workers.',
    options: { all: { type: 'boolean', help: 'list: include replayed letters; replay: every open letter' } },
    isTakingArguments: true,
  },
  gc: {
    usage: ['chat4all gc'],
    details:
      'Removes uploads not completed within GC_RETENTION_HOURS and their stored bytes, serves /metrics while\nit runs, pushes to PUSHGATEWAY_URL when set; exits non-zero when anything could not be removed.',
    options: {},
    isTakingArguments: false,
  },
  doctor: DOCTOR_SPEC,
};

/** The text of `chat4all <command> --help`. */
export function helpText(command: Command): string {
  const spec = SPECS[command];
  const options = [
    ...Object.entries(spec.options).map(([name, o]) => `  --${name}${o.type === 'string' ? ' <value>' : ''}`.padEnd(24) + o.help),
    '  -h, --help'.padEnd(24) + 'show this help and do nothing else',
  ];
  return [`usage: ${spec.usage.join('\n       ')}`, '', spec.details, '', 'options:', ...options, '', CONFIG_NOTE, ''].join('\n');
}

/** The text of `chat4all --help`. */
export function overviewText(): string {
  const lines = Object.entries(COMMANDS).map(([name, text]) => `  ${name.padEnd(8)} ${text}`);
  return [
    'usage: chat4all <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'chat4all <command> --help shows the usage of one command. ' + CONFIG_NOTE,
    '',
  ].join('\n');
}

/** The `chat4all` subcommands (manifests and tests check their commands against this list). */
export const COMMANDS = {
  start: 'run every role in one process (embedded default) and print the URL',
  api: 'run the REST + WebSocket API',
  worker: 'run pipeline workers: --roles relay,router,connectors,status,inbound,scheduler (default all)',
  migrate: 'apply database migrations and exit',
  users: 'users create <username> <password> [display name] | users list',
  dlq: 'dlq list [--all] | dlq replay <id…|--all>',
  gc: 'remove uploads not completed within GC_RETENTION_HOURS, and their stored bytes; exits non-zero on failure',
} as const;
export type Command = keyof typeof COMMANDS;

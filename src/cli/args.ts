import { parseArgs } from 'node:util';
import { SPECS, type Command } from './commands.ts';

/** Bad usage: printed as one line, exit code 2. */
export class UsageError extends Error {}

export interface Parsed {
  isHelp: boolean;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses one command's arguments strictly: unknown options and unexpected arguments are usage errors. */
export function parseCommand(command: Command, args: string[]): Parsed {
  const spec = SPECS[command];
  const options = {
    ...Object.fromEntries(Object.entries(spec.options).map(([n, o]) => [n, o.short ? { type: o.type, short: o.short } : { type: o.type }])),
    help: { type: 'boolean' as const, short: 'h' },
  };
  // --help wins over everything else on the line, even over mistakes in it.
  if (args.some((a) => a === '--help' || a === '-h')) return { isHelp: true, values: {}, positionals: [] };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: spec.isTakingArguments });
  } catch (e) {
    // node:util's messages are one sentence plus a hint about "--"; keep the sentence.
    const message = e instanceof Error ? e.message.split('\n')[0].replace(/\. To specify a positional argument.*$/, '') : String(e);
    throw new UsageError(`${command}: ${message.replace(/\.$/, '')} (see chat4all ${command} --help)`);
  }
  return { isHelp: false, values: parsed.values as Parsed['values'], positionals: parsed.positionals };
}

import { createRequire } from 'node:module';
import pino from 'pino';
import { currentTraceId } from './tracing.ts';

const NO_FIELDS = Object.freeze({});

/** Every line logged inside a span carries its trace id (a module-variable check when tracing is off). */
function traceFields(): object {
  const traceId = currentTraceId();
  return traceId ? { trace_id: traceId } : NO_FIELDS;
}

/** pino's default merges into the mixin's object; a line outside a span is left as it is, with no copy. */
const mergeTraceFields = (line: object, fields: object) => (fields === NO_FIELDS ? line : Object.assign(fields, line));

/**
 * Whether to pretty-print: LOG_PRETTY decides when set, else a terminal does. pino-pretty is a dev
 * dependency, absent from the container image, so it is only chosen when it can be loaded (pino
 * would otherwise crash `docker run -it`); a refused LOG_PRETTY=true comes back as a warning.
 */
export function choosePretty(input: { requested?: boolean; isTty: boolean; isPrettyInstalled: () => boolean }): { isPretty: boolean; warning?: string } {
  if (input.requested === false || (input.requested === undefined && !input.isTty)) return { isPretty: false };
  if (input.isPrettyInstalled()) return { isPretty: true };
  return input.requested
    ? { isPretty: false, warning: 'LOG_PRETTY=true but pino-pretty is not installed (a dev dependency); logging JSON' }
    : { isPretty: false };
}

const isPrettyInstalled = () => {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
};

/**
 * JSON logs, or pretty ones (see choosePretty; `pretty` is LOG_PRETTY). `destination` (one-shot
 * commands: stderr; tests) is always JSON.
 */
export function createLogger(level: string, name = 'chat4all', destination?: pino.DestinationStream, pretty?: boolean) {
  const choice = destination ? { isPretty: false } : choosePretty({ requested: pretty, isTty: !!process.stdout.isTTY, isPrettyInstalled });
  const isPretty = choice.isPretty;
  const options: pino.LoggerOptions = {
    name,
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: traceFields,
    mixinMergeStrategy: mergeTraceFields,
    redact: { paths: ['req.headers.authorization', 'password', 'refresh_token', 'access_token', '*.password'], censor: '[redacted]' },
    ...(isPretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } } : {}),
  };
  const logger = destination ? pino(options, destination) : pino(options);
  if (choice.warning) logger.warn(choice.warning);
  return logger;
}
export type RootLogger = ReturnType<typeof createLogger>;

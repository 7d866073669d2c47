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

/** JSON logs always; pretty only on an interactive terminal. `destination` (tests) replaces stdout. */
export function createLogger(level: string, name = 'chat4all', destination?: pino.DestinationStream) {
  const isPretty = !destination && process.stdout.isTTY;
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
  return destination ? pino(options, destination) : pino(options);
}
export type RootLogger = ReturnType<typeof createLogger>;

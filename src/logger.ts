import pino from 'pino';

/** JSON logs always; pretty only on an interactive terminal. */
export function createLogger(level: string, name = 'chat4all') {
  const isPretty = process.stdout.isTTY && process.env.NODE_ENV !== 'test';
  return pino({
    name,
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'password', 'refresh_token', 'access_token', '*.password'], censor: '[redacted]' },
    ...(isPretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } } : {}),
  });
}
export type RootLogger = ReturnType<typeof createLogger>;

/** Runs a Chat4All process with some roles: the API and/or pipeline workers; graceful shutdown on SIGTERM. */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config, Role } from './config.ts';
import { redactConfig } from './config.ts';
import { compose, type ComposeOptions } from './compose.ts';
import type { App } from './app/app.ts';
import { build } from './http/build.ts';
import { addSecurityHeaders } from './http/security-headers.ts';
import { operationsRoutes } from './http/routes/operations.ts';
import { closeMetrics, listenForMetrics } from './http/metrics-server.ts';
import { Pipeline } from './workers/pipeline.ts';
import { UploadGcWorker } from './workers/upload-gc.ts';
import type { RootLogger } from './logger.ts';
import { startTracing } from './tracing.ts';

export interface Running {
  app: App;
  server: FastifyInstance;
  pipeline: Pipeline;
  url: string;
  /** Where /metrics is served when METRICS_PORT gives it a listener of its own. */
  metricsUrl?: string;
  /** Stops accepting, drains sockets and workers, closes adapters. */
  stop(): Promise<void>;
}

export interface RunOptions extends ComposeOptions {
  pipeline?: Partial<ConstructorParameters<typeof Pipeline>[3]>;
}

export async function run(config: Config, roles: readonly Role[], logger: RootLogger, options: RunOptions = {}): Promise<Running> {
  logger.info({ roles, config: redactConfig(config) }, 'starting');
  // Before build(): the HTTP span hooks are added only when tracing is on.
  const { otlpEndpoint } = config.tracing;
  const tracing = otlpEndpoint ? startTracing({ endpoint: otlpEndpoint, attributes: { 'chat4all.roles': roles.join(',') } }) : undefined;
  if (tracing) logger.info({ endpoint: otlpEndpoint }, 'traces exported over OTLP/HTTP');
  // The relay is created after the app; accepted messages wake it once it exists.
  let pipeline: Pipeline | undefined = undefined;
  const onAccepted = roles.includes('relay') ? () => pipeline?.wakeRelay() : undefined;
  const app = await compose(config, logger, { ...options, onAccepted });
  if (config.auth.demoUsers && roles.includes('api')) {
    const created = await app.auth.ensureDemoUsers();
    if (created) logger.warn({ users: 'user1..user5', demo_password: 'password123' }, 'demo users created: do not use DEMO_USERS=true in production');
  }
  pipeline = new Pipeline(app.delivery, app.eventLog, logger, { relayPollMs: 100, schedulerPollMs: 500, unroutedAfterMs: 60_000, ...options.pipeline });
  const server: FastifyInstance = roles.includes('api') ? (await build(app, config)).server : await operationsServer(app, config, logger);
  await pipeline.start(roles);
  // Distributed deployments run `chat4all gc` as a CronJob instead.
  const uploadGc =
    config.isEmbedded && roles.includes('scheduler')
      ? new UploadGcWorker(app.files.collector, config.gc, logger.child({ component: 'gc' })).start()
      : undefined;
  const address = await server.listen({ port: config.http.port, host: config.http.host });
  const metricsServer =
    config.metrics.port === undefined
      ? undefined
      : await listenForMetrics(config.metrics.port, config.http.host).catch(async (e: unknown) => {
          await Promise.all([server.close(), pipeline.stop(), uploadGc?.stop()]);
          await app.close();
          throw e;
        });
  if (metricsServer) logger.info({ port: config.metrics.port }, '/metrics served on its own port (METRICS_PORT)');
  if (config.http.host === '127.0.0.1' && config.auth.demoUsers) {
    logger.info(
      { host: config.http.host },
      'reachable from this machine only (the default while demo users are on); to expose it, set DEMO_USERS=false and HOST=0.0.0.0',
    );
  }
  const url = config.http.publicUrl ?? address.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info({}, 'shutting down');
      await deadline(server.close(), 10_000, () => logger.warn({}, 'HTTP drain timed out'));
      await closeMetrics(metricsServer);
      await deadline(pipeline.stop(), 15_000, () => logger.warn({}, 'worker drain timed out'));
      await deadline(uploadGc?.stop() ?? Promise.resolve(), 15_000, () => logger.warn({}, 'upload collector drain timed out'));
      await app.close();
      await deadline(tracing?.shutdown() ?? Promise.resolve(), 5_000, () => logger.warn({}, 'trace export timed out'));
      logger.info({}, 'stopped');
    })());
  const metricsAddress = metricsServer?.address();
  const metricsUrl =
    metricsAddress && typeof metricsAddress === 'object' ? `http://${config.http.host.replace('0.0.0.0', '127.0.0.1')}:${metricsAddress.port}` : undefined;
  return { app, server, pipeline, url, metricsUrl, stop };
}

/** Workers without the API still answer /health, /ready (port 8000 by default) and /metrics. */
async function operationsServer(app: App, config: Config, logger: RootLogger): Promise<FastifyInstance> {
  const server = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  addSecurityHeaders(server);
  await server.register(operationsRoutes(app, config.metrics.port === undefined));
  return server;
}

async function deadline(work: Promise<unknown>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(() => (onTimeout(), resolve()), ms)));
  await Promise.race([work.catch(() => undefined), timeout]);
  clearTimeout(timer);
}

/** Stops on SIGTERM/SIGINT; a second signal exits at once. */
export function stopOnSignals(running: Pick<Running, 'stop'>, logger: RootLogger): void {
  let isStopping = false;
  const onSignal = (signal: string) => {
    if (isStopping) process.exit(1);
    isStopping = true;
    logger.info({ signal }, 'signal received');
    running.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

/**
 * `chat4all gc`: one run of the upload garbage collector, as the Kubernetes CronJob runs it. It
 * opens only the database and the file storage, serves /metrics while it runs, pushes its figures
 * to a Pushgateway when PUSHGATEWAY_URL is set (a short-lived Job may end before any scrape), logs
 * a summary and exits 0, or non-zero when anything could not be removed.
 */
import type { Server } from 'node:http';
import client from 'prom-client';
import type { Config } from '../../config.ts';
import type { RootLogger } from '../../logger.ts';
import type { Logger } from '../../app/logger.ts';
import { openUploadCollector } from '../../compose.ts';
import { registry } from '../../metrics.ts';
import { closeMetrics, listenForMetrics } from '../../http/metrics-server.ts';

export async function collectGarbage(config: Config, logger: RootLogger): Promise<number> {
  const log = logger.child({ component: 'gc' });
  const metricsServer = await serveMetrics(config, log);
  let code = 1;
  try {
    const { collector, close } = await openUploadCollector(config, logger);
    try {
      const summary = await collector.collect({ retentionHours: config.gc.retentionHours, batchSize: config.gc.batchSize });
      log.info({ ...summary, retention_hours: config.gc.retentionHours, batch_size: config.gc.batchSize }, 'upload garbage collection finished');
      code = summary.failures > 0 ? 1 : 0;
    } finally {
      await close();
    }
  } catch (e) {
    log.error({ err: e }, 'upload garbage collection failed');
  }
  if (config.gc.pushgatewayUrl) code = Math.max(code, await push(config.gc.pushgatewayUrl, log));
  await closeMetrics(metricsServer);
  return code;
}

/** Pushes every metric of this run under job "chat4all_gc"; 0 on success, 1 when the gateway refused or did not answer. */
async function push(url: string, log: Logger): Promise<number> {
  try {
    await new client.Pushgateway(url, { timeout: 10_000 }, registry).pushAdd({ jobName: 'chat4all_gc' });
    log.info({ pushgateway: url }, 'metrics pushed');
    return 0;
  } catch (e) {
    log.error({ err: e, pushgateway: url }, 'could not push metrics to the Pushgateway');
    return 1;
  }
}

/** /metrics on METRICS_PORT (else PORT) while the run lasts; a busy port is logged, not fatal: the push still happens. */
async function serveMetrics(config: Config, log: Logger): Promise<Server | undefined> {
  const port = config.metrics.port ?? config.http.port;
  return listenForMetrics(port, config.http.host).catch((e: unknown) => {
    log.warn({ err: e, port }, '/metrics not served during this run');
    return undefined;
  });
}

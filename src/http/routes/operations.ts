import type { FastifyInstance } from 'fastify';
import type { App } from '../../app/app.ts';
import { registry } from '../../metrics.ts';
import { VERSION } from '../../version.ts';

/**
 * /health (the process works), /ready (its dependencies answer), and /metrics (Prometheus) unless
 * a separate METRICS_PORT serves it.
 */
export const operationsRoutes =
  (app: App, isServingMetrics = true) =>
  async (server: FastifyInstance) => {
    const hide = { schema: { hide: true } };
    server.get('/health', hide, async () => ({ status: 'healthy', service: 'chat4all', version: VERSION }));
    server.get('/ready', hide, async (_request, reply) => {
      const checks = await readiness(app);
      const isReady = Object.values(checks).every((c) => c.healthy);
      if (!isReady) reply.header('Retry-After', '5');
      return reply.code(isReady ? 200 : 503).send({ status: isReady ? 'ready' : 'not_ready', checks });
    });
    if (isServingMetrics) server.get('/metrics', hide, async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  };

export async function readiness(app: App): Promise<Record<string, { healthy: boolean; latency_ms: number; error?: string }>> {
  const entries = await Promise.all(
    app.readiness.map(async (c) => {
      const started = performance.now();
      try {
        await withTimeout(c.check(), 2000);
        return [c.name, { healthy: true, latency_ms: round(performance.now() - started) }] as const;
      } catch (e) {
        // The probe is public: the cause goes to the log, not to the caller.
        app.logger.warn({ err: e, dependency: c.name }, 'readiness check failed');
        return [c.name, { healthy: false, latency_ms: round(performance.now() - started), error: 'unavailable' }] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}

const round = (ms: number) => Math.round(ms * 100) / 100;
const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

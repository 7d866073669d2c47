import { createServer, type Server } from 'node:http';
import { registry } from '../metrics.ts';

/**
 * /metrics on a listener of its own (METRICS_PORT), so that the public port never exposes it:
 * the ingress routes only the HTTP port, while Prometheus scrapes pods on this one.
 */
export async function listenForMetrics(port: number, host: string): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this port serves GET /metrics only\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => (server.off('error', reject), resolve()));
  });
  return server;
}

/** Stops the listener; open scrapes are cut (they are retried on the next interval). */
export async function closeMetrics(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

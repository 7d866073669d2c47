/**
 * What the core HTTP and WebSocket contract suites run against: one in-process instance on PGlite,
 * one on PostgreSQL, and a distributed deployment (2 `chat4all api` + 2 `chat4all worker`
 * processes on PostgreSQL, Kafka and Redis). The suites see one interface, so every contract case
 * also holds across processes.
 */
import { startDeployment } from './deployment.ts';
import { startInstance, type TestInstance } from './harness.ts';
import { signIn } from './sign-in.ts';
import { hasServices, kafkaBrokers, redisUrl } from './services.ts';
import { postgresUrl, storeKinds, type StoreKind } from './stores.ts';

export type TargetKind = StoreKind | 'distributed';

export type TestTarget = Pick<TestInstance, 'env' | 'request' | 'login' | 'user' | 'wsUrl' | 'query' | 'close'> & { kind: TargetKind };

/** Every target available here; the distributed one needs PostgreSQL, Kafka and Redis (required under CI=true). */
export function targetKinds(): TargetKind[] {
  const kinds: TargetKind[] = storeKinds();
  if (hasServices('distributed contract suites', 'kafka', 'redis', 'postgres')) kinds.push('distributed');
  return kinds;
}

/** The hook timeout a suite's beforeAll needs: four processes take longer to start than one. */
export const startTimeoutMs = 150_000;

export async function startTarget(kind: TargetKind, env: Record<string, string> = {}): Promise<TestTarget> {
  if (kind !== 'distributed') return startInstance(kind, env);
  const deployment = await startDeployment({
    postgresUrl: postgresUrl ?? '',
    kafkaBrokers,
    redisUrl: redisUrl ?? '',
    // The in-process suites' defaults, so the same cases hold (demo users user1…user5, fast retries).
    env: { DEMO_USERS: 'true', CONNECTOR_MOCK_LATENCY_MS: '5', DELIVERY_BACKOFF_MS: '20', ...env },
  });
  // Requests alternate between the two APIs, and so do sockets (starting on the other one), so a
  // case's steps land on different processes: a token revoked on one must be refused on the
  // other, a message sent through one must reach a socket on the other, and so on.
  let requests = 0;
  let sockets = 1;
  const request: TestTarget['request'] = (method, url, options) => deployment.request(requests++ % deployment.apis.length, method, url, options);
  return {
    kind,
    env: deployment.env,
    request,
    login: (username, password) => signIn((o) => request('POST', '/auth/token', o), username, password),
    user: deployment.user,
    wsUrl: (token) => deployment.wsUrl(sockets++ % deployment.apis.length, token),
    query: (text, params) => deployment.sql(text, params),
    close: () => deployment.close(),
  };
}

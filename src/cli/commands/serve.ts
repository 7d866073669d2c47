/** What `start`, `api` and `worker` share: run the given roles in this process until a signal. */
import type { Config, Role } from '../../config.ts';
import type { RootLogger } from '../../logger.ts';
import { run, stopOnSignals } from '../../main.ts';

export async function serve(config: Config, roles: readonly Role[], logger: RootLogger, isBanner: boolean): Promise<number> {
  const running = await run(config, roles, logger);
  stopOnSignals(running, logger);
  if (isBanner) {
    const docs = config.docs.isEnabled ? ` (API docs: ${running.url}/docs)` : '';
    const demo = config.auth.demoUsers ? ' — sign in as user1 … user5, password "password123"' : '';
    const local =
      config.http.host === '127.0.0.1' ? '\nReachable from this machine only. To expose it: DEMO_USERS=false HOST=0.0.0.0 (see the README, "Security").' : '';
    process.stdout.write(`\nChat4All is running at ${running.url}/${docs}${demo}${local}\n\n`);
  }
  logger.info({ url: running.url, roles }, 'listening');
  return new Promise<number>(() => undefined); // runs until a signal
}

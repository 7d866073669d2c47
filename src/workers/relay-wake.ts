/**
 * Wakes outbox relays in other processes. An API instance without the relay role cannot call the
 * relay directly, and the relay's poll interval would add up to that long to every message's
 * latency; so the API announces "the outbox has new rows" on the fan-out, at most once per turn
 * of its event loop, and every relay subscribed runs at once. A lost signal costs only latency:
 * the poll still finds the rows.
 */
import type { Fanout } from '../ports/fanout.ts';
import type { Logger } from '../app/logger.ts';

const TOPIC = 'relay.wake';

/** The API side: returns a function to call after each accepted message. */
export function relayWakeSender(fanout: Fanout, log: Logger): () => void {
  let isQueued = false;
  return () => {
    if (isQueued) return;
    isQueued = true;
    setImmediate(() => {
      isQueued = false;
      fanout.publish(TOPIC, {}).catch((e: unknown) => log.warn({ err: e }, 'relay wake-up not sent; the relay finds the rows on its next poll'));
    });
  };
}

/** The relay side: runs `wake` on every signal from any instance. */
export function listenForRelayWake(fanout: Fanout, wake: () => void): Promise<void> {
  return fanout.subscribe(TOPIC, () => wake());
}

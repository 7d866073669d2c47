/**
 * Coalesced socket writes: the first frame a TCP socket gets in an event-loop turn corks it, and
 * every corked socket is uncorked once, after the turn. A fan-out burst (a group commit notifies
 * many messages at once) then costs one write system call per socket, not one per frame.
 */
import type { Duplex } from 'node:stream';

const corked = new Set<Duplex>();
let isScheduled = false;

function uncorkAll(): void {
  isScheduled = false;
  const due = [...corked];
  corked.clear();
  for (const transport of due) {
    // One socket that fails (destroyed meanwhile) must not leave the others corked.
    try {
      transport.uncork();
    } catch {
      transport.destroy();
    }
  }
}

/** Holds `transport`'s writes until the end of this event-loop turn (idempotent within a turn). */
export function corkForTurn(transport: Duplex): void {
  if (corked.has(transport)) return;
  transport.cork();
  corked.add(transport);
  if (!isScheduled) {
    isScheduled = true;
    setImmediate(uncorkAll);
  }
}

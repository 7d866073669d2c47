/** Output backpressure for WebSocket writers that can wait (sync), instead of buffering without bound. */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * Resolves true once `socket` has at most `highWater` bytes waiting to go out (at once when it
 * already has), false when the socket closes or `timeoutMs` passes first.
 */
export function whenDrained(socket: WebSocket, transport: Duplex, highWater: number, timeoutMs: number): Promise<boolean> {
  const isOpen = () => socket.readyState === socket.OPEN;
  if (!isOpen()) return Promise.resolve(false);
  if (socket.bufferedAmount <= highWater) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (isDrained: boolean) => {
      clearTimeout(timer);
      transport.off('drain', check);
      socket.off('close', closed);
      resolve(isDrained);
    };
    // The transport emits 'drain' once its buffer empties; bufferedAmount above the stream's own
    // high-water mark means a write was refused, so that event will come.
    const check = () => {
      if (!isOpen()) finish(false);
      else if (socket.bufferedAmount <= highWater) finish(true);
    };
    const closed = () => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    transport.on('drain', check);
    socket.once('close', closed);
  });
}

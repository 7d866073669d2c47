/**
 * One authenticated WebSocket: what it may send (a token bucket, then the frame schemas) and how
 * frames go out to it (held until `connected`, paced by its buffer, cut off when it stops reading).
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Config } from '../config.ts';
import type { Logger } from '../app/logger.ts';
import type { LiveSession } from '../app/live/live-session.ts';
import { parseClientFrame, type ClientFrame } from './ws-frames.ts';
import { FrameThrottle } from './ws-throttle.ts';
import { whenDrained } from './ws-drain.ts';
import { corkForTurn } from './ws-batch.ts';

/** RFC 6455 1008: the client broke a rule (frame flood). */
export const CLOSE_POLICY = 1008;
/** RFC 6455 1013 "try again later": a dependency is down, or the client did not read in time. */
export const CLOSE_TRY_AGAIN = 1013;
// Work that waits its turn (syncs); more than this many waiting is refused.
const MAX_IN_TURN = 4;
// Live pushes cannot wait: a socket with this many high-water marks unsent is closed.
const PUSH_LIMIT_FACTOR = 16;
// After a close for not reading, the close frame waits behind the backlog this long at most.
const CLOSE_GRACE_MS = 1000;
const utf8 = new TextDecoder('utf-8', { fatal: true });
// Frames are JSON text; a Buffer goes out as it is (a string would be converted once per socket).
const TEXT = { binary: false } as const;

export class WsClient implements LiveSession {
  readonly conversations = new Set<number>();
  lastSeenAt = Date.now();
  /** Frames from events that arrived while subscribing, held until `connected` has gone out first. */
  private held: Buffer[] | undefined = [];
  private readonly throttle: FrameThrottle;
  private turn: Promise<void> = Promise.resolve();
  private waiting = 0;

  constructor(
    readonly id: string,
    readonly socket: WebSocket,
    /** The TCP socket under `socket`: its 'drain' tells when buffered frames went out. */
    private readonly transport: Duplex,
    readonly userId: number,
    readonly username: string,
    private readonly settings: Config['ws'],
    private readonly log: Logger,
  ) {
    this.throttle = new FrameThrottle({ perSecond: settings.framesPerSecond, burst: settings.frameBurst });
  }

  get isOpen(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  /** Reads one incoming frame; undefined when it was refused (and answered, or the socket closed). */
  receive(data: Buffer): ClientFrame | undefined {
    if (!this.isOpen) return undefined;
    this.lastSeenAt = Date.now();
    const verdict = this.throttle.take();
    if (verdict === 'refuse-first') {
      this.sendError('rate-limited', 'Too many frames: this one and the next ones until retry_after are dropped', {
        retry_after: this.throttle.retryAfterSeconds,
      });
    } else if (verdict === 'cut-off') {
      this.log.info({ user_id: this.userId, connection_id: this.id }, 'websocket closed: client kept flooding');
      this.socket.close(CLOSE_POLICY, 'too many frames');
    }
    if (verdict !== 'accept') return undefined;
    let text: string;
    try {
      // Text frames arrive checked by ws; binary ones do not.
      text = utf8.decode(data);
    } catch {
      this.sendError('invalid-text', 'Frames are UTF-8 text');
      return undefined;
    }
    const parsed = parseClientFrame(text);
    if ('frame' in parsed) return parsed.frame;
    this.send({ type: 'error', ...parsed.problem });
    return undefined;
  }

  send(frame: object): void {
    if (!this.isOpen) return;
    this.sendSerialised(Buffer.from(JSON.stringify({ ...frame, timestamp: new Date().toISOString() })));
  }

  /** Sends a serialised text frame; the same buffer may go to many sockets (ws does not copy it). */
  sendSerialised(data: Buffer): void {
    if (!this.isOpen) return;
    if (this.socket.bufferedAmount > PUSH_LIMIT_FACTOR * this.settings.highWaterBytes) return this.closeSlow();
    if (this.held) this.held.push(data);
    else this.write(data);
  }

  private write(data: Buffer): void {
    corkForTurn(this.transport);
    this.socket.send(data, TEXT);
  }

  sendError(code: string, error: string, extra: Record<string, unknown> = {}): void {
    this.send({ type: 'error', code, error, ...extra });
  }

  /** Sends `first` at once, then the frames held since the socket opened. */
  release(first: object): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.send(first);
    for (const data of held) if (this.isOpen) this.write(data);
  }

  /** Sends once the socket is below its high-water mark; false (and the socket closed) when it is not in time. */
  async sendPaced(frame: object): Promise<boolean> {
    if (!(await whenDrained(this.socket, this.transport, this.settings.highWaterBytes, this.settings.drainTimeoutMs))) {
      this.closeSlow();
      return false;
    }
    this.send(frame);
    return true;
  }

  /** Runs `task` after the earlier ones of this socket, so that their output is paced together. */
  inTurn(task: () => Promise<void>): Promise<void> {
    if (this.waiting >= MAX_IN_TURN) {
      this.sendError('rate-limited', `At most ${MAX_IN_TURN} syncs may wait: send the next one after synced`, { retry_after: 1 });
      return Promise.resolve();
    }
    this.waiting += 1;
    const run = this.turn.then(task).finally(() => (this.waiting -= 1));
    this.turn = run.catch(() => undefined);
    return run;
  }

  /** Closes a socket whose client does not read; its close frame waits behind the backlog, so it gets a short grace. */
  private closeSlow(): void {
    if (!this.isOpen) return;
    this.log.info({ user_id: this.userId, connection_id: this.id, buffered: this.socket.bufferedAmount }, 'websocket closed: client does not read');
    this.socket.close(CLOSE_TRY_AGAIN, 'not reading');
    setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref();
  }
}

/**
 * The WebSocket link: connects with the current access token, answers pings, notices dead links,
 * and reconnects with exponential backoff. Catching up after a reconnect is the client's job
 * (it listens for "connected" and sends `sync`). Messages can be sent over it (`sendMessage`).
 */
import { ApiError, backoff, NetworkError } from './http.js';

const CLOSE_UNAUTHORIZED = 4001;
const CLOSE_TOO_MANY = 4008;
// The server pings every 30 s; two silent intervals mean the link is dead even if TCP says otherwise.
const SILENCE_LIMIT_MS = 70_000;
// A send not answered in this time is given up on the link (the outbox retries it over HTTP, same id).
const SEND_TIMEOUT_MS = 10_000;
// The HTTP status POST /v1/messages would answer with, so that send refusals read like its problems.
const STATUS_OF = {
  'rate-limited': 429,
  'dependency-unavailable': 503,
  internal: 500,
  'not-a-member': 403,
  'conversation-not-found': 404,
  'idempotency-conflict': 409,
  'reference-gone': 409,
};

export class Live extends EventTarget {
  /** "connecting" | "online" | "offline" */
  state = 'offline';
  /** When the next attempt starts (ms since epoch), while offline. */
  retryAt = 0;
  #socket;
  #attempt = 0;
  #retryTimer;
  #watchdog;
  // Until start(); signing out reloads the page, so nothing ever stops the link again.
  #isStopped = true;
  /** message_id → the send waiting for its `send.ack` or error */
  #sends = new Map();

  constructor(session) {
    super();
    this.session = session;
    window.addEventListener('online', () => this.reconnectNow());
    document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && this.reconnectNow());
  }

  start() {
    this.#isStopped = false;
    this.#connect();
  }

  /** Skips the backoff wait (network came back, tab became visible, user clicked retry). */
  reconnectNow() {
    if (this.#isStopped || this.state !== 'offline') return;
    clearTimeout(this.#retryTimer);
    this.#connect();
  }

  /** Sends a frame if the link is up; returns whether it was sent. */
  send(frame) {
    if (this.state !== 'online') return false;
    this.#socket.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Sends a message over the link: resolves with the ack (the fields POST's 202 has), rejects
   * with an ApiError when the server refused it, or a NetworkError when the link cannot answer.
   */
  sendMessage(body) {
    if (this.state !== 'online') return Promise.reject(new NetworkError('offline'));
    const id = body.message_id;
    this.#sends.get(id)?.reject(new NetworkError('sent again'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(id, undefined, new NetworkError('no answer on the link')), SEND_TIMEOUT_MS);
      this.#sends.set(id, { resolve, reject, timer });
      this.#socket.send(JSON.stringify({ action: 'send', ...body }));
    });
  }

  #settle(id, ack, error) {
    const waiting = this.#sends.get(id);
    if (!waiting) return;
    this.#sends.delete(id);
    clearTimeout(waiting.timer);
    if (error) waiting.reject(error);
    else waiting.resolve(ack);
  }

  async #connect() {
    this.#setState('connecting');
    let token;
    try {
      token = await this.session.accessToken();
    } catch {
      return this.#scheduleRetry();
    }
    if (this.#isStopped) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/ws?token=${encodeURIComponent(token)}`);
    this.#socket = socket;
    socket.addEventListener('message', (e) => this.#onMessage(socket, e));
    socket.addEventListener('close', (e) => this.#onClose(socket, e));
  }

  #onMessage(socket, event) {
    if (socket !== this.#socket) return;
    this.#feedWatchdog(socket);
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame.type === 'ping') return socket.send(JSON.stringify({ action: 'pong' }));
    if (frame.type === 'send.ack') return this.#settle(frame.message_id, frame);
    if (frame.type === 'error' && this.#sends.has(frame.message_id)) {
      const status = STATUS_OF[frame.code] ?? 400;
      return this.#settle(frame.message_id, undefined, new ApiError(status, { ...frame, detail: frame.detail ?? frame.error }, frame.retry_after));
    }
    if (frame.type === 'connected') {
      this.#attempt = 0;
      this.#setState('online');
    }
    this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
  }

  async #onClose(socket, event) {
    if (socket !== this.#socket) return;
    clearTimeout(this.#watchdog);
    this.#socket = undefined;
    this.#dropSends();
    if (this.#isStopped) return;
    if (event.code === CLOSE_UNAUTHORIZED) {
      // The access token expired or was revoked: a fresh one usually fixes it at once.
      try {
        await this.session.refresh();
        return this.#connect();
      } catch {
        return this.#scheduleRetry();
      }
    }
    // Too many tabs: waiting longer will not help much, but do not hammer the server either.
    if (event.code === CLOSE_TOO_MANY) this.#attempt = Math.max(this.#attempt, 6);
    this.#scheduleRetry();
  }

  /** The link is gone: sends still waiting may or may not have been stored; the outbox retries them (same id). */
  #dropSends() {
    for (const id of [...this.#sends.keys()]) this.#settle(id, undefined, new NetworkError('link lost'));
  }

  #scheduleRetry() {
    if (this.#isStopped) return;
    const wait = backoff(this.#attempt++);
    this.retryAt = Date.now() + wait;
    this.#setState('offline');
    this.#retryTimer = setTimeout(() => this.#connect(), wait);
  }

  #feedWatchdog(socket) {
    clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => {
      // A dead link may take minutes to report its close: give up on it now.
      this.#socket = undefined;
      this.#dropSends();
      socket.close(4000, 'silent link');
      this.#scheduleRetry();
    }, SILENCE_LIMIT_MS);
  }

  #setState(state) {
    if (this.state === state && state !== 'offline') return;
    this.state = state;
    this.dispatchEvent(new Event('state'));
  }
}

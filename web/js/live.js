/**
 * The WebSocket link: connects with the current access token, answers pings, notices dead links,
 * and reconnects with exponential backoff. Catching up after a reconnect is the client's job
 * (it listens for "connected" and sends `sync`).
 */
import { backoff } from './http.js';

const CLOSE_UNAUTHORIZED = 4001;
const CLOSE_TOO_MANY = 4008;
// The server pings every 30 s; two silent intervals mean the link is dead even if TCP says otherwise.
const SILENCE_LIMIT_MS = 70_000;

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

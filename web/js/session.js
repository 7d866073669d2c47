/**
 * The signed-in user's tokens. Kept in localStorage so a reload stays signed in; the access token
 * is refreshed shortly before it expires and whenever the server answers 401. Refresh tokens
 * rotate and reusing a rotated one revokes the whole family, so tabs refresh one at a time (Web
 * Locks) and adopt a token another tab already rotated instead of rotating it again.
 */
import { ApiError, fetchJson, sleep } from './http.js';

const STORAGE_KEY = 'chat4all.session';
// Refresh this long before expiry, so requests in flight never carry an expired token.
const EARLY_MS = 60_000;

export class Session extends EventTarget {
  state = readStored();
  #timer;
  #refreshing;

  constructor() {
    super();
    // Another tab refreshed or signed out: follow it.
    window.addEventListener('storage', (e) => {
      if (e.key !== STORAGE_KEY) return;
      const was = this.state;
      this.state = readStored();
      if (was && !this.state) this.dispatchEvent(new Event('signedout'));
      else this.#schedule();
    });
    this.#schedule();
  }

  get user() {
    return this.state?.user;
  }

  get isSignedIn() {
    return Boolean(this.state);
  }

  async login(username, password) {
    const tokens = await fetchJson('POST', '/auth/token', { body: { grant_type: 'password', username, password } });
    const user = await fetchJson('GET', '/auth/me', { token: tokens.access_token });
    this.#adopt(tokens, user);
  }

  async register(username, password, displayName) {
    await fetchJson('POST', '/auth/register', { body: { username, password, ...(displayName ? { display_name: displayName } : {}) } });
    await this.login(username, password);
  }

  /** Revokes the refresh token (best effort, briefly) and forgets everything. */
  async logout() {
    const token = this.state?.refresh_token;
    // Revoke before forgetting: forgetting reloads the page, which would cancel the request.
    if (token)
      await Promise.race([fetchJson('POST', '/auth/revoke', { body: { token, token_type_hint: 'refresh_token' } }).catch(() => undefined), sleep(2000)]);
    this.#forget();
  }

  /** A usable access token, refreshed first when it is about to expire. */
  async accessToken() {
    if (!this.state) throw new ApiError(401, { code: 'signed-out', detail: 'Please sign in' });
    if (this.state.expires_at - Date.now() < EARLY_MS / 2) await this.refresh();
    return this.state.access_token;
  }

  /** Rotates the tokens once, however many callers ask at the same time. */
  refresh() {
    this.#refreshing ??= withLock(() => this.#refreshNow()).finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refreshNow() {
    const mine = this.state;
    if (!mine) throw new ApiError(401, { code: 'signed-out', detail: 'Please sign in' });
    const stored = readStored();
    if (stored && stored.refresh_token !== mine.refresh_token && stored.expires_at - Date.now() > EARLY_MS) {
      this.state = stored;
      this.#schedule();
      return;
    }
    try {
      const tokens = await fetchJson('POST', '/auth/refresh', { body: { refresh_token: mine.refresh_token } });
      this.#adopt(tokens, mine.user);
    } catch (e) {
      // The refresh token is dead (expired, revoked, reused): only signing in again helps.
      if (e instanceof ApiError && (e.status === 401 || e.status === 400)) this.#forget();
      throw e;
    }
  }

  #adopt(tokens, user) {
    this.state = { access_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_at: Date.now() + tokens.expires_in * 1000, user };
    localStorage.setItem(STORAGE_KEY, JSON.stringify(this.state));
    this.#schedule();
    this.dispatchEvent(new Event('tokens'));
  }

  #forget() {
    const wasSignedIn = Boolean(this.state);
    this.state = undefined;
    localStorage.removeItem(STORAGE_KEY);
    clearTimeout(this.#timer);
    if (wasSignedIn) this.dispatchEvent(new Event('signedout'));
  }

  #schedule() {
    clearTimeout(this.#timer);
    if (!this.state) return;
    const lifetime = this.state.expires_at - Date.now();
    const due = Math.max(1000, lifetime - Math.min(EARLY_MS, lifetime / 4));
    this.#timer = setTimeout(() => this.refresh().catch(() => this.#retryLater()), due);
  }

  #retryLater() {
    // Offline or server down: keep the session and try again soon.
    if (this.state) this.#timer = setTimeout(() => this.refresh().catch(() => this.#retryLater()), 10_000);
  }
}

function readStored() {
  try {
    const s = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
    return s && typeof s.refresh_token === 'string' && s.user ? s : undefined;
  } catch {
    return undefined;
  }
}

// Web Locks exist only in secure contexts (https, localhost); elsewhere one tab at a time is the user's job.
const withLock = (work) => (navigator.locks ? navigator.locks.request('chat4all.refresh', work) : work());

/** Authorised calls to the Chat4All API: bearer token, one refresh-and-retry on 401. */
import { ApiError, fetchJson } from './http.js';

export class Api {
  constructor(session) {
    this.session = session;
  }

  async request(method, path, options = {}) {
    const token = await this.session.accessToken();
    try {
      return await fetchJson(method, path, { ...options, token });
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      await this.session.refresh();
      return fetchJson(method, path, { ...options, token: this.session.state.access_token });
    }
  }

  get = (path, options) => this.request('GET', path, options);
  post = (path, body, options = {}) => this.request('POST', path, { ...options, body });
  put = (path, body) => this.request('PUT', path, { body });
  patch = (path, body) => this.request('PATCH', path, { body });
  del = (path) => this.request('DELETE', path);

  /** Fetches a protected file as a blob (fetch keeps the bearer header; follows presigned redirects). */
  async blob(path) {
    const attempt = async (token) => {
      const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => undefined));
      return res.blob();
    };
    try {
      return await attempt(await this.session.accessToken());
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      await this.session.refresh();
      return attempt(this.session.state.access_token);
    }
  }
}

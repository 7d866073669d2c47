/** What an app's API key may do. A person's own token may do all of it. */
export const SCOPES = [
  'messages:write',
  'messages:read',
  'conversations:read',
  'conversations:write',
  'files:write',
  'files:read',
  'contacts:read',
  'webhooks:manage',
] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * What a route demands of its caller (Fastify route config `scope`): a scope, `authenticated`
 * (any valid credential, e.g. /auth/me), or `user` (a person's token only: apps cannot manage apps,
 * so a leaked key can never mint more keys).
 */
export type RouteScope = Scope | 'authenticated' | 'user';

/** The scope a WebSocket frame needs (opening the socket needs `messages:read`: every push is a message or conversation event). */
export const FRAME_SCOPES: Readonly<Record<string, Scope | undefined>> = {
  ack: 'messages:read',
  sync: 'messages:read',
  subscribe: 'conversations:read',
  typing: 'messages:write',
  send: 'messages:write',
  unsubscribe: undefined,
  ping: undefined,
  pong: undefined,
};
export const SOCKET_SCOPE: Scope = 'messages:read';

export const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

/** True when a caller with `granted` scopes (undefined: a person, who has all) may act under `needed`. */
export const allows = (granted: readonly Scope[] | undefined, needed: Scope | undefined): boolean =>
  needed === undefined || granted === undefined || granted.includes(needed);

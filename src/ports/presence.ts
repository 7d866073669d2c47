/**
 * The WebSocket connections each user holds across every API instance, so that the per-user
 * socket limit (WS_MAX_PER_USER) holds for the whole deployment (memory when embedded, Redis
 * when distributed), and so that presence knows who is online: a user is online while they hold
 * at least one live connection anywhere. An instance that crashes cannot release its connections:
 * they expire after a TTL that live instances keep refreshing for the connections they hold.
 */
export interface SocketRegistry {
  /**
   * Registers `connectionId` for `userId` unless the user already holds `max` live connections.
   * Resolves with the user's live connections on every instance including this one (1 means the
   * user just came online), or 0 when refused. Acquiring an id that is already registered is
   * not refused.
   */
  acquire(userId: number, connectionId: string, max: number): Promise<number>;
  /** Removes a connection (an unknown id is ignored); resolves with the user's live connections left (0: now offline). */
  release(userId: number, connectionId: string): Promise<number>;
  /** The user's live connections on every instance (0: offline). */
  count(userId: number): Promise<number>;
  /**
   * Of `userIds`, those holding at least one live connection on any instance (expired ones do not
   * count). Throws when the shared registry does not answer: the caller decides what unknown means.
   */
  onlineAmong(userIds: readonly number[]): Promise<Set<number>>;
  /** Stops refreshing; connections not released by then expire after the TTL. */
  close(): Promise<void>;
}

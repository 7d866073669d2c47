/**
 * The WebSocket connections each user holds across every API instance, so that the per-user
 * socket limit (WS_MAX_PER_USER) holds for the whole deployment (memory when embedded, Redis
 * when distributed). An instance that crashes cannot release its connections: they expire after
 * a TTL that live instances keep refreshing for the connections they hold.
 */
export interface SocketRegistry {
  /**
   * Registers `connectionId` for `userId` unless the user already holds `max` live connections;
   * resolves true when registered. Acquiring an id that is already registered is true.
   */
  acquire(userId: number, connectionId: string, max: number): Promise<boolean>;
  /** Removes a connection; an unknown id is ignored. */
  release(userId: number, connectionId: string): Promise<void>;
  /**
   * Of `userIds`, those holding at least one live connection on any instance (expired ones do not
   * count). Throws when the shared registry does not answer: the caller decides what unknown means.
   */
  onlineAmong(userIds: readonly number[]): Promise<Set<number>>;
  /** Stops refreshing; connections not released by then expire after the TTL. */
  close(): Promise<void>;
}

import type { SocketRegistry } from '../../ports/presence.ts';

/** Socket counts of this process only (embedded mode: one instance holds every socket). */
export class MemorySocketRegistry implements SocketRegistry {
  private readonly byUser = new Map<number, Set<string>>();

  async acquire(userId: number, connectionId: string, max: number): Promise<number> {
    const mine = this.byUser.get(userId) ?? new Set<string>();
    if (!mine.has(connectionId) && mine.size >= max) return 0;
    mine.add(connectionId);
    this.byUser.set(userId, mine);
    return mine.size;
  }

  async release(userId: number, connectionId: string): Promise<number> {
    const mine = this.byUser.get(userId);
    if (mine?.delete(connectionId) && mine.size === 0) this.byUser.delete(userId);
    return this.byUser.get(userId)?.size ?? 0;
  }

  async count(userId: number): Promise<number> {
    return this.byUser.get(userId)?.size ?? 0;
  }

  async onlineAmong(userIds: readonly number[]): Promise<Set<number>> {
    return new Set(userIds.filter((id) => this.byUser.has(id)));
  }

  async close(): Promise<void> {
    this.byUser.clear();
  }
}

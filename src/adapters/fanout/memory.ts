import type { Fanout } from '../../ports/fanout.ts';

/** In-process fan-out for a single instance (embedded mode). */
export class MemoryFanout implements Fanout {
  private readonly handlers = new Map<string, (event: Record<string, unknown>) => void>();

  async publish(topic: string, event: object): Promise<void> {
    this.handlers.get(topic)?.(event as Record<string, unknown>);
  }

  async subscribe(topic: string, handler: (event: Record<string, unknown>) => void): Promise<void> {
    if (!this.handlers.has(topic)) this.handlers.set(topic, handler);
  }

  async unsubscribe(topic: string): Promise<void> {
    this.handlers.delete(topic);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.handlers.clear();
  }
}

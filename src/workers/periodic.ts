/** Timers that never overlap their own previous run and stop together. */
export class Periodic {
  private readonly timers: NodeJS.Timeout[] = [];
  private isStopped = false;

  every(ms: number, fn: () => unknown): void {
    let isRunning = false;
    this.timers.push(
      setInterval(async () => {
        if (isRunning || this.isStopped) return;
        isRunning = true;
        try {
          await fn();
        } finally {
          isRunning = false;
        }
      }, ms),
    );
  }

  stop(): void {
    this.isStopped = true;
    this.timers.forEach(clearInterval);
  }
}

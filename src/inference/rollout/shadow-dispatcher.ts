/**
 * Replays sampled live requests on a shadow version, at a lower priority than live work: one
 * replay at a time, started only while the live version has no rows waiting for a batch, from a
 * bounded queue whose overflow is dropped (and counted) instead of growing. The live request
 * never waits for any of this; a replay's failure is the replay's business (recorded by `job`).
 */
export interface ShadowDispatcherOptions {
  /** Replays waiting at most; more are dropped. */
  capacity: number;
  /** True while live work is waiting for the cores; replays are held back meanwhile. */
  liveBusy: () => boolean;
  /** How long to wait before looking at liveBusy again, in ms (default 2). */
  backoffMs?: number;
}

export class ShadowDispatcher {
  private readonly queue: Array<() => Promise<void>> = [];
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: ShadowDispatcherOptions) {}

  /** Queue a replay; false (nothing queued) when the queue is full or the dispatcher closed. */
  offer(job: () => Promise<void>): boolean {
    if (this.closed || this.queue.length >= this.opts.capacity) return false;
    this.queue.push(job);
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
    return true;
  }

  get queued(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      while (this.opts.liveBusy() && !this.closed) await new Promise((r) => setTimeout(r, this.opts.backoffMs ?? 2));
      if (this.closed) break;
      const job = this.queue.shift()!;
      try {
        await job();
      } catch {
        // The job records its own failure; nothing may escape into the live path.
      }
      // Let live I/O and batches in between two replays.
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Drop what waits, let the running replay finish. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    await this.running;
  }
}

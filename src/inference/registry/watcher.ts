/**
 * Notices registry changes (a new version folder renamed into place, state.json replaced) and
 * calls `onChange`, debounced. fs.watch is fast but can miss events (network filesystems,
 * overflowing inotify queues, a model folder created after we started), so a periodic poll runs
 * as well; onChange must be idempotent and cheap when nothing changed.
 */
import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';

export interface RegistryWatcherOptions {
  root: string;
  /** fs.watch the root and each model folder. */
  watch: boolean;
  /** Poll period in ms; 0 disables polling. */
  pollMs: number;
  debounceMs?: number;
  onChange: () => Promise<void>;
  /** Model folders to watch besides the root (refreshed on every change). */
  listModels: () => Promise<string[]>;
  logger?: Logger;
}

export class RegistryWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(private readonly opts: RegistryWatcherOptions) {}

  async start(): Promise<void> {
    if (this.opts.watch) {
      this.watchDir(this.opts.root);
      await this.refreshWatches();
    }
    if (this.opts.pollMs > 0) {
      this.poll = setInterval(() => this.trigger(), this.opts.pollMs);
      this.poll.unref();
    }
  }

  /** Run onChange soon; changes during a run cause exactly one more run. */
  trigger(): void {
    if (this.closed) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.runOnce(), this.opts.debounceMs ?? 50);
    this.debounce.unref();
  }

  private async runOnce(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          if (this.opts.watch) await this.refreshWatches();
          await this.opts.onChange();
        } catch (err) {
          this.opts.logger?.error({ err }, 'registry sync failed');
        }
      } while (this.again && !this.closed);
    })();
    await this.running;
    this.running = undefined;
  }

  private async refreshWatches(): Promise<void> {
    for (const model of await this.opts.listModels()) this.watchDir(path.join(this.opts.root, model));
  }

  private watchDir(dir: string): void {
    if (this.closed || this.watchers.has(dir)) return;
    try {
      const w = watch(dir, { persistent: false }, () => this.trigger());
      w.on('error', () => {
        // The folder went away; the poll still sees the registry.
        w.close();
        this.watchers.delete(dir);
      });
      this.watchers.set(dir, w);
    } catch (err) {
      this.opts.logger?.warn({ err, dir }, 'cannot watch registry folder; relying on polling');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    if (this.debounce) clearTimeout(this.debounce);
    for (const w of this.watchers.values()) {
      try {
        w.close();
      } catch {
        // Already closed.
      }
    }
    this.watchers.clear();
    await this.running;
  }
}

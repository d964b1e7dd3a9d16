/**
 * An in-process lock per key: run(key, fn) runs fn once every earlier run of the same key has
 * settled, in arrival order (FIFO); runs of different keys do not wait for each other. A key
 * holds no memory once its last run settles, and a run that throws releases the key like one that
 * returns. State-changing admin actions use it per model name (activate) and per job id (cancel),
 * so a repeat or a race sees the state its predecessor left (docs/operations.md). Across
 * replicas the registry's state.json, written by one rename, stays the source of truth.
 */
export class KeyedMutex {
  /** The settled-or-pending tail of each busy key's queue. */
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` alone for `key`; resolves or rejects with fn's own result. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      // Only the last run of a key removes it; a later arrival has already replaced the tail.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a run pending or in progress (for tests and diagnostics). */
  get busyKeys(): number {
    return this.tails.size;
  }
}

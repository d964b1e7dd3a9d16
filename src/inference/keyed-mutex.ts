/**
 * One in-process lock per key (a model name, a job id): state-changing admin actions on the same
 * key run one after another in arrival order (FIFO), actions on different keys run in parallel.
 * A key holds no memory once nothing waits on it, and an error thrown by `fn` releases the key
 * like a normal return. Across processes the registry's state.json is the source of truth; this
 * lock only keeps one process from racing itself.
 */
export class KeyedMutex {
  /** The tail of each key's queue: resolves when the last queued action has finished. */
  private readonly tails = new Map<string, Promise<void>>();

  /** Run `fn` once every earlier action on `key` has settled; resolves or rejects with `fn`'s outcome. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with an action running or waiting (tests, diagnostics). */
  get size(): number {
    return this.tails.size;
  }
}

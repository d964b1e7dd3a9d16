/**
 * The build's stage cache: a finished stage's output kept under DATA_DIR/build-cache/<stage>/<key>,
 * where the key hashes everything the stage's output depends on (input files' sha256, shapes,
 * hyperparameters, seed). A rebuild of one task reuses the corpus, the vocabulary, the pre-trained
 * teacher and the general student; a change to any of their inputs builds them again.
 *
 * Trainer code is not in the key (editing a loss would otherwise rebuild an hour of pre-training
 * for a task-stage fix); `--fresh` ignores every cached stage after a change that should.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';

/** sha256 (hex) of a file's bytes, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A stable short key over JSON-serialisable inputs (object keys sorted). */
export function cacheKey(inputs: unknown): string {
  const stable = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(stable)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, x]) => [k, stable(x)]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(stable(inputs)))
    .digest('hex')
    .slice(0, 16);
}

export interface CachedStage<T> {
  dir: string;
  record: T;
}

/** One stage's cache folder: `lookup` finds a finished entry, `commit` marks one finished. */
export class StageCache<T extends object> {
  constructor(
    private readonly root: string,
    readonly stage: string,
  ) {}

  dir(key: string): string {
    return path.join(this.root, this.stage, key);
  }

  /** The entry for `key` if a build finished it (its record.json is written last). */
  async lookup(key: string): Promise<CachedStage<T> | undefined> {
    const dir = this.dir(key);
    try {
      const record = JSON.parse(await fs.readFile(path.join(dir, 'record.json'), 'utf8')) as T;
      return { dir, record };
    } catch {
      return undefined;
    }
  }

  /** An empty folder for `key`, replacing an unfinished one. */
  async prepare(key: string): Promise<string> {
    const dir = this.dir(key);
    await fs.rm(dir, { recursive: true, force: true });
    await fs.mkdir(dir, { recursive: true });
    return dir;
  }

  async commit(key: string, record: T): Promise<CachedStage<T>> {
    const dir = this.dir(key);
    await fs.writeFile(path.join(dir, 'record.json'), `${JSON.stringify(record, null, 2)}\n`);
    return { dir, record };
  }
}

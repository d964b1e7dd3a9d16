/**
 * Writes a new model version into the registry. The version is assembled in a staging folder on
 * the same filesystem, hashed, given its manifest, fsynced, and renamed into place: readers (every
 * API server watching MODEL_DIR) see the version whole or not at all. Two publishers racing for the
 * same number are told apart by the rename, which fails for the loser, who takes the next number.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { fsyncDir, writeJsonAtomic } from './atomic.js';
import { type Activation, activateVersion } from '../rollout/plan.js';
import { type Manifest, MODEL_NAME_RE, type ModelState } from './types.js';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Relative paths of every file below `dir`, sorted. */
export async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

/** Existing version numbers of a model, ascending. */
export async function listVersionNumbers(modelDir: string, model: string): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir(path.join(modelDir, model));
  } catch {
    return [];
  }
  return names
    .filter((n) => /^[1-9][0-9]*$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * The one writer of state.json: `update` gets the current state (undefined when there is none)
 * and returns the next one, or `changed: false` to leave the file alone. The file is replaced
 * atomically, so readers see the old or the new state. Callers serialise updates of one model
 * (KeyedMutex); across replicas the last rename wins, which is why decisions are claimed first.
 */
export async function updateModelState(
  modelDir: string,
  model: string,
  update: (current: ModelState | undefined) => { state: ModelState; changed: boolean },
): Promise<{ state: ModelState; previous: ModelState | undefined; changed: boolean }> {
  const file = path.join(modelDir, model, 'state.json');
  let previous: ModelState | undefined;
  try {
    previous = JSON.parse(await fs.readFile(file, 'utf8')) as ModelState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { state, changed } = update(previous);
  if (changed) await writeJsonAtomic(file, state);
  return { state, previous, changed };
}

/** Make `active` the active version (ending a canary or shadow of it); other plans and the history stay. */
export async function writeModelState(modelDir: string, model: string, active: number, activation: Activation = { by: 'admin' }): Promise<ModelState> {
  return (await updateModelState(modelDir, model, (current) => activateVersion(current, active, activation))).state;
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface PublishOptions {
  modelDir: string;
  model: string;
  /** Files to copy into the version: path inside the version -> source path (a file or a folder). */
  files: Record<string, string>;
  /** Everything of the manifest except what publishing decides (model, version, files, created_at). */
  manifest: Omit<Manifest, 'model' | 'version' | 'files' | 'created_at'>;
  /** Make the new version active (state.json) once it is in place. */
  activate: boolean;
  /** Who activates it, for the roll-out history (e.g. job:<id>). */
  activatedBy?: string;
}

export interface PublishedVersion {
  version: number;
  dir: string;
  manifest: Manifest;
}

export async function publishVersion(opts: PublishOptions): Promise<PublishedVersion> {
  if (!MODEL_NAME_RE.test(opts.model)) throw new Error(`invalid model name ${JSON.stringify(opts.model)}`);
  const root = path.join(opts.modelDir, opts.model);
  await fs.mkdir(root, { recursive: true });
  const staging = path.join(root, `.staging-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await fs.mkdir(staging);
    for (const [dest, src] of Object.entries(opts.files)) {
      const target = path.join(staging, dest);
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.cp(src, target, { recursive: true });
    }
    const files: Record<string, string> = {};
    for (const rel of await listFiles(staging)) {
      files[rel] = await sha256File(path.join(staging, rel));
      await fsyncFile(path.join(staging, rel));
    }
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const versions = await listVersionNumbers(opts.modelDir, opts.model);
      const version = (versions.at(-1) ?? 0) + 1;
      const manifest: Manifest = {
        model: opts.model,
        version,
        ...opts.manifest,
        created_at: new Date().toISOString(),
        files,
      };
      await writeJsonAtomic(path.join(staging, 'manifest.json'), manifest);
      const dir = path.join(root, String(version));
      try {
        await fs.rename(staging, dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' || code === 'ENOTEMPTY') continue; // another publisher took it
        throw err;
      }
      await fsyncDir(root);
      if (opts.activate) await writeModelState(opts.modelDir, opts.model, version, { by: opts.activatedBy ?? 'publisher' });
      return { version, dir, manifest };
    }
    throw new Error(`could not claim a version number for ${opts.model} after 20 attempts`);
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    throw err;
  }
}

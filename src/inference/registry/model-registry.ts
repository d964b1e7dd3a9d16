/**
 * The model registry as a server uses it (layout in types.ts): models, versions, state.json,
 * config.json, manifest.json, the sha256 check of every file before a version is loaded, and
 * activation (its one write: state.json; roll-out plans are written by rollout/plan.ts through publish.ts). Names are
 * validated before they touch a path, so a request cannot reach outside MODEL_DIR.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelNotFoundError, VersionNotFoundError } from '../errors.js';
import type { Activation } from '../rollout/plan.js';
import { listVersionNumbers, sha256File, writeModelState } from './publish.js';
import { type Manifest, MODEL_NAME_RE, type ModelState, type ServingConfig } from './types.js';

export function isValidModelName(name: string): boolean {
  return MODEL_NAME_RE.test(name) && !name.includes('..');
}

async function readJson<T>(file: string): Promise<T | undefined> {
  let raw: string;
  try {
    raw = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(raw) as T;
}

/** Check config.json enough that pre- and post-processing cannot go wrong silently. */
export function validateServingConfig(c: unknown, where: string): ServingConfig {
  const bad = (why: string): never => {
    throw new Error(`${where}: ${why}`);
  };
  if (typeof c !== 'object' || c === null) bad('not a JSON object');
  const cfg = c as ServingConfig;
  if (cfg.task !== 'classification' && cfg.task !== 'qa') bad(`task must be classification or qa (got ${JSON.stringify(cfg.task)})`);
  if (!Number.isInteger(cfg.max_length) || cfg.max_length < 8) bad('max_length must be an integer >= 8');
  if (!Array.isArray(cfg.outputs)) bad('outputs must be a list');
  if (cfg.task === 'classification') {
    if (!Array.isArray(cfg.labels) || cfg.labels.length === 0 || !cfg.labels.every((l) => typeof l === 'string')) {
      bad('classification needs a non-empty labels list');
    }
    if (!cfg.outputs.includes('logits')) bad('classification needs the output logits');
  } else {
    if (!cfg.outputs.includes('start_logits') || !cfg.outputs.includes('end_logits')) bad('qa needs outputs start_logits and end_logits');
  }
  return {
    ...cfg,
    inputs: Array.isArray(cfg.inputs) && cfg.inputs.length > 0 ? cfg.inputs : ['input_ids', 'attention_mask', 'token_type_ids'],
    doc_stride: cfg.doc_stride ?? 128,
    max_query_length: cfg.max_query_length ?? 64,
  };
}

/** sha256 of every file the manifest lists must match; the files the server loads must be listed. */
export async function verifyManifestFiles(dir: string, manifest: Manifest, required: readonly string[]): Promise<void> {
  const files = manifest.files ?? {};
  for (const name of required) {
    if (!(name in files)) throw new Error(`manifest.json does not list ${name}`);
  }
  for (const [rel, expected] of Object.entries(files)) {
    const file = path.resolve(dir, rel);
    if (!file.startsWith(dir + path.sep)) throw new Error(`manifest.json lists a path outside the version: ${rel}`);
    let actual: string;
    try {
      actual = await sha256File(file);
    } catch {
      throw new Error(`${rel} is listed in manifest.json but cannot be read`);
    }
    if (actual !== expected) throw new Error(`sha256 of ${rel} is ${actual}, manifest.json says ${expected}`);
  }
}

/**
 * The registry on disk as the server sees it: lists models and versions, reads state, manifests
 * and serving configs, and writes one thing, state.json, when a version is activated (atomic
 * rename; the publisher writes versions).
 */
export class ModelRegistry {
  constructor(readonly root: string) {}

  async listModels(): Promise<string[]> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(this.root, { withFileTypes: true });
    } catch {
      return [];
    }
    return entries
      .filter((e) => e.isDirectory() && isValidModelName(e.name))
      .map((e) => e.name)
      .sort();
  }

  modelDir(model: string): string {
    if (!isValidModelName(model)) throw new ModelNotFoundError(model);
    return path.join(this.root, model);
  }

  versionDir(model: string, version: number): string {
    if (!Number.isInteger(version) || version < 1) throw new VersionNotFoundError(model, version);
    return path.join(this.modelDir(model), String(version));
  }

  async exists(model: string): Promise<boolean> {
    return fs.stat(this.modelDir(model)).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  async listVersions(model: string): Promise<number[]> {
    this.modelDir(model); // validates the name before it becomes a path
    return listVersionNumbers(this.root, model);
  }

  async readState(model: string): Promise<ModelState | undefined> {
    const state = await readJson<ModelState>(path.join(this.modelDir(model), 'state.json'));
    if (state && (!Number.isInteger(state.active) || state.active < 1)) throw new Error(`${model}/state.json: active must be a version number`);
    return state;
  }

  async readManifest(model: string, version: number): Promise<Manifest> {
    const m = await readJson<Manifest>(path.join(this.versionDir(model, version), 'manifest.json'));
    if (!m) throw new VersionNotFoundError(model, version);
    return m;
  }

  async readServingConfig(model: string, version: number): Promise<ServingConfig> {
    const dir = this.versionDir(model, version);
    const c = await readJson<unknown>(path.join(dir, 'config.json'));
    if (c === undefined) throw new VersionNotFoundError(model, version);
    return validateServingConfig(c, `${model}/${version}/config.json`);
  }

  /**
   * The task of a version (its config.json), or undefined when it cannot be read: the checks that
   * keep a model to one task (activation, roll-outs, job submission) let an unreadable version
   * through to the step that reports it properly (loading, or the job's own checks).
   */
  async taskOf(model: string, version: number): Promise<ServingConfig['task'] | undefined> {
    return (await this.readServingConfig(model, version).catch(() => undefined))?.task;
  }

  /**
   * Make `version` the active one: state.json replaced atomically (readers see old or new); a
   * canary or shadow of that version ends, with `activation` recorded in the history.
   */
  async activate(model: string, version: number, activation: Activation = { by: 'admin' }): Promise<ModelState> {
    const versions = await this.listVersions(model);
    if (!versions.includes(version)) throw new VersionNotFoundError(model, version);
    return writeModelState(this.root, model, version, activation);
  }
}

/**
 * Owns every loaded model version. Start-up loads each model's active version (hash check ->
 * sessions -> warm-up) before the host reports ready. Hot swap: a newly activated version is
 * loaded and warmed on the side, then replaces the active one in a single assignment; requests
 * already holding the old version finish on it and the old version is released afterwards. A
 * version that fails any step never replaces a working one. Pinned versions (a request naming a
 * non-active version) load on demand into a small LRU cache.
 */
import type { Logger } from 'pino';
import type { InferenceConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { InferenceBackend } from './backend.js';
import {
  EngineClosedError,
  InvalidInputError,
  ModelLoadError,
  ModelNotFoundError,
  ModelNotReadyError,
  NoActiveVersionError,
  VersionNotFoundError,
} from './errors.js';
import { ModelRegistry, verifyManifestFiles } from './registry/model-registry.js';
import type { Manifest, ModelState, ServingConfig } from './registry/types.js';
import { RegistryWatcher } from './registry/watcher.js';
import type { Activation } from './rollout/plan.js';
import { ServedVersion } from './served-version.js';

export interface ModelHostOptions {
  modelDir: string;
  inference: InferenceConfig;
  logger: Logger;
  metrics?: Metrics;
  /** Backend factory replacing ONNX Runtime (tests). */
  backendFactory?: (model: string, version: number, config: ServingConfig) => InferenceBackend;
  /**
   * Serialises a sync of one model with the admin actions on it (the engine's KeyedMutex), so a
   * state.json read by a sync is never older than what an action wrote. Default: no lock.
   */
  lock?: <T>(model: string, fn: () => Promise<T>) => Promise<T>;
  /** Called, under `lock`, with every state.json a sync reads (the roll-out plans follow it). */
  onState?: (model: string, state: ModelState | undefined) => Promise<void>;
}

export type ModelStatus = 'loading' | 'ready' | 'failed' | 'inactive';

export interface ActivateOptions {
  /** Who or what activates, for the roll-out history; default admin. */
  activation?: Activation;
  /** The version already loaded and warmed with serving settings (a canary being promoted): it is swapped in as is. */
  loaded?: ServedVersion;
}

interface Slot {
  name: string;
  active: ServedVersion | undefined;
  status: ModelStatus;
  error?: string;
  /** The state.json a load is running for, or last failed for (not retried until it changes). */
  loading?: { version: number; promise: Promise<ServedVersion> };
  failed?: { version: number; updatedAt: string };
}

const REQUIRED_FILES = ['model.onnx', 'tokenizer.json', 'config.json'];

export class ModelHost {
  readonly registry: ModelRegistry;
  private readonly slots = new Map<string, Slot>();
  private readonly pinned = new Map<string, { promise: Promise<ServedVersion>; lastUsed: number }>();
  private readonly watcher: RegistryWatcher;
  private started = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: ModelHostOptions) {
    this.registry = new ModelRegistry(opts.modelDir);
    this.watcher = new RegistryWatcher({
      root: opts.modelDir,
      watch: opts.inference.registryWatch,
      pollMs: opts.inference.registryPollMs,
      onChange: () => this.sync(),
      listModels: () => this.registry.listModels(),
      logger: opts.logger,
    });
  }

  /** Load every model's active version, then watch the registry. Failed models are reported, not fatal. */
  async start(): Promise<void> {
    await this.sync();
    await this.watcher.start();
    this.started = true;
  }

  get isReady(): boolean {
    if (!this.started || this.closing) return false;
    // Ready = every model with an active version has a loaded, warmed version serving. A model
    // swapping to a new version still serves its old one, so a swap never flips readiness; a model
    // whose active version never loaded keeps the replica out of rotation until it does.
    const slots = [...this.slots.values()].filter((s) => s.status !== 'inactive');
    return slots.length > 0 && slots.every((s) => s.active !== undefined);
  }

  readiness(): { ready: boolean; models: Record<string, { status: ModelStatus; version?: number; error?: string }> } {
    const models: Record<string, { status: ModelStatus; version?: number; error?: string }> = {};
    for (const s of this.slots.values()) {
      models[s.name] = { status: s.status, ...(s.active ? { version: s.active.version } : {}), ...(s.error ? { error: s.error } : {}) };
    }
    return { ready: this.isReady, models };
  }

  /** Bring every model in line with its state.json; idempotent, cheap when nothing changed. */
  async sync(): Promise<void> {
    if (this.closing) return;
    const names = await this.registry.listModels();
    const lock = this.opts.lock ?? ((_model, fn) => fn());
    await Promise.all(
      names.map((name) =>
        lock(name, async () => {
          let state: ModelState | undefined;
          try {
            state = await this.registry.readState(name);
          } catch (err) {
            this.opts.logger.error({ err, model: name }, 'unreadable state.json; keeping the current version');
            return;
          }
          const slot = this.slot(name);
          if (!state) {
            if (!slot.active) slot.status = 'inactive';
          } else {
            await this.ensureActive(slot, state).catch(() => {});
          }
          await this.opts.onState?.(name, state).catch((err: unknown) => this.opts.logger.error({ err, model: name }, 'roll-out sync failed'));
        }),
      ),
    );
  }

  private slot(name: string): Slot {
    let s = this.slots.get(name);
    if (!s) {
      s = { name, active: undefined, status: 'inactive' };
      this.slots.set(name, s);
    }
    return s;
  }

  private async ensureActive(slot: Slot, state: ModelState): Promise<ServedVersion> {
    if (slot.active?.version === state.active) return slot.active;
    if (slot.loading?.version === state.active) return slot.loading.promise;
    if (slot.failed?.version === state.active && slot.failed.updatedAt === state.updated_at) {
      throw new ModelNotReadyError(slot.name, `version ${state.active} failed to load: ${slot.error ?? 'unknown error'}`);
    }
    const promise = this.takePinned(slot.name, state.active) ?? this.load(slot.name, state.active);
    slot.loading = { version: state.active, promise };
    if (!slot.active) slot.status = 'loading';
    try {
      const served = await promise;
      if (this.closing) {
        await served.close();
        throw new EngineClosedError();
      }
      this.swap(slot, served);
      return served;
    } catch (err) {
      slot.failed = { version: state.active, updatedAt: state.updated_at };
      slot.error = (err as Error).message;
      if (!slot.active) slot.status = 'failed';
      this.opts.logger.error(
        { err, model: slot.name, version: state.active },
        slot.active ? `version failed to load; ${slot.active.version} keeps serving` : 'version failed to load',
      );
      throw err;
    } finally {
      if (slot.loading?.promise === promise) slot.loading = undefined;
    }
  }

  private swap(slot: Slot, served: ServedVersion): void {
    const old = slot.active;
    slot.active = served;
    slot.status = 'ready';
    slot.error = undefined;
    slot.failed = undefined;
    const m = this.opts.metrics;
    if (old) {
      m?.modelVersionInfo.remove({ model: slot.name, version: String(old.version) });
      m?.modelSwaps.inc({ model: slot.name });
      this.opts.logger.info({ model: slot.name, from: old.version, to: served.version }, 'model version swapped');
      // Requests already holding the old version finish on it; then its sessions are released.
      void old.retire();
    } else {
      this.opts.logger.info({ model: slot.name, version: served.version }, 'model version loaded');
    }
    m?.modelVersionInfo.set({ model: slot.name, version: String(served.version) }, 1);
  }

  /**
   * Read, verify hashes, open sessions, warm up. Every failure is a ModelLoadError with its stage.
   * `inference` replaces the host's settings (a shadow candidate runs with fewer, niced sessions).
   */
  async load(model: string, version: number, inference: InferenceConfig = this.opts.inference): Promise<ServedVersion> {
    const started = performance.now();
    const m = this.opts.metrics;
    try {
      const dir = this.registry.versionDir(model, version);
      let manifest: Manifest;
      let config: ServingConfig;
      try {
        manifest = await this.registry.readManifest(model, version);
        config = await this.registry.readServingConfig(model, version);
      } catch (err) {
        if (err instanceof VersionNotFoundError) throw err;
        throw new ModelLoadError(model, version, 'read', (err as Error).message, { cause: err });
      }
      try {
        await verifyManifestFiles(dir, manifest, REQUIRED_FILES);
      } catch (err) {
        throw new ModelLoadError(model, version, 'verify', (err as Error).message, { cause: err });
      }
      const served = await ServedVersion.open({
        model,
        version,
        dir,
        onnxFile: 'model.onnx',
        config,
        manifest,
        inference,
        logger: this.opts.logger,
        ...(m ? { metrics: m } : {}),
        ...(this.opts.backendFactory ? { backend: this.opts.backendFactory(model, version, config) } : {}),
      });
      m?.modelLoadDuration.observe({ model }, (performance.now() - started) / 1000);
      return served;
    } catch (err) {
      m?.modelLoadFailures.inc({ model, stage: err instanceof ModelLoadError ? err.stage : 'read' });
      throw err;
    }
  }

  /** The version a request runs on: the active one, or a pinned one loaded on demand. */
  async resolve(model: string, version?: number): Promise<ServedVersion> {
    if (this.closing) throw new EngineClosedError();
    const slot = this.slots.get(model);
    if (version === undefined || slot?.active?.version === version) {
      if (slot?.active) return slot.active;
      if (!(await this.registry.exists(model).catch(() => false))) throw new ModelNotFoundError(model);
      // No state.json: nothing will load by waiting, so no 503 with Retry-After.
      if ((await this.registry.readState(model).catch(() => null)) === undefined) {
        throw new NoActiveVersionError(model, await this.registry.listVersions(model).catch(() => []));
      }
      throw new ModelNotReadyError(model, slot?.status === 'failed' ? `has no working version (${slot.error ?? 'load failed'})` : 'is not loaded yet');
    }
    if (!(await this.registry.exists(model).catch(() => false))) throw new ModelNotFoundError(model);
    if (!(await this.registry.listVersions(model)).includes(version)) throw new VersionNotFoundError(model, version);
    if (this.opts.inference.maxPinnedVersions === 0) {
      throw new InvalidInputError(`version pinning is disabled (MAX_PINNED_VERSIONS=0); omit the version to use ${slot?.active?.version ?? 'the active one'}`);
    }
    const key = `${model}@${version}`;
    let entry = this.pinned.get(key);
    if (!entry) {
      const promise = this.load(model, version);
      entry = { promise, lastUsed: performance.now() };
      this.pinned.set(key, entry);
      promise.catch(() => this.pinned.get(key)?.promise === promise && this.pinned.delete(key));
      this.evictPinned();
    }
    entry.lastUsed = performance.now();
    return entry.promise;
  }

  private evictPinned(): void {
    while (this.pinned.size > this.opts.inference.maxPinnedVersions) {
      const [key, oldest] = [...this.pinned.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0]!;
      this.pinned.delete(key);
      void oldest.promise.then(
        (v) => v.retire(),
        () => {},
      );
    }
  }

  /** A pinned version about to become active moves over instead of loading twice. */
  private takePinned(model: string, version: number): Promise<ServedVersion> | undefined {
    const key = `${model}@${version}`;
    const entry = this.pinned.get(key);
    if (entry) this.pinned.delete(key);
    return entry?.promise;
  }

  /**
   * Make `version` active: it is loaded and warmed first (a broken version throws here and
   * state.json is left alone), then state.json is written atomically and the version swapped in.
   */
  async activate(model: string, version: number, opts: ActivateOptions = {}): Promise<ModelState> {
    if (this.closing) throw new EngineClosedError();
    if (!(await this.registry.exists(model))) throw new ModelNotFoundError(model);
    if (!(await this.registry.listVersions(model)).includes(version)) throw new VersionNotFoundError(model, version);
    await this.refuseOtherTask(model, version);
    const slot = this.slot(model);
    const loaded = opts.loaded?.version === version && !opts.loaded.closed ? opts.loaded : undefined;
    const ready = slot.active?.version === version ? slot.active : (loaded ?? (await (this.takePinned(model, version) ?? this.load(model, version))));
    const state = await this.registry.activate(model, version, opts.activation ?? { by: 'admin' });
    if (slot.active !== ready) {
      if (this.closing) {
        await ready.close();
        throw new EngineClosedError();
      }
      this.swap(slot, ready);
    }
    return state;
  }

  /**
   * A model keeps its task: a version of the other task would turn every call its clients make
   * (to /v1/classify or /v1/qa) into an error the moment it became active, as canaries and
   * shadows already refuse (rollout-manager). Throws InvalidInputError; a model without an active
   * version, or whose active version cannot be read, takes any task.
   */
  private async refuseOtherTask(model: string, version: number): Promise<void> {
    const active = (await this.registry.readState(model).catch(() => undefined))?.active;
    if (active === undefined || active === version) return;
    const [current, candidate] = await Promise.all([this.registry.taskOf(model, active), this.registry.taskOf(model, version)]);
    if (current && candidate && current !== candidate) {
      throw new InvalidInputError(
        `version ${version} of ${model} is a ${candidate} model and the active version ${active} a ${current} model; a model keeps its task, so publish this one under another model name`,
      );
    }
  }

  /** Versions being served now: active ones and pinned ones. */
  activeVersion(model: string): ServedVersion | undefined {
    return this.slots.get(model)?.active;
  }

  status(model: string): ModelStatus | undefined {
    return this.slots.get(model)?.status;
  }

  /** Stop watching, finish queued work, release every session. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.watcher.close();
      } catch (err) {
        this.opts.logger.warn({ err }, 'registry watcher close failed');
      }
      const loading = [...this.slots.values()].flatMap((s) => (s.loading ? [s.loading.promise] : []));
      await Promise.allSettled(loading);
      const versions = new Set<ServedVersion>();
      for (const s of this.slots.values()) if (s.active) versions.add(s.active);
      for (const p of this.pinned.values()) {
        const v = await p.promise.catch(() => undefined);
        if (v) versions.add(v);
      }
      this.pinned.clear();
      await Promise.allSettled([...versions].map((v) => v.close()));
    })();
    return this.closing;
  }
}

/**
 * The inference engine as the HTTP server (and the evaluator) use it. No HTTP, no Redis here.
 *
 *   const engine = createInferenceEngine({ config, logger, metrics });
 *   await engine.start();            // load + verify + warm every active version
 *   await engine.classify({ model, inputs, topK });
 *   await engine.answer({ model, inputs, topK, maxAnswerLength });
 *   await engine.close();            // drain, release; safe twice
 *
 * Errors are the classes in errors.ts, each with a stable `code` for the server's status table.
 */
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { EnvReader, type InferenceConfig, loadInferenceConfig, validateInferenceConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { InferenceBackend } from './backend.js';
import { EngineClosedError, InvalidInputError, ModelLoadError, ModelNotFoundError, RequestAbortedError } from './errors.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { PlanRequest } from './rollout/plan.js';
import { type PlanChange, RolloutManager, type RolloutView } from './rollout/rollout-manager.js';
import { ModelHost, type ModelStatus } from './model-host.js';
import { validateServingConfig } from './registry/model-registry.js';
import type { Manifest, ModelMetrics, ModelState, RolloutRole, ServingConfig, Task } from './registry/types.js';
import { ServedVersion, type WorkOptions } from './served-version.js';
import type { ClassifyInput, LabelScore } from './tasks/classification.js';
import type { Answer, QaInput } from './tasks/qa.js';

export * from './errors.js';
export type { PlanRequest, PlanChange, RolloutView, RolloutRole };
export type { InferenceBackend, PaddedBatch, BatchOutputs } from './backend.js';
export type { ClassifyInput, LabelScore, Answer, QaInput, WorkOptions };

/** How an unpinned request is routed during a roll-out. */
export interface RoutingOptions {
  /** Requests with the same key land on the same version while a canary plan lasts (e.g. a conversation id). */
  routingKey?: string;
}

export interface ClassifyRequest extends WorkOptions, RoutingOptions {
  model: string;
  version?: number;
  inputs: ClassifyInput[];
  topK: number;
}

export interface ClassifyResponse {
  model: string;
  version: number;
  results: LabelScore[][];
}

export interface AnswerRequest extends WorkOptions, RoutingOptions {
  model: string;
  version?: number;
  inputs: QaInput[];
  topK: number;
  /** Longest answer in tokens. */
  maxAnswerLength: number;
  /** false: always the best spans, never "no answer"; default true. */
  allowNoAnswer?: boolean;
}

export interface AnswerResponse {
  model: string;
  version: number;
  results: Answer[][];
}

export interface VersionInfo {
  version: number;
  created_at?: string;
  metrics?: Record<string, ModelMetrics>;
  gate?: Manifest['gate'];
  /** False when its manifest cannot be read. */
  readable: boolean;
}

export interface ModelInfo {
  name: string;
  task?: Task;
  /** Version in state.json (null when none), and the version actually serving (may lag while a swap loads). */
  active: number | null;
  serving: number | null;
  status: ModelStatus;
  error?: string;
  labels?: string[];
  maxLength?: number;
  versions: VersionInfo[];
  /** Canary and shadow plans with this replica's evidence, and the roll-out history. */
  rollout: RolloutView;
}

export interface ActivationResult {
  state: ModelState;
  /** The version active before (null when none). */
  previous: number | null;
  /** False when the version was already active and no plan of it ended (a repeat). */
  changed: boolean;
}

export interface Readiness {
  ready: boolean;
  models: Record<string, { status: ModelStatus; version?: number; error?: string }>;
}

export interface InferenceEngine {
  start(): Promise<void>;
  /** Drain queued and in-flight work, release every session; safe to call twice. */
  close(): Promise<void>;
  isReady(): boolean;
  readiness(): Readiness;
  classify(req: ClassifyRequest): Promise<ClassifyResponse>;
  answer(req: AnswerRequest): Promise<AnswerResponse>;
  listModels(): Promise<ModelInfo[]>;
  getModel(name: string): Promise<ModelInfo>;
  /**
   * Load + warm `version`, then make it active (state.json) and swap it in; a canary or shadow of
   * that version ends. Throws ModelLoadError if it cannot serve. Serialised per model with the
   * roll-out actions; a repeat answers changed: false.
   */
  activate(name: string, version: number, opts?: { by?: string }): Promise<ActivationResult>;
  /** Start or replace a canary or shadow plan (candidate loaded first: ModelLoadError and no change if it cannot). */
  putRollout(name: string, role: RolloutRole, plan: PlanRequest, by: string): Promise<PlanChange>;
  /** End a canary or shadow plan; changed: false when none runs. */
  endRollout(name: string, role: RolloutRole, by: string): Promise<PlanChange>;
  /** Re-read the registry now (a "model published" event arrived) instead of at the next poll. */
  syncRegistry(): Promise<void>;
}

export interface CreateEngineOptions {
  config: { paths: { modelDir: string }; inference: InferenceConfig };
  logger: Logger;
  metrics?: Metrics;
  /** Replaces ONNX Runtime (tests of the scheduler and host). */
  backendFactory?: (model: string, version: number, config: ServingConfig) => InferenceBackend;
  /**
   * Called after this engine changed a model's state.json (activation, a canary or shadow
   * started or ended, a rules decision), so the process can tell the other replicas at once.
   */
  onStateChange?: (change: { model: string; state: ModelState; reason: 'activated' | 'rollout' }) => void;
}

export function createInferenceEngine(opts: CreateEngineOptions): InferenceEngine {
  validateInferenceConfig(opts.config.inference);
  const admin = new KeyedMutex();
  // The host calls back into the roll-out manager on every sync; the manager exists by then.
  let rollout: RolloutManager | undefined;
  const host = new ModelHost({
    modelDir: opts.config.paths.modelDir,
    inference: opts.config.inference,
    logger: opts.logger,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.backendFactory ? { backendFactory: opts.backendFactory } : {}),
    lock: (model, fn) => admin.run(model, fn),
    onState: async (model, state) => rollout?.syncLocked(model, state),
  });
  rollout = new RolloutManager({
    registry: host.registry,
    inference: opts.config.inference,
    logger: opts.logger,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    mutex: admin,
    load: (model, version, inference) => host.load(model, version, inference),
    active: (model) => host.activeVersion(model),
    activateLocked: (model, version, activation, loaded) => host.activate(model, version, { activation, ...(loaded ? { loaded } : {}) }),
    onStateChange: (model, state) => opts.onStateChange?.({ model, state, reason: 'rollout' }),
  });
  const plans = rollout;

  /** Run on the resolved version; retry once if it was retired between resolve and use. */
  async function onVersion<T>(model: string, version: number | undefined, run: (v: ServedVersion) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const served = await host.resolve(model, version);
      try {
        return await run(served);
      } catch (err) {
        if (err instanceof EngineClosedError && served.closed && attempt === 0) continue;
        throw err;
      }
    }
  }

  /**
   * Serve an unpinned request on the version the roll-out picks (a canary by weight or routing
   * key, else the active one), record it as evidence, and offer the active's answer to a shadow.
   * Errors that are the request's own (bad input, a caller that left) are not the version's.
   */
  async function routed<T extends LabelScore[][] | Answer[][]>(
    req: { model: string; version?: number; routingKey?: string },
    call: (v: ServedVersion) => Promise<T>,
    replay: (v: ServedVersion) => Promise<T>,
  ): Promise<{ model: string; version: number; results: T }> {
    if (req.version !== undefined) {
      return onVersion(req.model, req.version, async (v) => ({ model: req.model, version: v.version, results: await call(v) }));
    }
    const canary = plans.pickCanary(req.model, req.routingKey);
    const role = canary ? 'canary' : 'active';
    let version = canary?.version;
    const started = performance.now();
    try {
      const out = canary
        ? { model: req.model, version: canary.version, results: await call(canary) }
        : await onVersion(req.model, undefined, async (v) => {
            version = v.version;
            return { model: req.model, version: v.version, results: await call(v) };
          });
      plans.observe(req.model, out.version, role, true, (performance.now() - started) / 1000);
      if (!canary) plans.offerShadow(req.model, out.results, replay);
      return out;
    } catch (err) {
      const own = err instanceof InvalidInputError || err instanceof RequestAbortedError || err instanceof ModelNotFoundError;
      if (version !== undefined && !own) plans.observe(req.model, version, role, false, (performance.now() - started) / 1000);
      throw err;
    }
  }

  async function modelInfo(name: string): Promise<ModelInfo> {
    if (!(await host.registry.exists(name).catch(() => false))) throw new ModelNotFoundError(name);
    const state = await host.registry.readState(name).catch(() => undefined);
    const versions: VersionInfo[] = [];
    for (const v of await host.registry.listVersions(name)) {
      try {
        const m = await host.registry.readManifest(name, v);
        versions.push({ version: v, created_at: m.created_at, metrics: m.metrics, ...(m.gate ? { gate: m.gate } : {}), readable: true });
      } catch {
        versions.push({ version: v, readable: false });
      }
    }
    const serving = host.activeVersion(name);
    let config = serving?.config;
    const configVersion = serving?.version ?? state?.active;
    if (!config && configVersion !== undefined) config = await host.registry.readServingConfig(name, configVersion).catch(() => undefined);
    const status = host.readiness().models[name];
    return {
      name,
      ...(config ? { task: config.task, maxLength: config.max_length } : {}),
      ...(config?.labels ? { labels: config.labels } : {}),
      active: state?.active ?? null,
      serving: serving?.version ?? null,
      status: status?.status ?? 'inactive',
      ...(status?.error ? { error: status.error } : {}),
      versions,
      rollout: plans.view(name, state),
    };
  }

  return {
    start: () => host.start(),
    close: async () => {
      await plans.close();
      await host.close();
    },
    isReady: () => host.isReady,
    readiness: () => host.readiness(),
    // A shadow replays with the request's inputs and options, but its own deadline and no
    // caller's signal: the live caller leaving must not cancel the comparison, nor the reverse.
    classify: (req) =>
      routed(
        req,
        (v) => v.classify(req.inputs, req),
        (v) => v.classify(req.inputs, { topK: req.topK, ...RolloutManager.shadowWork }),
      ),
    answer: (req) =>
      routed(
        req,
        (v) => v.answer(req.inputs, req),
        (v) =>
          v.answer(req.inputs, {
            topK: req.topK,
            maxAnswerLength: req.maxAnswerLength,
            ...(req.allowNoAnswer === undefined ? {} : { allowNoAnswer: req.allowNoAnswer }),
            ...RolloutManager.shadowWork,
          }),
      ),
    listModels: async () => Promise.all((await host.registry.listModels()).map(modelInfo)),
    getModel: modelInfo,
    activate: (name, version, activateOpts) =>
      admin.run(name, async () => {
        const before = await host.registry.readState(name).catch(() => undefined);
        const state = await host.activate(name, version, { activation: { by: activateOpts?.by ?? 'admin' } });
        await plans.syncLocked(name, state);
        const changed = before?.active !== state.active || state.updated_at !== before?.updated_at;
        if (changed) opts.onStateChange?.({ model: name, state, reason: 'activated' });
        return { state, previous: before?.active ?? null, changed };
      }),
    putRollout: (name, role, plan, by) => plans.putPlan(name, role, plan, by),
    endRollout: (name, role, by) => plans.deletePlan(name, role, by),
    syncRegistry: () => host.sync(),
  };
}

export interface OpenModelDirOptions {
  /** Folder with config.json, tokenizer.json and the ONNX file (a trainer's output/, a registry version). */
  dir: string;
  /** ONNX file name inside `dir`; default model.onnx. */
  onnxFile?: string;
  /**
   * Settings, as the caller's config module read them (the process's INFERENCE settings);
   * missing ones take the documented defaults. Batch scoring always runs with no warm-up, no
   * queue bound and a 1 h deadline.
   */
  inference?: Partial<InferenceConfig>;
  logger?: Logger;
  metrics?: Metrics;
  /** Model label in metrics and errors; default the folder name. */
  name?: string;
}

/** A model folder served through exactly the serving code path, without the registry (evaluation). */
export interface OpenedModel {
  readonly task: Task;
  readonly config: ServingConfig;
  classify(inputs: ClassifyInput[], options: { topK: number } & WorkOptions): Promise<LabelScore[][]>;
  answer(inputs: QaInput[], options: { topK: number; maxAnswerLength: number; allowNoAnswer?: boolean } & WorkOptions): Promise<Answer[][]>;
  close(): Promise<void>;
}

export async function openModelDir(opts: OpenModelDirOptions): Promise<OpenedModel> {
  const dir = path.resolve(opts.dir);
  const name = opts.name ?? path.basename(dir);
  // Only the config module reads the environment: an empty one gives the documented defaults.
  const inference: InferenceConfig = {
    ...loadInferenceConfig(new EnvReader({})),
    ...opts.inference,
    warmup: false,
    maxQueuedRows: 1_000_000,
    requestDeadlineMs: 3_600_000,
    maxBatchDelayMs: 0,
  };
  validateInferenceConfig(inference);
  let config: ServingConfig;
  try {
    const { readFile } = await import('node:fs/promises');
    config = validateServingConfig(JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')), `${dir}/config.json`);
  } catch (err) {
    throw new ModelLoadError(name, undefined, 'read', (err as Error).message, { cause: err });
  }
  const served = await ServedVersion.open({
    model: name,
    version: 0,
    dir,
    onnxFile: opts.onnxFile ?? 'model.onnx',
    config,
    inference,
    logger: opts.logger ?? pino({ level: 'silent' }),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
  return {
    task: config.task,
    config,
    classify: (inputs, options) => served.classify(inputs, options),
    answer: (inputs, options) => served.answer(inputs, options),
    close: () => served.close(),
  };
}

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
import { EngineClosedError, ModelLoadError, ModelNotFoundError } from './errors.js';
import { ModelHost, type ModelStatus } from './model-host.js';
import { validateServingConfig } from './registry/model-registry.js';
import type { Manifest, ModelMetrics, ModelState, ServingConfig, Task } from './registry/types.js';
import { ServedVersion, type WorkOptions } from './served-version.js';
import type { ClassifyInput, LabelScore } from './tasks/classification.js';
import type { Answer, QaInput } from './tasks/qa.js';

export * from './errors.js';
export type { InferenceBackend, PaddedBatch, BatchOutputs } from './backend.js';
export type { ClassifyInput, LabelScore, Answer, QaInput, WorkOptions };

export interface ClassifyRequest extends WorkOptions {
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

export interface AnswerRequest extends WorkOptions {
  model: string;
  version?: number;
  inputs: QaInput[];
  topK: number;
  /** Longest answer in tokens. */
  maxAnswerLength: number;
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
  /** Load + warm `version`, then make it active (state.json) and swap it in. Throws ModelLoadError if it cannot serve. */
  activate(name: string, version: number): Promise<ModelState>;
  /** Re-read the registry now (a "model published" event arrived) instead of at the next poll. */
  syncRegistry(): Promise<void>;
}

export interface CreateEngineOptions {
  config: { paths: { modelDir: string }; inference: InferenceConfig };
  logger: Logger;
  metrics?: Metrics;
  /** Replaces ONNX Runtime (tests of the scheduler and host). */
  backendFactory?: (model: string, version: number, config: ServingConfig) => InferenceBackend;
}

export function createInferenceEngine(opts: CreateEngineOptions): InferenceEngine {
  validateInferenceConfig(opts.config.inference);
  const host = new ModelHost({
    modelDir: opts.config.paths.modelDir,
    inference: opts.config.inference,
    logger: opts.logger,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.backendFactory ? { backendFactory: opts.backendFactory } : {}),
  });

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
    };
  }

  return {
    start: () => host.start(),
    close: () => host.close(),
    isReady: () => host.isReady,
    readiness: () => host.readiness(),
    classify: (req) =>
      onVersion(req.model, req.version, async (v) => ({
        model: req.model,
        version: v.version,
        results: await v.classify(req.inputs, req),
      })),
    answer: (req) =>
      onVersion(req.model, req.version, async (v) => ({
        model: req.model,
        version: v.version,
        results: await v.answer(req.inputs, req),
      })),
    listModels: async () => Promise.all((await host.registry.listModels()).map(modelInfo)),
    getModel: modelInfo,
    activate: (name, version) => host.activate(name, version),
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
  answer(inputs: QaInput[], options: { topK: number; maxAnswerLength: number } & WorkOptions): Promise<Answer[][]>;
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

/**
 * One distillation job from spec to registry: validate and resolve the spec, run (or resume) the
 * trainer, score the teacher, FP32 and INT8 students through the serving code, publish the new
 * version atomically with its manifest, and apply the quality gate. The local CLI and the BullMQ
 * worker both call this; neither knows how the steps are done.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PathsConfig, TrainerConfig } from '../config.js';
import { publishVersion, sha256File } from '../inference/registry/publish.js';
import { ModelRegistry } from '../inference/registry/model-registry.js';
import { startJobRollout } from './job-rollout.js';
import type { Manifest, ModelMetrics, ServingConfig, TrainingRecord } from '../inference/registry/types.js';
import { type EvaluateOptions, evaluateArtifacts } from './evaluation/evaluate.js';
import type { JobSpec } from './job-spec.js';
import { decideGate, type GateDecision } from './quality-gate.js';
import { type ResolvedSpec, resolveJobSpec } from './resolve-spec.js';
import type { TrainerEvent } from './trainer-events.js';
import { runTraining } from './trainer-runner.js';
import { jobWorkDir } from './work-dirs.js';
import { TrainerStoppedError } from './errors.js';

export interface DistillJobOptions {
  /** The spec, validated by parseJobSpec where it entered this process. */
  spec: JobSpec;
  jobId: string;
  paths: PathsConfig;
  trainer: TrainerConfig;
  signal?: AbortSignal;
  onEvent?: (event: TrainerEvent) => void;
  onLog?: (line: string) => void;
  /** Called when a long step outside the trainer starts (evaluation, publishing). */
  onPhase?: (phase: 'evaluate' | 'publish', detail: string) => void;
  /**
   * Ship the FP32 student's Hugging Face checkpoint in the version (default true), so it can teach
   * or be fine-tuned later. The bundled models leave it out to stay small.
   */
  includeCheckpoint?: boolean;
  /** The evaluation step: the process's inference settings, and fewer latency runs in tests. */
  evaluation?: Partial<Pick<EvaluateOptions, 'latencyRuns' | 'inference'>>;
}

export interface DistillJobResult {
  model: string;
  version: number;
  metrics: Record<string, ModelMetrics>;
  gate: GateDecision;
  manifest: Manifest;
  outputDir: string;
}

/**
 * Resolves a validated spec without running it: paths inside DATA_DIR, shapes against the
 * teacher (POST /v1/jobs answers 400 from this before anything is queued).
 */
export function prepareJob(spec: JobSpec, jobId: string, paths: PathsConfig): Promise<ResolvedSpec> {
  return resolveJobSpec(spec, { paths, jobId });
}

function describeTeacher(spec: JobSpec, resolved: ResolvedSpec): string {
  return 'model' in spec.teacher ? spec.teacher.model : resolved.teacher_path;
}

/** Ends the job as stopped once `signal` has fired (a retry after a shutdown runs the job again). */
function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new TrainerStoppedError(undefined);
}

export async function runDistillJob(opts: DistillJobOptions): Promise<DistillJobResult> {
  const { spec } = opts;
  const resolved = await prepareJob(spec, opts.jobId, opts.paths);
  const workDir = jobWorkDir(opts.paths, opts.jobId);
  const { done } = await runTraining({
    config: opts.trainer,
    spec: resolved,
    workDir,
    signal: opts.signal,
    onEvent: opts.onEvent,
    onLog: opts.onLog,
  });
  const outputDir = done.output_dir;
  const training = JSON.parse(await fs.readFile(path.join(outputDir, 'training.json'), 'utf8')) as {
    shapes?: Record<string, unknown>;
    parameters?: { teacher?: number; student?: number };
    best_checkpoint?: TrainingRecord['best_checkpoint'];
    int8?: { method?: TrainingRecord['int8_method'] };
  };

  // A stop (cancel or shutdown) that comes after the trainer exited must still stop the job: the
  // trainer no longer watches the signal, and a cancelled job may not publish or activate anything.
  throwIfStopped(opts.signal);
  opts.onPhase?.('evaluate', 'scoring teacher, FP32 and INT8 students through the serving code');
  const metrics = await evaluateArtifacts({
    outputDir,
    task: resolved.task,
    evalFile: resolved.data.eval,
    parameters: training.parameters ?? {},
    latencyRuns: opts.evaluation?.latencyRuns,
    inference: opts.evaluation?.inference,
  });
  const state = await new ModelRegistry(opts.paths.modelDir).readState(resolved.model).catch(() => undefined);
  const gate = decideGate(resolved.task, spec.gate, metrics, { model: resolved.model, active: state?.active });

  throwIfStopped(opts.signal);
  opts.onPhase?.('publish', `writing a new version of ${resolved.model} into ${opts.paths.modelDir}`);
  const int8 = path.join(outputDir, 'model.onnx');
  const hasInt8 = await fs.stat(int8).then(
    () => true,
    () => false,
  );
  const servingConfig = JSON.parse(await fs.readFile(path.join(outputDir, 'config.json'), 'utf8')) as ServingConfig;
  servingConfig.precision = hasInt8 ? 'int8' : 'fp32';
  const servingConfigFile = path.join(workDir, 'serving-config.json');
  await fs.writeFile(servingConfigFile, `${JSON.stringify(servingConfig, null, 2)}\n`);

  const datasets: Record<string, string> = {};
  for (const [role, file] of Object.entries(resolved.data)) {
    if (file) datasets[role] = await sha256File(file);
  }
  const published = await publishVersion({
    modelDir: opts.paths.modelDir,
    model: resolved.model,
    files: {
      'model.onnx': hasInt8 ? int8 : path.join(outputDir, 'model-fp32.onnx'),
      'tokenizer.json': path.join(outputDir, 'tokenizer.json'),
      'vocab.txt': path.join(outputDir, 'vocab.txt'),
      'config.json': servingConfigFile,
      ...(opts.includeCheckpoint === false ? {} : { checkpoint: path.join(outputDir, 'checkpoint') }),
    },
    manifest: {
      task: resolved.task,
      lineage: {
        job_id: opts.jobId,
        teacher: describeTeacher(spec, resolved),
        datasets,
        hyperparameters: { ...spec, notes: undefined },
        ...(spec.notes ? { notes: spec.notes } : {}),
      },
      shapes: training.shapes ?? { student: spec.student },
      metrics,
      training: {
        best_checkpoint: training.best_checkpoint ?? null,
        ...(training.int8?.method ? { int8_method: training.int8.method } : {}),
        student: {
          layers: resolved.student.layers,
          hidden: resolved.student.hidden,
          heads: resolved.student.heads,
          intermediate: resolved.student.intermediate,
          ffn_rank: resolved.student.ffn_rank,
          auto: resolved.student.auto,
          init: resolved.student.init,
        },
        task_distill_lr: resolved.stages.task_distill.lr,
      },
      // With a roll-out the version is not activated here; its plan's rules (or an operator) decide.
      gate:
        gate.activated && spec.gate.rollout
          ? { ...gate, activated: false, reason: `${gate.reason.replace(/; activated$/, '')}; published as a ${spec.gate.rollout.mode}` }
          : gate,
    },
    activate: gate.activated && !spec.gate.rollout,
    activatedBy: `job:${opts.jobId}`,
  });
  const decided =
    gate.activated && spec.gate.rollout
      ? await startJobRollout({
          modelDir: opts.paths.modelDir,
          model: resolved.model,
          version: published.version,
          jobId: opts.jobId,
          gate,
          rollout: spec.gate.rollout,
        })
      : gate;
  return { model: resolved.model, version: published.version, metrics, gate: decided, manifest: published.manifest, outputDir };
}

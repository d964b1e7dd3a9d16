/**
 * `npm run models:build`: rebuilds the bundled models from nothing but our own code and Debian's text.
 *
 *   1. generate the support-chatbot datasets (seeded; tools/datagen)
 *   2. build the pre-training corpus from Debian-shipped English text plus the generated support text
 *      (trainer/distillery_trainer/datasets/corpus.py)                                       [cached]
 *   3. build a WordPiece vocabulary from that corpus                                            [cached]
 *   4. the shared base: a random teacher pre-trained with masked LM on the corpus (mlm_pretrain),
 *      then the TinyBERT-shaped student general-distilled from it (general_distill)              [cached]
 *   5. per task: fine-tune the pre-trained teacher, task-distill the general student, QAT, export,
 *      evaluate teacher / FP32 / INT8 / post-training INT8 on the held-out test split
 *   6. with --ablation, what each stage added: the same task stages from a random teacher and from a
 *      random student (scratch registry only)
 *   7. publish into a scratch registry, then replace models/<name> with the new version 1 (the INT8
 *      student, active), score them on the hand-written check set (tools/check-set.ts) and write
 *      models/build.json and models/README.md
 *
 * The base is built inside the first task's job (its mlm_pretrain and general_distill stages) and
 * copied into the cache from that job's work folder as soon as general_distill completes; later
 * tasks and later builds start from it.
 *
 * Options: --seed N, --only NAME, --quick (tiny shapes, smoke runs), --fresh (ignore the cache),
 * --ablation, --prepare-only (data, a support-text vocabulary and random teachers for the README's
 * example jobs; nothing else), --readme-only, --help (tools/build/args.ts checks them all first).
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type PathsConfig, type TrainerConfig } from '../src/config.js';
import { ModelRegistry } from '../src/inference/registry/model-registry.js';
import type { Manifest, ModelState } from '../src/inference/registry/types.js';
import { runDistillJob } from '../src/training/distill-job.js';
import { parseJobSpec } from '../src/training/job-spec.js';
import { runTrainerProcess, TRAINER_PYTHONPATH } from '../src/training/trainer-runner.js';
import { jobWorkDir } from '../src/training/work-dirs.js';
import { readBuildArgs } from './build/args.js';
import { type BuildRecord, readBuildRecord, writeReadme } from './build/build-record.js';
import { scoreCheckSet, writeCheckSetResults } from './check-set/score.js';
import { type CachedStage, cacheKey, sha256File, StageCache } from './build/cache.js';
import { cpuInfo } from './build/cpu.js';
import { type BaseRecord, checkGpuBaseSeed, GpuBaseError, importGpuBase, prepareGpuBaseInputs } from './build/gpu-base.js';
import { type BasePlan, basePlan, type EncoderShape, gpuBasePlan, type TaskPlan, taskPlans } from './build/plans.js';
import { StageLog } from './build/stage-log.js';
import { generateDatasets } from './datagen/main.js';

interface BuildContext {
  seed: number;
  dataDir: string;
  trainer: TrainerConfig;
  /** The scratch registry and work folders of this build. */
  paths: PathsConfig;
  fresh: boolean;
  /** Training precision: bf16 autocast where the CPU has native bf16 (cpu.ts), else fp32. */
  precision: 'bf16' | 'fp32';
  record: BuildRecord;
}

interface CorpusRecord {
  sha256: string;
  seconds: number;
}

const since = (t0: number): number => (Date.now() - t0) / 1000;

/** A model's INT8 student failed its quality gate: the build stops with models/ unchanged (exit 1). */
class QualityGateError extends Error {
  override name = 'QualityGateError';
}

function runPythonModule(trainer: TrainerConfig, module: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(trainer.python, ['-m', module, ...args], {
      env: {
        ...process.env,
        PYTHONPATH: [TRAINER_PYTHONPATH, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
        DISTILLERY_PARENT_PID: String(process.pid), // see parent_guard.py
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${module} exited with code ${code}`))));
  });
}

/** Sources whose change changes the corpus: the builder and the readers it uses. */
async function corpusBuilderHash(): Promise<string> {
  const dir = path.join(TRAINER_PYTHONPATH, 'distillery_trainer', 'datasets');
  const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.py')).sort();
  return cacheKey(await Promise.all(files.map(async (f) => [f, await sha256File(path.join(dir, f))])));
}

async function buildCorpus(ctx: BuildContext, cache: StageCache<CorpusRecord>): Promise<string> {
  const support = path.join(ctx.dataDir, 'corpus.txt');
  const key = cacheKey({ support: await sha256File(support), builder: await corpusBuilderHash() });
  const hit = ctx.fresh ? undefined : await cache.lookup(key);
  if (hit) {
    process.stderr.write(`corpus: cached (${hit.dir})\n`);
    ctx.record.stages.corpus = { seconds: hit.record.seconds, cached: true };
    return path.join(hit.dir, 'corpus.txt');
  }
  const t0 = Date.now();
  const dir = await cache.prepare(key);
  process.stderr.write(`corpus: building into ${dir}\n`);
  await runPythonModule(ctx.trainer, 'distillery_trainer.datasets.corpus', ['--out', dir, '--extra', support]);
  const file = path.join(dir, 'corpus.txt');
  const record = { sha256: await sha256File(file), seconds: since(t0) };
  await cache.commit(key, record);
  ctx.record.stages.corpus = { seconds: record.seconds, cached: false };
  return file;
}

async function buildVocab(ctx: BuildContext, corpus: string, size: number): Promise<string> {
  const cache = new StageCache<CorpusRecord>(path.join(ctx.dataDir, 'build-cache'), 'vocab');
  const key = cacheKey({ corpus: await sha256File(corpus), size });
  const hit = ctx.fresh ? undefined : await cache.lookup(key);
  if (hit) {
    ctx.record.stages.vocab = { seconds: hit.record.seconds, cached: true };
    return path.join(hit.dir, 'vocab.txt');
  }
  const t0 = Date.now();
  const dir = await cache.prepare(key);
  const vocab = path.join(dir, 'vocab.txt');
  await runTrainerProcess({ config: ctx.trainer, args: ['build-vocab', '--corpus', corpus, '--size', String(size), '--out', vocab] });
  const record = { sha256: await sha256File(vocab), seconds: since(t0) };
  await cache.commit(key, record);
  ctx.record.stages.vocab = { seconds: record.seconds, cached: false };
  return vocab;
}

interface InitModelOptions {
  out: string;
  vocab: string;
  task: 'classification' | 'qa';
  labels: string[];
  shape: EncoderShape;
  dropout: number;
  seed: number;
}

/** init-model's arguments besides --out and --vocab (the GPU base's device run makes the same teacher). */
function initModelArgs(o: Omit<InitModelOptions, 'out' | 'vocab'>): string[] {
  const s = o.shape;
  return [
    ...['--task', o.task],
    ...(o.labels.length ? ['--labels', o.labels.join(',')] : []),
    ...['--layers', String(s.layers), '--hidden', String(s.hidden), '--heads', String(s.heads)],
    ...['--intermediate', String(s.intermediate), '--dropout', String(o.dropout), '--max-position', '512', '--seed', String(o.seed)],
  ];
}

async function initModel(trainer: TrainerConfig, o: InitModelOptions): Promise<void> {
  await fs.rm(o.out, { recursive: true, force: true });
  await runTrainerProcess({ config: trainer, args: ['init-model', '--out', o.out, '--vocab', o.vocab, ...initModelArgs(o)] });
}

async function labelsOf(file: string): Promise<string[]> {
  const labels = new Set<string>();
  for (const line of (await fs.readFile(file, 'utf8')).split('\n')) {
    if (line.trim()) labels.add((JSON.parse(line) as { label: string }).label);
  }
  return [...labels].sort();
}

/** Where a task job's teacher and student start, and which base stages it must run itself. */
interface Start {
  teacher: string;
  studentInit: { path: string } | 'random';
  baseStages: BasePlan['stages'] | null;
}

interface JobOptions {
  plan: TaskPlan;
  jobId: string;
  start: Start;
  corpus: string;
  variant: string;
  /** Overrides merged into the plan's stages (the ablations switch stages off). */
  stages?: Record<string, unknown>;
  notes?: Record<string, unknown>;
  /** See StageLog: called as each stage of the job completes. */
  onStageCompleted?: (stage: string, log: StageLog) => void;
  /**
   * The registry the job publishes into; default the build's scratch registry, whose models are
   * copied into models/ at the end. Ablations publish elsewhere: their gate activates what it
   * passes, and an ablation's version must never become the shipped one.
   */
  modelDir?: string;
}

async function runTaskJob(ctx: BuildContext, o: JobOptions): Promise<{ manifest: Manifest; log: StageLog }> {
  const rel = (p: string) => path.relative(ctx.dataDir, p);
  const planStages = o.plan.spec.stages as Record<string, Record<string, unknown>>;
  const spec = {
    type: 'distill',
    model: o.plan.name,
    task: o.plan.task,
    teacher: { path: rel(o.start.teacher) },
    data: { train: o.plan.train, eval: o.plan.eval, ...(o.start.baseStages ? { unlabeled: rel(o.corpus) } : {}) },
    seed: ctx.seed,
    device: 'auto',
    precision: ctx.precision,
    gate: { max_drop: 0.02, activate: true },
    notes: { built_by: 'npm run models:build', variant: o.variant, ...o.notes },
    ...o.plan.spec,
    student: { ...(o.plan.spec.student as object), init: o.start.studentInit === 'random' ? 'random' : o.start.studentInit },
    stages: { ...planStages, ...(o.start.baseStages ?? {}), ...o.stages },
  };
  const specDir = path.join(path.dirname(ctx.paths.modelDir), 'specs');
  await fs.mkdir(specDir, { recursive: true });
  await fs.writeFile(path.join(specDir, `${o.jobId}.json`), `${JSON.stringify(spec, null, 2)}\n`);
  const log: StageLog = new StageLog(`${o.plan.name}:${o.variant}`, { onStageCompleted: (stage) => o.onStageCompleted?.(stage, log) });
  const result = await runDistillJob({
    spec: parseJobSpec(spec),
    jobId: o.jobId,
    paths: o.modelDir ? { ...ctx.paths, modelDir: o.modelDir } : ctx.paths,
    trainer: ctx.trainer,
    includeCheckpoint: false,
    onEvent: log.onEvent,
    onPhase: (phase, detail) => process.stderr.write(`[${o.plan.name}:${o.variant}] ${phase}: ${detail}\n`),
  });
  process.stderr.write(`[${o.plan.name}:${o.variant}] ${result.gate.reason}\n`);
  return { manifest: result.manifest, log };
}

/** Copies the pre-trained teacher and the general student out of the job's work folder into the cache. */
async function keepBuiltBase(o: {
  cache: StageCache<BaseRecord>;
  key: string;
  stagesDir: string;
  log: StageLog;
  inputs: unknown;
}): Promise<CachedStage<BaseRecord>> {
  const dir = await o.cache.prepare(o.key);
  await fs.cp(path.join(o.stagesDir, 'mlm_pretrain'), path.join(dir, 'teacher'), { recursive: true });
  await fs.cp(path.join(o.stagesDir, 'general_distill'), path.join(dir, 'general-student'), { recursive: true });
  const stages = { mlm_pretrain: o.log.stages.mlm_pretrain!, general_distill: o.log.stages.general_distill! };
  return o.cache.commit(o.key, {
    seconds: { mlm_pretrain: stages.mlm_pretrain.seconds, general_distill: stages.general_distill.seconds },
    stages,
    device: o.log.device ?? 'unknown',
    key_inputs: o.inputs,
  });
}

/**
 * --prepare-only: what the README's example jobs start from, in a minute: the generated data, a
 * vocabulary of the support text (DATA_DIR/vocab) and a random teacher per task
 * (DATA_DIR/teachers/<name>). No corpus and no pre-training: those are the full build's.
 */
async function prepareExampleInputs(ctx: BuildContext, plans: TaskPlan[], base: BasePlan): Promise<void> {
  const vocab = path.join(ctx.dataDir, 'vocab', 'vocab.txt');
  await fs.mkdir(path.dirname(vocab), { recursive: true });
  await runTrainerProcess({
    config: ctx.trainer,
    args: ['build-vocab', '--corpus', path.join(ctx.dataDir, 'corpus.txt'), '--size', '8000', '--out', vocab],
  });
  for (const plan of plans) {
    const out = path.join(ctx.dataDir, 'teachers', plan.name);
    const labels = plan.task === 'classification' ? await labelsOf(path.join(ctx.dataDir, plan.train)) : [];
    await initModel(ctx.trainer, { out, vocab, task: plan.task, labels, shape: base.teacher, dropout: plan.teacherDropout, seed: ctx.seed });
    process.stderr.write(`[${plan.name}] data and teacher ready in ${ctx.dataDir}\n`);
  }
}

/**
 * Which of `names` have no active version the check set could open in `modelDir`: a readable
 * state.json naming a version whose manifest is there. Each entry is the name, with the fault
 * where a file could not be read ("support-qa (active version 7: ...)").
 */
async function modelsNotServable(modelDir: string, names: string[]): Promise<string[]> {
  const registry = new ModelRegistry(modelDir);
  const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));
  const missing: string[] = [];
  for (const name of names) {
    let state: ModelState | null | undefined;
    try {
      state = await registry.readState(name);
    } catch (err) {
      missing.push(`${name} (${path.join(modelDir, name, 'state.json')}: ${reason(err)})`);
      continue;
    }
    if (!state) {
      missing.push(name); // no state.json, or one holding null
      continue;
    }
    try {
      await registry.readManifest(name, state.active);
    } catch (err) {
      missing.push(`${name} (active version ${state.active}: ${reason(err)})`);
    }
  }
  return missing;
}

async function main(): Promise<number> {
  const parsed = readBuildArgs(
    process.argv.slice(2),
    taskPlans(false).map((p) => p.name),
  );
  if ('message' in parsed) {
    (parsed.code === 0 ? process.stdout : process.stderr).write(parsed.message);
    return parsed.code;
  }
  const values = parsed.args;
  const config = loadConfig();
  const modelDir = config.paths.modelDir;
  if (values.readmeOnly) {
    await writeReadme({ modelDir, dataDir: config.paths.dataDir, record: await readBuildRecord(modelDir) });
    return 0;
  }
  const { seed, quick } = values;
  if (values.baseFrom) await checkGpuBaseSeed(path.resolve(values.baseFrom), seed);
  if (values.only && !quick && !values.prepareOnly && !values.prepareGpuBase) {
    // The build ends by scoring the hand-written check set on every bundled model: found out
    // before the hours of training, not after.
    const missing = await modelsNotServable(
      modelDir,
      taskPlans(false)
        .map((p) => p.name)
        .filter((name) => name !== values.only),
    );
    if (missing.length > 0) {
      process.stderr.write(
        `--only ${values.only} replaces one model in MODEL_DIR (${modelDir}) and keeps the others, but it holds no active ` +
          `version of ${missing.join(', ')}: point MODEL_DIR at a registry that has them (the bundled models/), or build every model without --only\n`,
      );
      return 2;
    }
  }
  // Debian's torch 1.13 computes on one thread unless told (at::get_num_threads() is 1 on a 2-core
  // machine), so the 2026-12-01 build trained on one core: two bf16 linears of the teacher's FFN shape
  // (4096 x 384 x 1536), forward and backward, took 132 ms on one thread and 70 ms on two, side by
  // side in one script. The build is the only trainer on the machine, so it takes every core.
  process.env.DISTILLERY_TORCH_THREADS ??= String(os.availableParallelism());
  process.stderr.write(`trainer threads: ${process.env.DISTILLERY_TORCH_THREADS} (DISTILLERY_TORCH_THREADS)\n`);
  const started = Date.now();
  const dataDir = config.paths.dataDir;
  const buildDir = path.join(config.paths.workDir, 'build-models');
  const cpu = await cpuInfo();
  if (!cpu.bf16 && !quick) {
    // Measured on a 2-core AMD EPYC with AVX2 only (2026-12-01): mlm_pretrain ran 0.30 steps/s in
    // fp32 on two threads, where the bf16 machine of the recorded build ran 0.52 on one.
    process.stderr.write(
      `warning: ${cpu.description} has no native bf16 (AVX512-BF16 or AMX), so the trainer runs in fp32: ` +
        'expect about 1.7x the recorded build time (docs/model-builds), well past 2.5 hours on 2 cores\n',
    );
  }
  await fs.rm(buildDir, { recursive: true, force: true });
  const ctx: BuildContext = {
    seed,
    dataDir,
    trainer: config.trainer,
    paths: { ...config.paths, modelDir: path.join(buildDir, 'registry'), workDir: path.join(buildDir, 'work') },
    fresh: values.fresh,
    precision: cpu.bf16 ? 'bf16' : 'fp32',
    record: {
      seed,
      quick,
      only: values.only,
      started_at: new Date().toISOString(),
      total_seconds: 0,
      stages: {},
      tasks: {},
      cpu: cpu.description,
      precision: cpu.bf16 ? 'bf16' : 'fp32',
    },
  };
  const plans = taskPlans(quick).filter((p) => !values.only || p.name === values.only);

  let t0 = Date.now();
  process.stderr.write(`generating datasets (seed ${seed}) into ${dataDir}\n`);
  await generateDatasets({ outDir: dataDir, seed });
  ctx.record.stages.datagen = { seconds: since(t0), cached: false };
  const datagen = JSON.parse(await fs.readFile(path.join(dataDir, 'datagen.json'), 'utf8')) as Record<string, unknown>;
  ctx.record.datagen = { seed: datagen.seed, hash: datagen.hash, generator_version: datagen.generator_version, counts: datagen.counts };

  const base = basePlan(quick);
  if (values.prepareOnly) {
    await prepareExampleInputs(ctx, plans, base);
    return 0;
  }

  const cacheRoot = path.join(dataDir, 'build-cache');
  const corpus = await buildCorpus(ctx, new StageCache<CorpusRecord>(cacheRoot, 'corpus'));
  ctx.record.corpus = JSON.parse(await fs.readFile(path.join(path.dirname(corpus), 'corpus.json'), 'utf8')) as unknown;
  const vocab = await buildVocab(ctx, corpus, base.vocabSize);

  const pretrainedOn = { vocab: await sha256File(vocab), corpus: await sha256File(corpus), seed };
  const baseInputs = { ...pretrainedOn, plan: base, precision: ctx.precision };
  const baseCache = new StageCache<BaseRecord>(cacheRoot, 'base');
  const baseKey = cacheKey(baseInputs);
  let baseHit = ctx.fresh ? undefined : await baseCache.lookup(baseKey);
  // Under DATA_DIR: job specs may only name teachers there.
  const randomTeachers = path.join(dataDir, 'teachers', 'random');
  const teacherInit = async (plan: TaskPlan) => ({
    task: plan.task,
    labels: plan.task === 'classification' ? await labelsOf(path.join(dataDir, plan.train)) : [],
    shape: base.teacher,
    dropout: plan.teacherDropout,
    seed,
  });
  const randomTeacher = async (plan: TaskPlan, name = plan.name): Promise<string> => {
    const out = path.join(randomTeachers, name);
    await initModel(ctx.trainer, { out, vocab, ...(await teacherInit(plan)) });
    return out;
  };

  if (values.prepareGpuBase) {
    // The smallest task's data feeds the device job's one-step task stages.
    const task = taskPlans(quick).find((p) => p.task === 'classification')!;
    const bytes = await prepareGpuBaseInputs({
      outDir: path.resolve(values.prepareGpuBase),
      dataDir,
      paths: ctx.paths,
      plan: gpuBasePlan(quick),
      task,
      teacher: await randomTeacher(task, 'gpu-base'),
      teacherInitArgs: initModelArgs(await teacherInit(task)),
      corpus,
      vocab,
      inputs: pretrainedOn,
      seed,
      precision: ctx.precision,
    });
    process.stderr.write(
      `GPU base inputs in ${values.prepareGpuBase} (${(bytes / 2 ** 20).toFixed(1)} MiB); on the device: bash scripts/gpu-pretrain-base.sh ${values.prepareGpuBase} "$OUT"\n`,
    );
    return 0;
  }
  if (values.baseFrom) {
    baseHit = await importGpuBase({ dir: path.resolve(values.baseFrom), cache: baseCache, inputs: pretrainedOn });
    process.stderr.write(`base: pre-trained on ${baseHit.record.device}, from ${values.baseFrom} (${baseHit.dir})\n`);
  }

  const built: Manifest[] = [];
  for (const plan of plans) {
    t0 = Date.now();
    const jobId = `build-${plan.name}-${seed}`;
    let start: Start;
    if (baseHit) {
      process.stderr.write(`[${plan.name}] starting from the cached base ${baseHit.dir}\n`);
      start = { teacher: path.join(baseHit.dir, 'teacher'), studentInit: { path: path.join(baseHit.dir, 'general-student') }, baseStages: null };
    } else {
      start = { teacher: await randomTeacher(plan), studentInit: 'random', baseStages: base.stages };
    }
    // The job that builds the base hands it to the cache as soon as general_distill completes, so a
    // later failure or stop of its task stages does not cost the next build the pre-training.
    let harvest: Promise<CachedStage<BaseRecord>> | undefined;
    const keepBase = (stage: string, log: StageLog) => {
      if (stage !== 'general_distill' || harvest) return;
      harvest = keepBuiltBase({ cache: baseCache, key: baseKey, stagesDir: path.join(jobWorkDir(ctx.paths, jobId), 'checkpoints'), log, inputs: baseInputs });
      harvest.catch(() => undefined); // awaited below; a failed copy fails the build there
    };
    let job: { manifest: Manifest; log: StageLog };
    try {
      job = await runTaskJob(ctx, {
        plan,
        jobId,
        start,
        corpus,
        variant: 'shipped',
        notes: { datagen: ctx.record.datagen, base_key: baseHit ? path.basename(baseHit.dir) : baseKey, vocab_size: base.vocabSize },
        ...(baseHit ? {} : { onStageCompleted: keepBase }),
      });
    } finally {
      if (harvest) {
        baseHit = await harvest;
        ctx.record.stages.base = { seconds: 0, cached: false };
      }
    }
    const { manifest, log } = job;
    if (!baseHit) throw new Error(`${plan.name}: the job ended without general_distill completing; the base was not built`);
    ctx.record.stages.base ??= { seconds: 0, cached: true };
    ctx.record.base = baseHit.record;
    const task: BuildRecord['tasks'][string] = { seconds: since(t0), stages: log.stages, ablation: {} };
    ctx.record.tasks[plan.name] = task;
    if (!manifest.gate?.activated && quick) {
      // Tiny shapes and a few steps: the gate's verdict is noise, and nothing is shipped anyway.
      process.stderr.write(`${plan.name}: the smoke model did not pass the quality gate (${manifest.gate?.reason ?? 'no gate result'}); --quick goes on\n`);
    } else if (!manifest.gate?.activated) {
      // The base is cached by now, so the other models need not wait for this one's fix.
      // The base's cache key holds the seed and the shapes: the command repeats what chose them.
      const others = plans.filter((p) => p.name !== plan.name).map((p) => `\`npm run models:build -- --seed ${seed} --only ${p.name}\``);
      throw new QualityGateError(
        `${plan.name}: the INT8 student did not pass the quality gate (${manifest.gate?.reason ?? 'no gate result'}); models/ left unchanged.` +
          (others.length > 0 ? ` The pre-trained base is cached: ${others.join(' or ')} builds and ships another model from it.` : ''),
      );
    }
    if (manifest.gate?.activated) built.push(manifest);

    if (values.ablation) {
      // What each stage added: the shipped chain against a random teacher (no pre-training, so no
      // general student either) and against a random student distilled from the shipped teacher.
      // A job's teacher must lie under DATA_DIR (resolve-spec refuses other paths), and the shipped
      // job's fine-tuned teacher is in WORK_DIR: the random-student variant reads a copy.
      const finetuned = path.join(dataDir, 'teachers', 'finetuned', plan.name);
      await fs.rm(finetuned, { recursive: true, force: true });
      await fs.cp(path.join(jobWorkDir(ctx.paths, jobId), 'checkpoints', 'teacher_finetune'), finetuned, { recursive: true });
      const variants: { variant: string; start: Start; stages?: Record<string, unknown> }[] = [
        { variant: 'random-teacher', start: { teacher: await randomTeacher(plan), studentInit: 'random', baseStages: null } },
        {
          variant: 'random-student',
          start: { teacher: finetuned, studentInit: 'random', baseStages: null },
          stages: { teacher_finetune: { ...(plan.spec.stages as Record<string, object>).teacher_finetune, enabled: false } },
        },
      ];
      for (const v of variants) {
        const a0 = Date.now();
        const r = await runTaskJob(ctx, {
          plan,
          jobId: `${jobId}-${v.variant}`,
          start: v.start,
          corpus,
          variant: v.variant,
          stages: v.stages,
          modelDir: path.join(buildDir, 'ablation-registry'),
        });
        task.ablation[v.variant] = { seconds: since(a0), metrics: r.manifest.metrics, stages: r.log.stages };
      }
    }
  }

  if (quick) {
    // A smoke run's models answer nothing: they must never replace the bundled ones.
    process.stderr.write(
      `smoke build done in ${(since(started) / 60).toFixed(1)} min; its models are in ${ctx.paths.modelDir} (--quick never replaces MODEL_DIR's)\n`,
    );
    return 0;
  }
  // Only now, with every model built and gated, replace the bundled ones.
  for (const manifest of built) {
    const target = path.join(modelDir, manifest.model);
    await fs.rm(target, { recursive: true, force: true });
    await fs.cp(path.join(ctx.paths.modelDir, manifest.model), target, { recursive: true });
  }
  await writeCheckSetResults(modelDir, await scoreCheckSet({ modelDir }));
  ctx.record.total_seconds = since(started);
  const previous = values.only ? await readBuildRecord(modelDir).catch(() => undefined) : undefined;
  const record = previous ? { ...previous, tasks: { ...previous.tasks, ...ctx.record.tasks }, last_partial: ctx.record } : ctx.record;
  await fs.writeFile(path.join(modelDir, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
  await writeReadme({ modelDir, dataDir, record });
  process.stderr.write(`done in ${(ctx.record.total_seconds / 60).toFixed(1)} min\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A bad --base-from folder is the user's to fix, a failed gate an outcome: their messages, not a stack.
    const text = err instanceof GpuBaseError || err instanceof QualityGateError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`models:build failed: ${text}\n`);
    process.exit(err instanceof GpuBaseError ? 2 : 1);
  },
);

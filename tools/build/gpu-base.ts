/**
 * The shared base pre-trained on a lent GPU, as an option beside the CPU build's own:
 *
 *   npm run models:build -- --prepare-gpu-base data/gpu-base     # here: corpus, vocabulary, spec (~14 MB)
 *   bash scripts/gpu-pretrain-base.sh data/gpu-base "$OUT"        # on the device (no node, no network)
 *   npm run models:build -- --base-from DIR                       # here: the parts it brought back
 *
 * The folder holds what trainer/distillery_trainer/gpu_base.py reads (its docstring has the steps);
 * the base it brings back is a tar of the pre-trained teacher and the general student (fp16
 * weights) cut into parts under the device tool's 16 MiB per file, with base.json and the run's
 * events. `--base-from` checks it was pre-trained on this build's corpus and vocabulary, puts it in
 * the base cache under a key of its own (a GPU base never stands in for the CPU one) and the task
 * jobs start from it; models/README.md names the base's device.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { PathsConfig } from '../../src/config.js';
import { prepareJob } from '../../src/training/distill-job.js';
import { parseJobSpec } from '../../src/training/job-spec.js';
import { parseTrainerLine } from '../../src/training/trainer-events.js';
import { type CachedStage, cacheKey, type StageCache } from './cache.js';
import type { GpuBasePlan, TaskPlan } from './plans.js';
import { StageLog, type StageRecord } from './stage-log.js';

/** The folder and pack format trainer/distillery_trainer/gpu_base.py reads and writes (FORMAT there). */
export const GPU_BASE_FORMAT = 1;

/** The cache record of a base (the CPU build's, or one brought back from a GPU). */
export interface BaseRecord {
  /** Where the base was trained: a GPU-trained base is an option the README must name as such. */
  device: string;
  seconds: Record<string, number>;
  stages: Record<string, StageRecord>;
  key_inputs: unknown;
}

/** What a base is pre-trained from: a GPU base must match the build that imports it. */
export interface BaseInputs {
  vocab: string;
  corpus: string;
  seed: number;
}

export class GpuBaseError extends Error {
  override name = 'GpuBaseError';
}

export interface PrepareGpuBaseOptions {
  outDir: string;
  dataDir: string;
  /** The build's scratch paths (the spec is resolved against them, as the build's jobs are). */
  paths: PathsConfig;
  plan: GpuBasePlan;
  /** The task whose data the device job's one-step task stages read (the trainer runs a whole job). */
  task: TaskPlan;
  /** A random teacher under DATA_DIR made with `teacherInitArgs`, for resolving the spec here. */
  teacher: string;
  /** init-model's arguments without --out and --vocab: the device makes the same teacher. */
  teacherInitArgs: string[];
  corpus: string;
  vocab: string;
  inputs: BaseInputs;
  seed: number;
  precision: 'bf16' | 'fp32';
}

/**
 * Writes the device's inputs folder: spec.json (resolved here, data paths relative to the
 * folder), corpus.txt.gz, vocab.txt, train.jsonl, eval.jsonl and inputs.json. Returns its bytes.
 * Throws JobSpecError when the spec does not resolve (a plan out of step with the job schema).
 */
export async function prepareGpuBaseInputs(o: PrepareGpuBaseOptions): Promise<number> {
  const rel = (p: string) => path.relative(o.dataDir, p);
  const taskStages = o.task.spec.stages as Record<string, Record<string, unknown>>;
  const spec = parseJobSpec({
    type: 'distill',
    model: 'gpu-base',
    task: o.task.task,
    teacher: { path: rel(o.teacher) },
    data: { train: o.task.train, eval: o.task.eval, unlabeled: rel(o.corpus) },
    seed: o.seed,
    precision: o.precision,
    // General distillation runs at the job's length: the base's pre-training length, not the task's.
    max_length: o.plan.base.maxLength,
    student: { ...o.plan.base.student, dropout: 0.1, init: 'random' },
    stages: {
      teacher_finetune: { ...taskStages.teacher_finetune, enabled: true },
      task_distill: taskStages.task_distill,
      qat: { ...taskStages.qat, enabled: false },
      ...o.plan.base.stages,
    },
  });
  const resolved = await prepareJob(spec, 'gpu-base', o.paths);
  await fs.rm(o.outDir, { recursive: true, force: true });
  await fs.mkdir(o.outDir, { recursive: true });
  const device = {
    ...resolved,
    teacher_path: 'teacher',
    data: { train: 'train.jsonl', eval: 'eval.jsonl', unlabeled: 'corpus.txt.gz' },
  };
  await fs.writeFile(path.join(o.outDir, 'spec.json'), `${JSON.stringify(device, null, 2)}\n`);
  await fs.copyFile(o.vocab, path.join(o.outDir, 'vocab.txt'));
  await fs.copyFile(path.join(o.dataDir, o.task.train), path.join(o.outDir, 'train.jsonl'));
  await fs.copyFile(path.join(o.dataDir, o.task.eval), path.join(o.outDir, 'eval.jsonl'));
  await pipeline(createReadStream(o.corpus), createGzip(), createWriteStream(path.join(o.outDir, 'corpus.txt.gz')));
  const inputs = {
    format: GPU_BASE_FORMAT,
    prepared_at: new Date().toISOString(),
    base_inputs: o.inputs,
    plan: { minutes: o.plan.minutes, mlm_share: o.plan.mlmShare, base: o.plan.base },
    teacher_init_args: o.teacherInitArgs,
  };
  await fs.writeFile(path.join(o.outDir, 'inputs.json'), `${JSON.stringify(inputs, null, 2)}\n`);
  let bytes = 0;
  for (const f of await fs.readdir(o.outDir)) bytes += (await fs.stat(path.join(o.outDir, f))).size;
  return bytes;
}

/** base.json as gpu_base.py writes it (the fields the import reads). */
interface PackedBase {
  format: number;
  inputs: { base_inputs: BaseInputs; plan: unknown };
  device: string;
  steps: Record<string, number>;
  seconds: Record<string, number | null>;
  pack: { sha256: string; bytes: number; parts: string[]; weights: string };
}

async function readPackedBase(dir: string): Promise<PackedBase> {
  let base: PackedBase;
  try {
    base = JSON.parse(await fs.readFile(path.join(dir, 'base.json'), 'utf8')) as PackedBase;
  } catch (err) {
    throw new GpuBaseError(
      `--base-from ${dir}: no readable base.json (${(err as Error).message}); give the folder scripts/gpu-pretrain-base.sh wrote, with base.json and its base.tar.part files`,
    );
  }
  if (typeof base !== 'object' || base === null || Array.isArray(base)) {
    throw new GpuBaseError(`--base-from ${dir}: base.json is not an object; give the folder scripts/gpu-pretrain-base.sh wrote`);
  }
  if (base.format !== GPU_BASE_FORMAT) {
    throw new GpuBaseError(`--base-from ${dir}: base.json has format ${JSON.stringify(base.format)}; this build reads format ${GPU_BASE_FORMAT}`);
  }
  const parts = base.pack?.parts;
  if (!Array.isArray(parts) || parts.length === 0) throw new GpuBaseError(`--base-from ${dir}: base.json lists no base.tar.part files`);
  const odd = parts.filter((p) => typeof p !== 'string' || !/^base\.tar\.part\d+$/.test(p));
  if (odd.length > 0) {
    throw new GpuBaseError(
      `--base-from ${dir}: base.json's parts must be base.tar.partNN files beside it, not ${odd.map((p) => JSON.stringify(p)).join(', ')}; the pack was edited or is not one gpu-pretrain-base.sh wrote`,
    );
  }
  return base;
}

/** The parts joined (tens of MB, so in memory); throws when one is missing or the sha256 differs. */
async function joinParts(dir: string, base: PackedBase): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (const part of base.pack.parts) {
    chunks.push(
      await fs.readFile(path.join(dir, part)).catch(() => {
        throw new GpuBaseError(`--base-from ${dir}: ${part} is missing (base.json lists ${base.pack.parts.join(', ')}); bring back every part`);
      }),
    );
  }
  const tar = Buffer.concat(chunks);
  const digest = createHash('sha256').update(tar).digest('hex');
  if (digest !== base.pack.sha256) {
    throw new GpuBaseError(
      `--base-from ${dir}: the joined parts' sha256 is ${digest}, base.json says ${base.pack.sha256}: a part is damaged or from another run`,
    );
  }
  return tar;
}

function untar(tarFile: string, into: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', ['-xf', tarFile, '-C', into], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tar -xf exited with ${code}: ${stderr.trim().split('\n').join('; ')}`))));
  });
}

/** Per-stage records from the device run's events, with the seconds its driver measured. */
async function stageRecords(dir: string, base: PackedBase): Promise<Record<string, StageRecord>> {
  const log = new StageLog('gpu-base', { quiet: true });
  const text = await fs.readFile(path.join(dir, 'events.jsonl'), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const event = line.trim() ? parseTrainerLine(line) : undefined;
    if (event) log.onEvent(event);
  }
  const stages: Record<string, StageRecord> = {};
  for (const stage of ['mlm_pretrain', 'general_distill']) {
    stages[stage] = { ...(log.stages[stage] ?? { evals: [] }), seconds: base.seconds?.[stage] ?? 0 };
  }
  return stages;
}

function checkPretrainedOn(dir: string, base: PackedBase, inputs: BaseInputs): void {
  const theirs = base.inputs?.base_inputs;
  const differs = (['corpus', 'vocab', 'seed'] as const).filter((k) => theirs?.[k] !== inputs[k]);
  if (differs.length === 0) return;
  throw new GpuBaseError(
    `--base-from ${dir}: that base was pre-trained on another ${differs.join(' and ')} than this build's (its seed ${JSON.stringify(theirs?.seed)}, this build's ${inputs.seed}); ` +
      'build with the --seed and --quick it was prepared with (--prepare-gpu-base), or prepare and pre-train again',
  );
}

/**
 * The seed check of `--base-from DIR`, before the build spends minutes on corpus and vocabulary:
 * throws GpuBaseError when the pack is unreadable or was prepared with another seed.
 */
export async function checkGpuBaseSeed(dir: string, seed: number): Promise<void> {
  const base = await readPackedBase(dir);
  const theirs = base.inputs?.base_inputs?.seed;
  if (theirs !== seed) {
    throw new GpuBaseError(
      `--base-from ${dir}: that base was prepared with --seed ${JSON.stringify(theirs)}, this build has --seed ${seed}; build with --seed ${theirs}`,
    );
  }
}

/**
 * Imports the base in `dir` (base.json, its parts, events.jsonl) into `cache` and returns it.
 * Throws GpuBaseError when it is incomplete or damaged, or was pre-trained on another corpus,
 * vocabulary or seed than `inputs` (this build's).
 */
export async function importGpuBase(o: { dir: string; cache: StageCache<BaseRecord>; inputs: BaseInputs }): Promise<CachedStage<BaseRecord>> {
  const base = await readPackedBase(o.dir);
  checkPretrainedOn(o.dir, base, o.inputs);
  // Checked on every import, also when the cache already holds this pack: the folder is what the
  // user points at, and a damaged one is refused as the README says.
  const tar = await joinParts(o.dir, base);
  const key = cacheKey({ gpu_base: base.pack.sha256, inputs: o.inputs });
  const hit = await o.cache.lookup(key);
  if (hit) return hit;
  const dir = await o.cache.prepare(key);
  try {
    const tarFile = path.join(dir, 'base.tar');
    await fs.writeFile(tarFile, tar);
    await untar(tarFile, dir).catch((err: unknown) => {
      throw new GpuBaseError(
        `--base-from ${o.dir}: the joined parts are not a readable tar (${(err as Error).message}); pre-train and bring the pack back again`,
      );
    });
    await fs.rm(tarFile);
    for (const name of ['teacher', 'general-student']) {
      await fs.access(path.join(dir, name, 'model.safetensors')).catch(() => {
        throw new GpuBaseError(`--base-from ${o.dir}: the tar holds no ${name}/model.safetensors`);
      });
    }
  } catch (err) {
    // An unfinished entry is never used (no record.json), but it would hold tens of MB.
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
  const stages = await stageRecords(o.dir, base);
  return o.cache.commit(key, {
    device: typeof base.device === 'string' ? base.device : 'unknown (base.json names no device)',
    seconds: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, v.seconds])),
    stages,
    key_inputs: { gpu_base: base.pack.sha256, inputs: o.inputs, plan: base.inputs?.plan, steps: base.steps, weights: base.pack.weights },
  });
}

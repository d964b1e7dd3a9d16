/**
 * Turns a user's job spec into the trainer's resolved spec (docs/trainer-protocol.md): defaults
 * filled, every path resolved inside DATA_DIR (or the registry) and checked, shapes checked
 * against the teacher. Everything a user can get wrong is reported here, before a job is queued,
 * as one JobSpecError listing every problem.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PathsConfig } from '../config.js';
import { JobSpecError, type SpecIssue } from './errors.js';
import type { JobSpec } from './job-spec.js';
import { readTeacherCheckpoint } from './teacher-checkpoint.js';

export interface ResolvedSpec {
  job_id: string;
  model: string;
  task: JobSpec['task'];
  teacher_path: string;
  data: { train: string; eval: string; unlabeled: string | null };
  labels: string[] | null;
  max_length: number;
  doc_stride: number;
  max_query_length: number;
  qa_train_windows: JobSpec['qa_train_windows'];
  student: JobSpec['student'];
  stages: JobSpec['stages'];
  device: JobSpec['device'];
  precision: JobSpec['precision'];
  seed: number;
  checkpoint_every: number;
  max_steps_per_stage: number | null;
  eval_every_epoch: boolean;
}

/**
 * Resolves `rel` inside `root`, refusing anything that escapes it (`..`, absolute paths
 * elsewhere, symlinks pointing out).
 */
export async function resolveInside(root: string, rel: string): Promise<string> {
  const candidate = path.resolve(root, rel);
  const relative = path.relative(root, candidate);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new Error(`${rel} is outside DATA_DIR (${root}); give a path relative to DATA_DIR`);
  }
  let real: string;
  try {
    real = await fs.realpath(candidate);
  } catch {
    throw new Error(`${rel} does not exist in DATA_DIR (${root})`);
  }
  const realRoot = await fs.realpath(root).catch(() => root);
  const realRelative = path.relative(realRoot, real);
  if (realRelative.startsWith('..') || path.isAbsolute(realRelative)) {
    throw new Error(`${rel} links outside DATA_DIR (${root})`);
  }
  return real;
}

async function resolveTeacher(spec: JobSpec, paths: PathsConfig, issues: SpecIssue[]): Promise<string | undefined> {
  const teacher = spec.teacher;
  if ('path' in teacher) {
    try {
      return await resolveInside(paths.dataDir, teacher.path);
    } catch (err) {
      issues.push({ path: '/teacher/path', message: (err as Error).message });
      return undefined;
    }
  }
  const [name, versionText] = teacher.model.split('@') as [string, string | undefined];
  let version = versionText === undefined ? undefined : Number(versionText);
  if (version === undefined) {
    try {
      const state = JSON.parse(await fs.readFile(path.join(paths.modelDir, name, 'state.json'), 'utf8')) as { active?: number };
      version = state.active;
    } catch {
      issues.push({ path: '/teacher/model', message: `model ${name} is not in the registry (MODEL_DIR ${paths.modelDir})` });
      return undefined;
    }
  }
  const dir = path.join(paths.modelDir, name, String(version), 'checkpoint');
  try {
    await fs.access(path.join(dir, 'config.json'));
    return dir;
  } catch {
    issues.push({
      path: '/teacher/model',
      message: `${name}@${version} has no checkpoint/ folder in the registry, so it cannot teach; use a Hugging Face checkpoint folder ({"path": ...})`,
    });
    return undefined;
  }
}

export interface ResolveOptions {
  paths: PathsConfig;
  jobId: string;
}

/** Checks everything that can be checked before the trainer starts and returns its input. */
export async function resolveJobSpec(spec: JobSpec, { paths, jobId }: ResolveOptions): Promise<ResolvedSpec> {
  const issues: SpecIssue[] = [];
  const dataFile = async (role: 'train' | 'eval' | 'unlabeled', rel: string | undefined): Promise<string | null> => {
    if (rel === undefined) return null;
    try {
      const file = await resolveInside(paths.dataDir, rel);
      if (!(await fs.stat(file)).isFile()) throw new Error(`${rel} is not a file`);
      return file;
    } catch (err) {
      issues.push({ path: `/data/${role}`, message: (err as Error).message });
      return null;
    }
  };
  const train = await dataFile('train', spec.data.train);
  const evalFile = await dataFile('eval', spec.data.eval);
  const unlabeled = await dataFile('unlabeled', spec.data.unlabeled);
  if (spec.stages.general_distill.enabled && spec.data.unlabeled === undefined) {
    issues.push({ path: '/data/unlabeled', message: 'stages.general_distill is enabled but data.unlabeled is not set' });
  }
  const rollout = spec.gate.rollout;
  if (rollout?.mode === 'canary' && (rollout.weight === undefined || rollout.sample !== undefined)) {
    issues.push({ path: '/gate/rollout', message: 'a canary takes a weight (0 < weight < 1) and no sample' });
  }
  if (rollout?.mode === 'shadow' && (rollout.sample === undefined || rollout.weight !== undefined)) {
    issues.push({ path: '/gate/rollout', message: 'a shadow takes a sample (0 < sample <= 1) and no weight' });
  }
  if (rollout?.mode === 'canary' && rollout.rules?.min_agreement !== undefined) {
    issues.push({ path: '/gate/rollout/rules/min_agreement', message: 'min_agreement needs a shadow (a canary answers alone, nothing is compared)' });
  }
  if (spec.labels !== undefined && spec.labels !== null && spec.task !== 'classification') {
    issues.push({ path: '/labels', message: 'labels apply to classification only' });
  }

  const s = spec.student;
  if (s.hidden % s.heads !== 0) {
    issues.push({ path: '/student/heads', message: `hidden size ${s.hidden} is not divisible by ${s.heads} heads` });
  }
  if (s.ffn_rank !== null && s.ffn_rank >= Math.min(s.hidden, s.intermediate)) {
    issues.push({
      path: '/student/ffn_rank',
      message: `rank ${s.ffn_rank} saves nothing: it must be below min(hidden ${s.hidden}, intermediate ${s.intermediate})`,
    });
  }
  const maxLength = spec.max_length ?? (spec.task === 'qa' ? 384 : 128);
  if (spec.task === 'qa' && spec.max_query_length + 3 >= maxLength) {
    issues.push({ path: '/max_query_length', message: `max_query_length ${spec.max_query_length} leaves no room for context in max_length ${maxLength}` });
  }
  if (spec.task === 'qa' && spec.doc_stride >= maxLength - spec.max_query_length - 3) {
    issues.push({ path: '/doc_stride', message: `doc_stride ${spec.doc_stride} must be smaller than the context window (max_length - max_query_length - 3)` });
  }

  const teacherPath = await resolveTeacher(spec, paths, issues);
  const teacher = teacherPath === undefined ? undefined : await readTeacherCheckpoint(teacherPath);
  for (const message of teacher?.problems ?? []) issues.push({ path: '/teacher', message });
  const t = teacher?.shape;
  if (t !== undefined) {
    if (s.heads > t.heads || t.heads % s.heads !== 0) {
      issues.push({
        path: '/student/heads',
        message: `the teacher's ${t.heads} attention heads cannot be grouped into ${s.heads}; use a divisor of ${t.heads}`,
      });
    }
    if (s.layers > t.layers) {
      issues.push({ path: '/student/layers', message: `the student (${s.layers} layers) cannot be deeper than the teacher (${t.layers})` });
    }
    if (maxLength > t.maxPositions) {
      issues.push({ path: '/max_length', message: `max_length ${maxLength} exceeds the teacher's ${t.maxPositions} positions` });
    }
  }
  if (issues.length > 0) throw new JobSpecError(issues);

  return {
    job_id: jobId,
    model: spec.model,
    task: spec.task,
    teacher_path: teacherPath as string,
    data: { train: train as string, eval: evalFile as string, unlabeled },
    labels: spec.labels ?? null,
    max_length: maxLength,
    doc_stride: spec.doc_stride,
    max_query_length: spec.max_query_length,
    qa_train_windows: spec.qa_train_windows,
    student: spec.student,
    stages: spec.stages,
    device: spec.device,
    precision: spec.precision,
    seed: spec.seed,
    checkpoint_every: spec.checkpoint_every,
    max_steps_per_stage: spec.max_steps_per_stage,
    eval_every_epoch: true,
  };
}

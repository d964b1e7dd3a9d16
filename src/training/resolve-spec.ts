/**
 * Turns a user's job spec into the trainer's resolved spec (docs/trainer-protocol.md): defaults
 * filled, every path resolved inside DATA_DIR (or the registry) and checked, shapes checked
 * against the teacher. Everything a user can get wrong is reported here, before a job is queued,
 * as one JobSpecError listing every problem.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PathsConfig } from '../config.js';
import { ModelRegistry } from '../inference/registry/model-registry.js';
import { JobSpecError, type SpecIssue } from './errors.js';
import { type JobSpec, JobSpecSchema, QA_WINDOW_FIELDS, TASK_DISTILL_LR } from './job-spec.js';
import { type CheckpointShape, readCheckpointFolder } from './checkpoint-folder.js';
import { type ResolvedStudent, resolveStudent, type StudentInit } from './student-shape.js';

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
  student: ResolvedStudent;
  /** General distillation's teacher; null: the teacher's encoder. */
  general_teacher_path: string | null;
  /** General distillation learns from the teacher teacher_finetune produced in this job. */
  general_teacher_finetuned: boolean;
  /** augment's masked LM; null: the teacher's MLM head, where it has one. */
  mlm_model_path: string | null;
  /** The job spec's stages, task_distill's "auto" lr and mlm_pretrain's max_length resolved. */
  stages: Omit<JobSpec['stages'], 'task_distill' | 'mlm_pretrain'> & {
    task_distill: JobSpec['stages']['task_distill'] & { lr: number };
    mlm_pretrain: JobSpec['stages']['mlm_pretrain'] & { max_length: number };
  };
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

type CheckpointRef = JobSpec['teacher'];

/**
 * The folder a checkpoint reference names: {"path"} inside DATA_DIR, or {"model": "name@version"}
 * (name alone: the active version) in the registry, whose checkpoint/ it must have.
 */
async function resolveCheckpointRef(ref: CheckpointRef, field: string, paths: PathsConfig, issues: SpecIssue[]): Promise<string | undefined> {
  if ('path' in ref) {
    try {
      return await resolveInside(paths.dataDir, ref.path);
    } catch (err) {
      issues.push({ path: `${field}/path`, message: (err as Error).message });
      return undefined;
    }
  }
  const [name, versionText] = ref.model.split('@') as [string, string | undefined];
  let version = versionText === undefined ? undefined : Number(versionText);
  if (version === undefined) {
    try {
      const state = JSON.parse(await fs.readFile(path.join(paths.modelDir, name, 'state.json'), 'utf8')) as { active?: number };
      version = state.active;
    } catch {
      issues.push({ path: `${field}/model`, message: `model ${name} is not in the registry (MODEL_DIR ${paths.modelDir})` });
      return undefined;
    }
  }
  const dir = path.join(paths.modelDir, name, String(version), 'checkpoint');
  try {
    await fs.access(path.join(dir, 'config.json'));
    return dir;
  } catch {
    issues.push({
      path: `${field}/model`,
      message: `${name}@${version} has no checkpoint/ folder in the registry, so its weights cannot be used; give a Hugging Face checkpoint folder ({"path": ...})`,
    });
    return undefined;
  }
}

/** A checkpoint's folder and shape, or undefined with its problems as issues at `field`. */
async function checkpointAt(
  ref: CheckpointRef,
  field: string,
  role: string,
  paths: PathsConfig,
  issues: SpecIssue[],
): Promise<{ dir: string; shape: CheckpointShape } | undefined> {
  const dir = await resolveCheckpointRef(ref, field, paths, issues);
  if (dir === undefined) return undefined;
  const folder = await readCheckpointFolder(dir, role);
  for (const message of folder.problems) issues.push({ path: field, message });
  return folder.shape === undefined || folder.problems.length > 0 ? undefined : { dir, shape: folder.shape };
}

/** task_distill's lr: as given, or "auto" by where the student starts (TASK_DISTILL_LR). */
function taskDistillLr(spec: JobSpec, init: StudentInit): number {
  const lr = spec.stages.task_distill.lr;
  if (lr !== 'auto') return lr;
  // A general_distill stage of this job starts from `init` too; on a job's corpus it stays short,
  // so only weights that come trained from outside get the method's small rate.
  return init.kind !== 'random' && !spec.stages.general_distill.enabled ? TASK_DISTILL_LR.trained : TASK_DISTILL_LR.random;
}

export interface ResolveOptions {
  paths: PathsConfig;
  jobId: string;
}

/** Checks everything that can be checked before the trainer starts and returns its input. */
/**
 * The task of the model's active version in MODEL_DIR, if it has one that can be read: a job
 * publishes into the same model, and a model keeps its task (the API refuses to activate a
 * version of the other one), so the mismatch is refused before any training, not after.
 */
async function activeTask(modelDir: string, model: string): Promise<{ task: string; version: number } | undefined> {
  const registry = new ModelRegistry(modelDir);
  const state = await registry.readState(model).catch(() => undefined);
  if (!state) return undefined;
  const task = await registry.taskOf(model, state.active);
  return task ? { task, version: state.active } : undefined;
}

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
  if (spec.general_teacher === 'finetuned_teacher' && spec.stages.teacher_finetune.enabled === false) {
    issues.push({ path: '/general_teacher', message: '"finetuned_teacher" needs stages.teacher_finetune enabled ("auto" or true)' });
  }
  // A checkpoint only a disabled stage would read is a spec that does not do what its author thinks.
  if (spec.general_teacher !== undefined && !spec.stages.general_distill.enabled) {
    issues.push({
      path: '/general_teacher',
      message:
        'only general distillation reads it, and stages.general_distill is not enabled: set stages.general_distill.enabled to true, or remove general_teacher',
    });
  }
  const augment = spec.stages.augment;
  if (spec.mlm_model !== undefined && !(augment.enabled && augment.methods.includes('mlm'))) {
    issues.push({
      path: '/mlm_model',
      message: 'only augmentation\'s "mlm" method reads it, and it is not on: enable stages.augment with "mlm" in its methods, or remove mlm_model',
    });
  }
  if (spec.stages.general_distill.enabled && spec.data.unlabeled === undefined) {
    issues.push({ path: '/data/unlabeled', message: 'stages.general_distill is enabled but data.unlabeled is not set' });
  }
  const mlm = spec.stages.mlm_pretrain;
  if (mlm.enabled && spec.data.unlabeled === undefined) {
    issues.push({
      path: '/data/unlabeled',
      message: 'stages.mlm_pretrain is enabled but data.unlabeled is not set: give a text file (one passage a line) to pre-train on',
    });
  }
  // The pre-trained teacher has no task head: without fine-tuning it could not teach the task.
  if (mlm.enabled && spec.stages.teacher_finetune.enabled === false) {
    issues.push({
      path: '/stages/mlm_pretrain/enabled',
      message:
        'the pre-trained teacher has no task head, so stages.teacher_finetune must be enabled ("auto" or true) with mlm_pretrain; enable it or disable mlm_pretrain',
    });
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
  // A QA-only choice on a classification job would be dropped without a word: the user who set
  // it expects it to act, so the likelier mistake (task or field) is theirs to fix. A default
  // ("all", doc_stride 128, max_query_length 64) is indistinguishable from the field's absence
  // once defaults are filled in, and the worker re-reads stored specs with every default present.
  if (spec.task !== 'qa' && spec.qa_train_windows !== 'all') {
    issues.push({
      path: '/qa_train_windows',
      message: `qa_train_windows ${JSON.stringify(spec.qa_train_windows)} chooses QA training windows and this is a ${spec.task} job: remove it, or set task "qa"`,
    });
  }
  for (const field of QA_WINDOW_FIELDS) {
    const fallback = JobSpecSchema.properties[field].default as number;
    if (spec.task !== 'qa' && spec[field] !== fallback) {
      issues.push({
        path: `/${field}`,
        message: `${field} ${spec[field]} sizes QA windows and this is a ${spec.task} job: remove it, or set task "qa"`,
      });
    }
  }

  const served = await activeTask(paths.modelDir, spec.model);
  if (served && served.task !== spec.task) {
    issues.push({
      path: '/task',
      message: `model ${spec.model} serves ${served.task} (its active version ${served.version}); a ${spec.task} job would publish a version its clients could not call: name another model, or set task "${served.task}"`,
    });
  }

  const maxLength = spec.max_length ?? (spec.task === 'qa' ? 384 : 128);
  if (spec.task === 'qa' && spec.max_query_length + 3 >= maxLength) {
    issues.push({ path: '/max_query_length', message: `max_query_length ${spec.max_query_length} leaves no room for context in max_length ${maxLength}` });
  }
  if (spec.task === 'qa' && spec.doc_stride >= maxLength - spec.max_query_length - 3) {
    issues.push({ path: '/doc_stride', message: `doc_stride ${spec.doc_stride} must be smaller than the context window (max_length - max_query_length - 3)` });
  }

  const teacher = await checkpointAt(spec.teacher, '/teacher', 'the teacher', paths, issues);
  const generalTeacher =
    spec.general_teacher &&
    spec.general_teacher !== 'finetuned_teacher' &&
    (await checkpointAt(spec.general_teacher, '/general_teacher', 'the general teacher', paths, issues));
  const mlmModel = spec.mlm_model && (await checkpointAt(spec.mlm_model, '/mlm_model', 'the mlm_model', paths, issues));
  const initSpec = spec.student.init;
  let init: StudentInit = { kind: 'random', path: null };
  let initShape: CheckpointShape | undefined;
  if (initSpec === 'teacher') init = { kind: 'teacher', path: null };
  else if (initSpec !== 'random') {
    const found = await checkpointAt(initSpec, '/student/init', 'the init checkpoint', paths, issues);
    if (found !== undefined) {
      init = { kind: 'checkpoint', path: found.dir };
      initShape = found.shape;
    }
  }
  let student: ResolvedStudent | undefined;
  if (teacher !== undefined) {
    student = resolveStudent({ student: spec.student, teacher: teacher.shape, init, initShape, issues });
    if (maxLength > teacher.shape.maxPositions) {
      issues.push({ path: '/max_length', message: `max_length ${maxLength} exceeds the teacher's ${teacher.shape.maxPositions} positions` });
    }
    if (mlm.enabled && mlm.max_length !== undefined && mlm.max_length > teacher.shape.maxPositions) {
      issues.push({
        path: '/stages/mlm_pretrain/max_length',
        message: `max_length ${mlm.max_length} exceeds the teacher's ${teacher.shape.maxPositions} positions`,
      });
    }
    for (const [field, other] of [
      ['/general_teacher', generalTeacher],
      ['/mlm_model', mlmModel],
    ] as const) {
      if (other && other.shape.vocabSize !== teacher.shape.vocabSize) {
        issues.push({
          path: field,
          message: `its vocabulary (${other.shape.vocabSize} tokens) is not the teacher's (${teacher.shape.vocabSize}); it must share the teacher's tokenizer`,
        });
      }
    }
    if (generalTeacher && student) {
      const general = generalTeacher.shape;
      if (student.layers > general.layers) {
        issues.push({
          path: '/general_teacher',
          message: `the student (${student.layers} layers) cannot be deeper than the general teacher (${general.layers})`,
        });
      }
      if (student.heads > general.heads || general.heads % student.heads !== 0) {
        issues.push({
          path: '/general_teacher',
          message: `its ${general.heads} attention heads cannot be grouped into the student's ${student.heads}: the attention loss needs a general teacher whose head count is a multiple of the student's`,
        });
      }
      if (maxLength > general.maxPositions) {
        issues.push({ path: '/general_teacher', message: `max_length ${maxLength} exceeds the general teacher's ${general.maxPositions} positions` });
      }
    }
  }
  if (issues.length > 0) throw new JobSpecError(issues);

  return {
    job_id: jobId,
    model: spec.model,
    task: spec.task,
    teacher_path: (teacher as { dir: string }).dir,
    general_teacher_path: generalTeacher ? generalTeacher.dir : null,
    general_teacher_finetuned: spec.general_teacher === 'finetuned_teacher',
    mlm_model_path: mlmModel ? mlmModel.dir : null,
    data: { train: train as string, eval: evalFile as string, unlabeled },
    labels: spec.labels ?? null,
    max_length: maxLength,
    doc_stride: spec.doc_stride,
    max_query_length: spec.max_query_length,
    qa_train_windows: spec.qa_train_windows,
    student: student as ResolvedStudent,
    stages: {
      ...spec.stages,
      mlm_pretrain: { ...mlm, max_length: mlm.max_length ?? maxLength },
      task_distill: { ...spec.stages.task_distill, lr: taskDistillLr(spec, (student as ResolvedStudent).init) },
    },
    device: spec.device,
    precision: spec.precision,
    seed: spec.seed,
    checkpoint_every: spec.checkpoint_every,
    max_steps_per_stage: spec.max_steps_per_stage,
    eval_every_epoch: true,
  };
}

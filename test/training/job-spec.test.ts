import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PathsConfig } from '../../src/config.js';
import { JobSpecError } from '../../src/training/errors.js';
import { parseJobSpec, upgradeStoredSpec } from '../../src/training/job-spec.js';
import { resolveJobSpec } from '../../src/training/resolve-spec.js';
import { TRAINER_PYTHONPATH } from '../../src/training/trainer-runner.js';

let root: string;
let paths: PathsConfig;

const baseSpec = () => ({
  type: 'distill',
  model: 'demo-intent',
  task: 'classification',
  teacher: { path: 'teacher' },
  data: { train: 'train.jsonl', eval: 'eval.jsonl' },
});

const BERT_BASE = {
  model_type: 'bert',
  hidden_size: 768,
  num_attention_heads: 12,
  num_hidden_layers: 12,
  max_position_embeddings: 512,
  intermediate_size: 3072,
  vocab_size: 30522,
};

/** A teacher folder in DATA_DIR: config.json plus the named files (contents never read, except an index). */
async function writeTeacher(rel: string, empty: string[], written: Record<string, string> = {}, config: object = BERT_BASE): Promise<void> {
  const dir = path.join(paths.dataDir, rel);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  for (const name of empty) await fs.writeFile(path.join(dir, name), '');
  for (const [name, text] of Object.entries(written)) await fs.writeFile(path.join(dir, name), text);
}

const shardIndex = (...shards: string[]) => JSON.stringify({ metadata: { total_size: 1 }, weight_map: Object.fromEntries(shards.map((s, i) => [`t${i}`, s])) });

/** A spec with general distillation on (it needs unlabeled text). */
const withGeneralDistill = (spec: Record<string, unknown> = baseSpec()) => ({
  ...spec,
  data: { ...baseSpec().data, unlabeled: 'train.jsonl' },
  stages: { ...(spec.stages as object), general_distill: { enabled: true } },
});

/** A spec whose augmentation uses the "mlm" method. */
const withMlm = (spec: Record<string, unknown> = baseSpec()) => ({
  ...spec,
  stages: { ...(spec.stages as object), augment: { enabled: true, methods: ['mlm'] } },
});

async function teacherIssues(rel: string): Promise<string[]> {
  return (await issuesOf({ ...baseSpec(), teacher: { path: rel } })).filter((i) => i.path === '/teacher').map((i) => i.message);
}

async function issuesOf(spec: unknown): Promise<{ path: string; message: string }[]> {
  try {
    await resolveJobSpec(parseJobSpec(spec), { paths, jobId: 'j1' });
  } catch (err) {
    if (err instanceof JobSpecError) return err.issues;
    throw err;
  }
  return [];
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'distillery-spec-'));
  paths = { dataDir: path.join(root, 'data'), modelDir: path.join(root, 'models'), workDir: path.join(root, 'work') };
  await writeTeacher('teacher', ['model.safetensors', 'vocab.txt']);
  const checkpoint = (name: string, config: Record<string, number>) => writeTeacher(name, ['model.safetensors', 'vocab.txt'], {}, { ...BERT_BASE, ...config });
  // The issue's example: a 6-head, 384-wide teacher, which the old default of 4 heads refused.
  await checkpoint('teacher-6h', { hidden_size: 384, num_attention_heads: 6, num_hidden_layers: 6, intermediate_size: 1536 });
  await checkpoint('teacher-2l', { hidden_size: 128, num_attention_heads: 2, num_hidden_layers: 2, intermediate_size: 512 });
  await checkpoint('general-4l', { hidden_size: 312, num_attention_heads: 12, num_hidden_layers: 4, intermediate_size: 1200 });
  await checkpoint('other-vocab', { hidden_size: 312, num_attention_heads: 12, num_hidden_layers: 4, intermediate_size: 1200, vocab_size: 21128 });
  await fs.writeFile(path.join(paths.dataDir, 'train.jsonl'), '{"text":"a","label":"x"}\n');
  await fs.writeFile(path.join(paths.dataDir, 'eval.jsonl'), '{"text":"a","label":"x"}\n');
  await fs.writeFile(path.join(root, 'outside.jsonl'), '{}\n');
  await fs.symlink(path.join(root, 'outside.jsonl'), path.join(paths.dataDir, 'link.jsonl'));
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('job spec', () => {
  it('fills the defaults of the method document', () => {
    const spec = parseJobSpec(baseSpec());
    expect(spec.student).toEqual({ layers: 'auto', hidden: 'auto', heads: 'auto', intermediate: 'auto', ffn_rank: null, dropout: 0.1, init: 'random' });
    expect(spec.stages.task_distill.temperature).toBe(2);
    expect(spec.stages.task_distill.weights).toBe('dynamic');
    expect(spec.stages.general_distill).toEqual({ enabled: false, batch_size: 256, lr: 3e-5, epochs: 3, layer_reduction: 'sum', max_steps: null });
    expect(spec.stages.qat.recalibrate_every).toBe(1000);
    expect(spec.gate).toEqual({ max_drop: 0.02, activate: true });
  });

  it('sums the per-layer losses as the published code, with no hard labels and no early stopping unless asked', async () => {
    const spec = parseJobSpec(baseSpec());
    expect(spec.stages.task_distill).toMatchObject({ layer_reduction: 'sum', hard_label_weight: 0, early_stopping_patience: null });
    expect(spec.stages.general_distill.layer_reduction).toBe('sum');
    const asked = parseJobSpec({ ...baseSpec(), stages: { task_distill: { layer_reduction: 'mean', hard_label_weight: 0.5, early_stopping_patience: 3 } } });
    expect(asked.stages.task_distill).toMatchObject({ layer_reduction: 'mean', hard_label_weight: 0.5, early_stopping_patience: 3 });
    const issues = await issuesOf({
      ...baseSpec(),
      stages: { general_distill: { layer_reduction: 'avg' }, task_distill: { layer_reduction: 'max', hard_label_weight: -1, early_stopping_patience: 0 } },
    });
    const by = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(by['/stages/general_distill/layer_reduction']).toBe('must be "sum" or "mean", not "avg"');
    expect(by['/stages/task_distill/layer_reduction']).toBe('must be "sum" or "mean", not "max"');
    expect(by['/stages/task_distill/hard_label_weight']).toBe('must be at least 0, not -1');
    // A union names the bound its number branch failed, not just "an integer".
    expect(by['/stages/task_distill/early_stopping_patience']).toBe('must be null or an integer of at least 1, not 0');
  });

  it('resolves paths inside DATA_DIR and picks the task max length', async () => {
    const resolved = await resolveJobSpec(parseJobSpec(baseSpec()), { paths, jobId: 'j1' });
    expect(resolved.data.train).toBe(await fs.realpath(path.join(paths.dataDir, 'train.jsonl')));
    expect(resolved.max_length).toBe(128);
    expect(resolved.teacher_path).toBe(await fs.realpath(path.join(paths.dataDir, 'teacher')));
  });

  it('the resolved spec of a minimal spec is everything the trainer reads: it has no defaults of its own', async () => {
    const resolved = await resolveJobSpec(parseJobSpec(baseSpec()), { paths, jobId: 'j1' });
    const check = spawnSync(
      '/usr/bin/python3',
      ['-c', 'import json, sys; from distillery_trainer.spec import parse_spec; parse_spec(json.load(sys.stdin)); print("ok")'],
      { input: JSON.stringify(resolved), env: { ...process.env, PYTHONPATH: TRAINER_PYTHONPATH }, encoding: 'utf8' },
    );
    expect(check.stderr).toBe('');
    expect(check.stdout.trim()).toBe('ok');
  });

  it('names unknown fields and wrong types', async () => {
    const issues = await issuesOf({ ...baseSpec(), epochs: 3, student: { heads: 'four' } });
    expect(issues).toContainEqual({ path: '/epochs', message: expect.stringMatching(/is not a known field/) });
    expect(issues.some((i) => i.path === '/student/heads')).toBe(true);
    const dropout = await issuesOf({ ...baseSpec(), student: { dropout: 0.95 } });
    expect(dropout).toContainEqual({ path: '/student/dropout', message: expect.stringMatching(/0\.9/) });
  });

  it('lists every schema problem, each saying what would be right', async () => {
    const issues = await issuesOf({
      ...baseSpec(),
      type: 'distil',
      task: 'clasification',
      studnet: { layers: 2 },
      seed: 'x',
      model: 'Bad Name',
      device: 'gpu',
    });
    const by = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(by['/type']).toBe('must be "distill", not "distil"');
    expect(by['/task']).toBe('must be "classification" or "qa", not "clasification"');
    expect(by['/studnet']).toBe('is not a known field; did you mean "student"?');
    expect(by['/seed']).toBe('must be an integer, not "x"');
    expect(by['/device']).toBe('must be "auto" or "cuda" or "cpu", not "gpu"');
    expect(by['/model']).toMatch(/lowercase letters, digits/);
  });

  it('a number past float64 range (1e400 reads as Infinity) is named as too large, not as null', async () => {
    const issues = await issuesOf(JSON.parse(`{${JSON.stringify(baseSpec()).slice(1, -1)}, "seed": 1e400}`));
    expect(issues).toEqual([{ path: '/seed', message: 'must be an integer, not a number this large' }]);
  });

  it('refuses paths that escape DATA_DIR, by .. or by symlink, and missing files', async () => {
    const issues = await issuesOf({ ...baseSpec(), data: { train: '../outside.jsonl', eval: 'link.jsonl', unlabeled: 'nope.txt' } });
    expect(issues.find((i) => i.path === '/data/train')?.message).toMatch(/outside DATA_DIR/);
    expect(issues.find((i) => i.path === '/data/eval')?.message).toMatch(/links outside DATA_DIR/);
    expect(issues.find((i) => i.path === '/data/unlabeled')?.message).toMatch(/does not exist/);
  });

  it('refuses impossible shapes', async () => {
    const issues = await issuesOf({ ...baseSpec(), student: { hidden: 312, heads: 5, layers: 13 } });
    expect(issues.find((i) => i.path === '/student/heads')?.message).toMatch(/not divisible/);
    expect(issues.find((i) => i.path === '/student/layers')?.message).toMatch(/deeper than the teacher/);
  });

  it('chooses every "auto" student field from the teacher: TinyBERT 4L-312D for BERT-base, one student head per teacher head', async () => {
    const resolved = await resolveJobSpec(parseJobSpec(baseSpec()), { paths, jobId: 'j1' });
    expect(resolved.student).toEqual({
      layers: 4,
      hidden: 312,
      heads: 12,
      intermediate: 1200,
      ffn_rank: null,
      dropout: 0.1,
      init: { kind: 'random', path: null },
      auto: ['layers', 'hidden', 'heads', 'intermediate'],
    });
  });

  it('any valid teacher distils with the defaults: a 6-head teacher, a 2-layer 128-wide one', async () => {
    const six = await resolveJobSpec(parseJobSpec({ ...baseSpec(), teacher: { path: 'teacher-6h' } }), { paths, jobId: 'j1' });
    expect(six.student).toMatchObject({ layers: 4, hidden: 312, heads: 6, intermediate: 1200 });
    const small = await resolveJobSpec(parseJobSpec({ ...baseSpec(), teacher: { path: 'teacher-2l' } }), { paths, jobId: 'j1' });
    expect(small.student).toMatchObject({ layers: 2, hidden: 128, heads: 2, intermediate: 492 });
    // An explicit value that cannot work is still refused, saying what would.
    const issues = await issuesOf({ ...baseSpec(), teacher: { path: 'teacher-6h' }, student: { heads: 4 } });
    expect(issues.find((i) => i.path === '/student/heads')?.message).toBe(
      'the teacher\'s 6 attention heads cannot be grouped into 4; use a divisor of 6 (or leave heads "auto": 6 here)',
    );
    expect(six.student.auto).toEqual(['layers', 'hidden', 'heads', 'intermediate']);
    const given = await resolveJobSpec(parseJobSpec({ ...baseSpec(), teacher: { path: 'teacher-6h' }, student: { heads: 3 } }), { paths, jobId: 'j1' });
    expect(given.student.auto).toEqual(['layers', 'hidden', 'intermediate']);
  });

  it("student.init: the teacher's layers take its width; a checkpoint its whole shape; a mismatch says which field", async () => {
    const fromTeacher = await resolveJobSpec(parseJobSpec({ ...baseSpec(), teacher: { path: 'teacher-6h' }, student: { init: 'teacher' } }), {
      paths,
      jobId: 'j1',
    });
    expect(fromTeacher.student).toMatchObject({ layers: 4, hidden: 384, heads: 6, intermediate: 1536, init: { kind: 'teacher', path: null } });
    const fromGeneral = await resolveJobSpec(parseJobSpec({ ...baseSpec(), student: { init: { path: 'general-4l' } } }), { paths, jobId: 'j1' });
    expect(fromGeneral.student).toMatchObject({
      layers: 4,
      hidden: 312,
      heads: 12,
      intermediate: 1200,
      init: { kind: 'checkpoint', path: await fs.realpath(path.join(paths.dataDir, 'general-4l')) },
    });
    const wrong = await issuesOf({ ...baseSpec(), teacher: { path: 'teacher-6h' }, student: { init: 'teacher', hidden: 312 } });
    expect(wrong).toContainEqual({ path: '/student/hidden', message: expect.stringMatching(/hidden 312 differs from the teacher's 384.*leave hidden "auto"/) });
    const vocab = await issuesOf({ ...baseSpec(), student: { init: { path: 'other-vocab' } } });
    expect(vocab).toContainEqual({ path: '/student/init', message: expect.stringMatching(/vocabulary \(21128 tokens\) is not the teacher's \(30522\)/) });
    // A version we published earlier: its checkpoint/ in the registry, by number or as the active one.
    const published = path.join(paths.modelDir, 'published', '3', 'checkpoint');
    await fs.mkdir(published, { recursive: true });
    await fs.writeFile(
      path.join(published, 'config.json'),
      JSON.stringify({ ...BERT_BASE, hidden_size: 312, num_attention_heads: 12, num_hidden_layers: 4, intermediate_size: 1200 }),
    );
    for (const name of ['model.safetensors', 'vocab.txt']) await fs.writeFile(path.join(published, name), '');
    await fs.writeFile(path.join(paths.modelDir, 'published', 'state.json'), JSON.stringify({ active: 3 }));
    for (const model of ['published@3', 'published']) {
      const fromRegistry = await resolveJobSpec(parseJobSpec({ ...baseSpec(), student: { init: { model } } }), { paths, jobId: 'j1' });
      expect(fromRegistry.student).toMatchObject({ layers: 4, hidden: 312, heads: 12, intermediate: 1200, init: { kind: 'checkpoint', path: published } });
    }
    const missing = await issuesOf({ ...baseSpec(), student: { init: { model: 'nobody@2' } } });
    expect(missing).toContainEqual({ path: '/student/init/model', message: expect.stringMatching(/no checkpoint\/ folder/) });
  });

  it('general_teacher and mlm_model resolve like the teacher and must share its vocabulary', async () => {
    const resolved = await resolveJobSpec(parseJobSpec({ ...withGeneralDistill(), general_teacher: { path: 'general-4l' } }), { paths, jobId: 'j1' });
    expect(resolved.general_teacher_path).toBe(await fs.realpath(path.join(paths.dataDir, 'general-4l')));
    expect(resolved.mlm_model_path).toBeNull();
    const issues = await issuesOf({ ...withGeneralDistill(withMlm()), general_teacher: { path: 'other-vocab' }, mlm_model: { path: 'nope' } });
    expect(issues).toContainEqual({ path: '/general_teacher', message: expect.stringMatching(/must share the teacher's tokenizer/) });
    expect(issues).toContainEqual({ path: '/mlm_model/path', message: expect.stringMatching(/does not exist/) });
  });

  it('task_distill lr "auto": the method\'s 5e-5 for a student that starts from trained weights, 5e-4 from random or this job\'s general distillation', async () => {
    const lrOf = async (spec: object) => (await resolveJobSpec(parseJobSpec({ ...baseSpec(), ...spec }), { paths, jobId: 'j1' })).stages.task_distill.lr;
    expect(parseJobSpec(baseSpec()).stages.task_distill.lr).toBe('auto');
    expect(await lrOf({})).toBe(5e-4);
    expect(await lrOf({ student: { init: 'teacher' } })).toBe(5e-5);
    expect(await lrOf({ student: { init: { path: 'general-4l' } } })).toBe(5e-5);
    await fs.writeFile(path.join(paths.dataDir, 'corpus.txt'), 'text\n');
    expect(await lrOf({ data: { ...baseSpec().data, unlabeled: 'corpus.txt' }, stages: { general_distill: { enabled: true } } })).toBe(5e-4);
    expect(await lrOf({ stages: { task_distill: { lr: 1e-4 } } })).toBe(1e-4);
  });

  it('general_teacher "finetuned_teacher" is the teacher this job fine-tunes, and needs that stage', async () => {
    const resolved = await resolveJobSpec(parseJobSpec({ ...withGeneralDistill(), general_teacher: 'finetuned_teacher' }), { paths, jobId: 'j1' });
    expect(resolved).toMatchObject({ general_teacher_path: null, general_teacher_finetuned: true });
    const plain = await resolveJobSpec(parseJobSpec(baseSpec()), { paths, jobId: 'j1' });
    expect(plain.general_teacher_finetuned).toBe(false);
    const issues = await issuesOf({
      ...withGeneralDistill(),
      general_teacher: 'finetuned_teacher',
      stages: { general_distill: { enabled: true }, teacher_finetune: { enabled: false } },
    });
    expect(issues).toContainEqual({ path: '/general_teacher', message: expect.stringMatching(/needs stages.teacher_finetune enabled/) });
  });

  it('ffn_rank must save weights: below h I / (h + I)', async () => {
    const issues = await issuesOf({ ...baseSpec(), student: { ffn_rank: 256 } });
    expect(issues).toContainEqual({ path: '/student/ffn_rank', message: expect.stringMatching(/rank 256 saves no weights.*use a rank of at most 247/) });
    expect(await issuesOf({ ...baseSpec(), student: { ffn_rank: 200 } })).toEqual([]);
  });

  it('refuses a low-rank feed-forward that stores no fewer weights than the dense one, naming the bound', async () => {
    // 312 x 1200: r (312 + 1200) < 312 * 1200 holds up to r = 247 (374400 / 1512 = 247.6).
    expect(await issuesOf({ ...baseSpec(), student: { ffn_rank: 247 } })).toEqual([]);
    const issues = await issuesOf({ ...baseSpec(), student: { ffn_rank: 248 } });
    expect(issues).toEqual([{ path: '/student/ffn_rank', message: expect.stringMatching(/at most 247 .*or null/) }]);
    expect(issues[0]?.message).toMatch(/374976 against hidden\*intermediate = 374400/);
    // Below min(hidden, intermediate), the bound this replaced, and still no saving.
    expect((await issuesOf({ ...baseSpec(), student: { ffn_rank: 300 } })).map((i) => i.path)).toEqual(['/student/ffn_rank']);
  });

  it('an old spec with general_distill.temperature is told the field went and to remove it', async () => {
    const issues = await issuesOf({ ...baseSpec(), stages: { general_distill: { temperature: 5 } } });
    expect(issues).toEqual([
      {
        path: '/stages/general_distill/temperature',
        message: expect.stringMatching(/^is no longer a field \(general distillation has no prediction layer.*\); remove it$/),
      },
    ]);
    // A job queued before the field went carries it as a filled-in default: the worker drops it.
    const queued = { ...baseSpec(), stages: { general_distill: { enabled: false, epochs: 3, batch_size: 256, lr: 3e-5, temperature: 5 } } };
    expect(parseJobSpec(upgradeStoredSpec(queued)).stages.general_distill).toEqual({
      enabled: false,
      epochs: 3,
      batch_size: 256,
      lr: 3e-5,
      layer_reduction: 'sum',
      max_steps: null,
    });
    expect(queued.stages.general_distill.temperature).toBe(5);
  });

  it("mlm_pretrain: off by default, BERT's masking, max_length the job's unless given, a fractional epoch and a step cap", async () => {
    expect(parseJobSpec(baseSpec()).stages.mlm_pretrain).toEqual({
      enabled: false,
      epochs: 1,
      batch_size: 32,
      lr: 1e-4,
      warmup_ratio: 0.05,
      mask_prob: 0.15,
      max_steps: null,
      evaluations: 5,
    });
    const on = { ...baseSpec(), data: { ...baseSpec().data, unlabeled: 'train.jsonl' } };
    const resolved = await resolveJobSpec(parseJobSpec({ ...on, stages: { mlm_pretrain: { enabled: true, epochs: 0.3 } } }), { paths, jobId: 'j1' });
    expect(resolved.stages.mlm_pretrain).toMatchObject({ enabled: true, epochs: 0.3, max_length: 128, mask_prob: 0.15 });
    const capped = await resolveJobSpec(
      parseJobSpec({
        ...on,
        stages: { mlm_pretrain: { enabled: true, max_length: 256, max_steps: 4000 }, general_distill: { enabled: true, max_steps: 9000 } },
      }),
      { paths, jobId: 'j1' },
    );
    expect(capped.stages.mlm_pretrain).toMatchObject({ max_length: 256, max_steps: 4000 });
    expect(capped.stages.general_distill.max_steps).toBe(9000);
    // What the resolver hands over, the trainer reads without a default of its own.
    const check = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        'import json, sys; from distillery_trainer.spec import parse_spec; s = parse_spec(json.load(sys.stdin)).stages; print(s["mlm_pretrain"].extra["max_length"], s["mlm_pretrain"].max_steps, s["general_distill"].max_steps)',
      ],
      { input: JSON.stringify(capped), env: { ...process.env, PYTHONPATH: TRAINER_PYTHONPATH }, encoding: 'utf8' },
    );
    expect(check.stderr).toBe('');
    expect(check.stdout.trim()).toBe('256 4000 9000');
  });

  it("mlm_pretrain is refused without data.unlabeled, without teacher fine-tuning, or longer than the teacher's positions", async () => {
    const noText = await issuesOf({ ...baseSpec(), stages: { mlm_pretrain: { enabled: true } } });
    expect(noText.find((i) => i.path === '/data/unlabeled')?.message).toMatch(/stages\.mlm_pretrain is enabled but data\.unlabeled is not set/);
    const on = { ...baseSpec(), data: { ...baseSpec().data, unlabeled: 'train.jsonl' } };
    const noFinetune = await issuesOf({ ...on, stages: { mlm_pretrain: { enabled: true }, teacher_finetune: { enabled: false } } });
    expect(noFinetune).toEqual([{ path: '/stages/mlm_pretrain/enabled', message: expect.stringMatching(/teacher_finetune must be enabled/) }]);
    expect(await issuesOf({ ...on, stages: { mlm_pretrain: { enabled: true }, teacher_finetune: { enabled: 'auto' } } })).toEqual([]);
    await writeTeacher('teacher-128', ['model.safetensors', 'vocab.txt'], {}, { ...BERT_BASE, max_position_embeddings: 128 });
    const tooLong = await issuesOf({ ...on, teacher: { path: 'teacher-128' }, stages: { mlm_pretrain: { enabled: true, max_length: 256 } } });
    expect(tooLong).toEqual([{ path: '/stages/mlm_pretrain/max_length', message: "max_length 256 exceeds the teacher's 128 positions" }]);
    const badMask = await issuesOf({ ...on, stages: { mlm_pretrain: { enabled: true, mask_prob: 1 } } });
    expect(badMask.map((i) => i.path)).toEqual(['/stages/mlm_pretrain/mask_prob']);
  });

  it('an exclusive upper bound is said in words, alone or in a union', async () => {
    const on = { ...baseSpec(), data: { ...baseSpec().data, unlabeled: 'train.jsonl' } };
    const mask = await issuesOf({ ...on, stages: { mlm_pretrain: { enabled: true, mask_prob: 1 } } });
    expect(mask).toEqual([{ path: '/stages/mlm_pretrain/mask_prob', message: 'must be less than 1, not 1' }]);
    const canary = await issuesOf({ ...baseSpec(), gate: { rollout: { mode: 'canary', weight: 1.5 } } });
    expect(canary.find((i) => i.path === '/gate/rollout/weight')?.message).toBe('must be less than 1, not 1.5');
  });

  it('qa_train_windows other than "all" on a classification job is refused, not dropped', async () => {
    for (const windows of ['answer', 'answer_and_one_other']) {
      expect(await issuesOf({ ...baseSpec(), qa_train_windows: windows })).toEqual([
        { path: '/qa_train_windows', message: expect.stringMatching(/this is a classification job: remove it, or set task "qa"/) },
      ]);
    }
    expect(await issuesOf({ ...baseSpec(), qa_train_windows: 'all' })).toEqual([]);
  });

  it('a job of the other task than the model serves is refused before any training', async () => {
    // MODEL_DIR holds demo-intent with a classification version 1 active.
    const dir = path.join(paths.modelDir, 'demo-intent');
    await fs.mkdir(path.join(dir, '1'), { recursive: true });
    await fs.writeFile(path.join(dir, '1', 'config.json'), JSON.stringify({ task: 'classification', max_length: 64, labels: ['a', 'b'], outputs: ['logits'] }));
    await fs.writeFile(path.join(dir, 'state.json'), JSON.stringify({ active: 1, activated_at: new Date().toISOString(), history: [] }));
    try {
      expect(await issuesOf({ ...baseSpec(), task: 'qa' })).toContainEqual({
        path: '/task',
        message:
          'model demo-intent serves classification (its active version 1); a qa job would publish a version its clients could not call: name another model, or set task "classification"',
      });
      expect((await issuesOf(baseSpec())).filter((i) => i.path === '/task')).toEqual([]);
      // Another model name is free to do QA.
      expect((await issuesOf({ ...baseSpec(), model: 'demo-qa', task: 'qa' })).filter((i) => i.path === '/task')).toEqual([]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('doc_stride and max_query_length on a classification job are refused, not dropped', async () => {
    expect(await issuesOf({ ...baseSpec(), doc_stride: 64, max_query_length: 32 })).toEqual([
      { path: '/doc_stride', message: 'doc_stride 64 sizes QA windows and this is a classification job: remove it, or set task "qa"' },
      { path: '/max_query_length', message: 'max_query_length 32 sizes QA windows and this is a classification job: remove it, or set task "qa"' },
    ]);
    // The defaults, as a stored spec carries them.
    expect(await issuesOf({ ...baseSpec(), doc_stride: 128, max_query_length: 64 })).toEqual([]);
    // A classification job queued before the refusal still runs: the worker drops what never acted.
    const queued = parseJobSpec({ ...baseSpec(), doc_stride: 64, max_query_length: 32 });
    const upgraded = parseJobSpec(upgradeStoredSpec(JSON.parse(JSON.stringify(queued))));
    expect(upgraded).toMatchObject({ doc_stride: 128, max_query_length: 64 });
    expect(await issuesOf(upgraded)).toEqual([]);
    // A QA job keeps its windows.
    const qa = parseJobSpec({ ...baseSpec(), task: 'qa', doc_stride: 64, max_query_length: 32 });
    expect(parseJobSpec(upgradeStoredSpec(qa))).toMatchObject({ doc_stride: 64, max_query_length: 32 });
  });

  it('refuses head counts the teacher cannot be grouped into', async () => {
    const issues = await issuesOf({ ...baseSpec(), student: { hidden: 320, heads: 5 } });
    expect(issues.find((i) => i.path === '/student/heads')?.message).toMatch(/cannot be grouped/);
  });

  it('needs unlabeled data for general distillation and a registry teacher that exists', async () => {
    const issues = await issuesOf({ ...baseSpec(), teacher: { model: 'nobody@3' }, stages: { general_distill: { enabled: true } } });
    expect(issues.find((i) => i.path === '/data/unlabeled')).toBeDefined();
    expect(issues.find((i) => i.path === '/teacher/model')?.message).toMatch(/no checkpoint/);
  });

  it('a gate roll-out: a canary needs its weight, a shadow its sample; rules get their defaults', async () => {
    const spec = parseJobSpec({ ...baseSpec(), gate: { rollout: { mode: 'canary', weight: 0.1, rules: { min_requests: 100 } } } });
    expect(spec.gate.rollout).toEqual({ mode: 'canary', weight: 0.1, rules: { min_requests: 100, on_pass: 'promote', on_fail: 'abort' } });
    expect(await issuesOf({ ...baseSpec(), gate: { rollout: { mode: 'canary', sample: 0.5 } } })).toContainEqual({
      path: '/gate/rollout',
      message: expect.stringMatching(/weight/),
    });
    expect(await issuesOf({ ...baseSpec(), gate: { rollout: { mode: 'shadow' } } })).toContainEqual({
      path: '/gate/rollout',
      message: expect.stringMatching(/sample/),
    });
    expect(
      await issuesOf({ ...baseSpec(), gate: { rollout: { mode: 'canary', weight: 0.1, rules: { min_requests: 5, min_agreement: 0.9 } } } }),
    ).toContainEqual({ path: '/gate/rollout/rules/min_agreement', message: expect.stringMatching(/shadow/) });
    expect((await issuesOf({ ...baseSpec(), gate: { rollout: { mode: 'canary', weight: 1 } } })).map((i) => i.path)).toContain('/gate/rollout/weight');
  });

  it('takes a teacher folder in each layout transformers writes', async () => {
    const st = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const bin = ['pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin'];
    await writeTeacher('layouts/safetensors', ['model.safetensors', 'tokenizer.json']);
    await writeTeacher('layouts/bin', ['pytorch_model.bin', 'vocab.txt', 'tokenizer_config.json']);
    await writeTeacher('layouts/sharded', [...st, 'vocab.txt'], { 'model.safetensors.index.json': shardIndex(st[0]!, st[1]!, st[1]!) });
    await writeTeacher('layouts/sharded-bin', [...bin, 'tokenizer.json'], { 'pytorch_model.bin.index.json': shardIndex(...bin) });
    // config.json saved by a Windows editor, with a UTF-8 byte order mark (the trainer reads it too).
    await writeTeacher('layouts/bom', ['model.safetensors', 'vocab.txt'], { 'config.json': `\uFEFF${JSON.stringify(BERT_BASE)}` });
    for (const layout of ['safetensors', 'bin', 'sharded', 'sharded-bin', 'bom']) {
      expect(await issuesOf({ ...baseSpec(), teacher: { path: `layouts/${layout}` } }), layout).toEqual([]);
    }
  });

  it('names what a teacher folder lacks, or has instead, before a job is queued', async () => {
    await writeTeacher('wrong/tf', ['tf_model.h5', 'vocab.txt']);
    expect(await teacherIssues('wrong/tf')).toEqual([
      expect.stringMatching(/no PyTorch weights: expected model\.safetensors.*; it has tf_model\.h5 \(TensorFlow 2\).*from_tf=True/),
    ]);
    await writeTeacher('wrong/no-tokenizer', ['model.safetensors', 'tokenizer_config.json']);
    expect(await teacherIssues('wrong/no-tokenizer')).toEqual(['the teacher folder has no tokenizer: expected tokenizer.json or vocab.txt']);
    await writeTeacher('wrong/shards', ['model-00001-of-00002.safetensors', 'vocab.txt'], {
      'model.safetensors.index.json': shardIndex('model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', '../outside.safetensors'),
    });
    expect(await teacherIssues('wrong/shards')).toEqual([
      "shard model-00002-of-00002.safetensors named in the teacher's model.safetensors.index.json is missing",
      'the teacher\'s model.safetensors.index.json names shard "../outside.safetensors", which is not a file in the checkpoint folder',
    ]);
    await writeTeacher('wrong/index', ['vocab.txt'], { 'pytorch_model.bin.index.json': '{"metadata": {}}' });
    expect(await teacherIssues('wrong/index')).toEqual([expect.stringMatching(/pytorch_model\.bin\.index\.json needs a non-empty "weight_map"/)]);
    await writeTeacher('wrong/roberta', ['model.safetensors', 'vocab.txt'], {}, { ...BERT_BASE, model_type: 'roberta' });
    expect(await teacherIssues('wrong/roberta')).toEqual([expect.stringMatching(/model_type "roberta": only BERT checkpoints/)]);
    await fs.mkdir(path.join(paths.dataDir, 'wrong/empty'), { recursive: true });
    expect(await teacherIssues('wrong/empty')).toEqual([
      expect.stringMatching(/no config\.json/),
      expect.stringMatching(/no PyTorch weights/),
      expect.stringMatching(/no tokenizer/),
    ]);
  });

  it('names a config.json of the wrong form, or of a shape no BERT has, before a job is queued', async () => {
    const files = ['model.safetensors', 'vocab.txt'];
    await writeTeacher('form/null', files, { 'config.json': 'null' });
    expect(await teacherIssues('form/null')).toEqual([expect.stringMatching(/config\.json must be a JSON object of BERT settings .*not null$/)]);
    await writeTeacher('form/array', files, { 'config.json': '[768]' });
    expect(await teacherIssues('form/array')).toEqual([expect.stringMatching(/must be a JSON object .*not \[768\]$/)]);
    await writeTeacher('form/numbers', files, {}, { ...BERT_BASE, hidden_size: 76.8, num_attention_heads: 0, type_vocab_size: '2' });
    expect(await teacherIssues('form/numbers')).toEqual([
      'the teacher\'s config.json needs a positive integer for hidden_size (76.8), num_attention_heads (0), type_vocab_size ("2")',
    ]);
    await writeTeacher('form/heads', files, {}, { ...BERT_BASE, num_attention_heads: 5 });
    expect(await teacherIssues('form/heads')).toEqual([expect.stringMatching(/hidden_size 768 is not divisible by num_attention_heads 5/)]);
    await writeTeacher('form/shard', ['vocab.txt', 'config.bin'], { 'model.safetensors.index.json': shardIndex('config.bin') });
    expect(await teacherIssues('form/shard')).toEqual([expect.stringMatching(/names shard "config\.bin"; its shards must be \.safetensors files/)]);
  });

  it('an "auto" student is never wider than its teacher: intermediate at most the teacher\'s', async () => {
    await writeTeacher(
      'narrow-ffn',
      ['model.safetensors', 'vocab.txt'],
      {},
      { ...BERT_BASE, hidden_size: 256, num_attention_heads: 4, intermediate_size: 512 },
    );
    const resolved = await resolveJobSpec(parseJobSpec({ ...baseSpec(), teacher: { path: 'narrow-ffn' } }), { paths, jobId: 'j1' });
    expect(resolved.student).toMatchObject({ hidden: 256, intermediate: 512 });
  });

  it('an init checkpoint whose heads, positions or token types the teacher cannot teach is refused at /student/init', async () => {
    const general = { ...BERT_BASE, hidden_size: 312, num_hidden_layers: 4, intermediate_size: 1200 };
    await writeTeacher('init/8h', ['model.safetensors', 'vocab.txt'], {}, { ...general, num_attention_heads: 8 });
    const heads = await issuesOf({ ...baseSpec(), student: { init: { path: 'init/8h' } } });
    expect(heads).toEqual([
      {
        path: '/student/init',
        message: expect.stringMatching(/^the init checkpoint's 8 attention heads cannot be grouped from the teacher's 12 .*divides 12, or init "random"$/),
      },
    ]);
    await writeTeacher(
      'init/128',
      ['model.safetensors', 'vocab.txt'],
      {},
      { ...general, num_attention_heads: 12, max_position_embeddings: 128, type_vocab_size: 1 },
    );
    const inputs = await issuesOf({ ...baseSpec(), student: { init: { path: 'init/128' } } });
    expect(inputs).toEqual([
      { path: '/student/init', message: expect.stringMatching(/^the init checkpoint's max_position_embeddings 128 is not the teacher's 512/) },
      { path: '/student/init', message: expect.stringMatching(/^the init checkpoint's type_vocab_size 1 is not the teacher's 2/) },
    ]);
  });

  it('a general teacher must have heads the student can be grouped into and room for max_length', async () => {
    await writeTeacher(
      'general/8h',
      ['model.safetensors', 'vocab.txt'],
      {},
      { ...BERT_BASE, hidden_size: 512, num_attention_heads: 8, max_position_embeddings: 64 },
    );
    const issues = await issuesOf({ ...withGeneralDistill(), general_teacher: { path: 'general/8h' } });
    expect(issues).toEqual([
      { path: '/general_teacher', message: expect.stringMatching(/^its 8 attention heads cannot be grouped into the student's 12/) },
      { path: '/general_teacher', message: "max_length 128 exceeds the general teacher's 64 positions" },
    ]);
  });

  it('a general_teacher or mlm_model that no enabled stage reads is refused, saying which stage to enable', async () => {
    const issues = await issuesOf({ ...baseSpec(), general_teacher: { path: 'general-4l' }, mlm_model: { path: 'general-4l' } });
    expect(issues).toEqual([
      {
        path: '/general_teacher',
        message: expect.stringMatching(/stages\.general_distill is not enabled: set stages\.general_distill\.enabled to true, or remove/),
      },
      { path: '/mlm_model', message: expect.stringMatching(/"mlm" method .*enable stages\.augment with "mlm" in its methods, or remove mlm_model/) },
    ]);
    const wordnetOnly = { ...baseSpec(), mlm_model: { path: 'general-4l' }, stages: { augment: { enabled: true, methods: ['wordnet'] } } };
    expect((await issuesOf(wordnetOnly)).map((i) => i.path)).toEqual(['/mlm_model']);
    expect(await issuesOf({ ...withMlm(), mlm_model: { path: 'general-4l' } })).toEqual([]);
  });
});

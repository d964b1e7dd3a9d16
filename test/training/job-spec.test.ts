import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PathsConfig } from '../../src/config.js';
import { JobSpecError } from '../../src/training/errors.js';
import { parseJobSpec } from '../../src/training/job-spec.js';
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
  await fs.mkdir(path.join(paths.dataDir, 'teacher'), { recursive: true });
  await fs.writeFile(
    path.join(paths.dataDir, 'teacher', 'config.json'),
    JSON.stringify({ hidden_size: 768, num_attention_heads: 12, num_hidden_layers: 12, max_position_embeddings: 512 }),
  );
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
    expect(spec.student).toEqual({ layers: 4, hidden: 312, heads: 4, intermediate: 1200, ffn_rank: null, dropout: 0.1 });
    expect(spec.stages.task_distill.temperature).toBe(2);
    expect(spec.stages.task_distill.weights).toBe('dynamic');
    expect(spec.stages.general_distill).toMatchObject({ batch_size: 256, lr: 3e-5, temperature: 5, epochs: 3 });
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
});

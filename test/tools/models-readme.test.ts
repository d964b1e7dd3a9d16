/** models/README.md as rendered from manifests and build.json: the tables the issue asks for. */
import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/inference/registry/types.js';
import type { BuildRecord } from '../../tools/build/build-record.js';
import { renderModelsReadme } from '../../tools/models-readme.js';

const manifest = {
  model: 'support-qa',
  version: 1,
  task: 'qa',
  created_at: '2026-11-30T00:00:00Z',
  files: {},
  lineage: { job_id: 'j', teacher: 't', datasets: {}, hyperparameters: {} },
  shapes: { student: { layers: 4 } },
  metrics: {
    teacher: { exact_match: 0.7, f1: 0.8, parameters: 10.5e6, file_bytes: 42e6, latency_ms_b1_128: 12 },
    student_fp32: { exact_match: 0.68, f1: 0.78 },
    student_int8: { exact_match: 0.67, f1: 0.775, file_bytes: 7.4e6 },
    student_ptq_int8: { exact_match: 0.6, f1: 0.7 },
  },
  gate: { passed: true, activated: true, reason: 'gate passed' },
} as unknown as Manifest;

const stage = (seconds: number, evals: [number, number][] = []) => ({
  seconds,
  evals: evals.map(([step, f1]) => ({ step, role: 'student', metrics: { f1 } })),
});

const record: BuildRecord = {
  seed: 1234,
  quick: false,
  only: null,
  started_at: '2026-11-30T00:00:00Z',
  total_seconds: 4800,
  cpu: 'Test CPU (avx2), 2 cores',
  precision: 'bf16',
  stages: { datagen: { seconds: 1, cached: false }, corpus: { seconds: 45, cached: true }, base: { seconds: 0, cached: false } },
  base: { seconds: { mlm_pretrain: 1200, general_distill: 540 }, stages: { mlm_pretrain: stage(1200), general_distill: stage(540) } },
  // As corpus.py writes corpus.json (trimmed): per-source packages, and the totals under "total".
  corpus: {
    generator: 'distillery_trainer.datasets.corpus',
    sources: [
      {
        name: 'wordnet',
        license: 'WordNet-3.0 (BSD-like)',
        packages: [{ name: 'wordnet-base', version: '1:3.0-37', licenses: ['WordNet3.0'] }],
        passages: 23847,
        words: 1647889,
      },
    ],
    total: { passages: 122227, words: 6536827, bytes: 40596805, sha256: 'x' },
  },
  tasks: {
    'support-qa': {
      seconds: 1800,
      stages: {
        teacher_finetune: stage(600),
        task_distill: stage(700, [
          [100, 0.5],
          [200, 0.77],
        ]),
      },
      ablation: {
        'random-teacher': { seconds: 1300, metrics: { teacher: { f1: 0.41 }, student_int8: { f1: 0.39 } }, stages: {} },
      },
    },
  },
};

describe('renderModelsReadme', () => {
  const text = renderModelsReadme({ manifests: [manifest], baselines: { 'support-qa': { name: 'first sentence', f1: 0.03 } }, record });

  it('puts teacher, FP32, INT8, post-training INT8 and the trivial baseline in one table', () => {
    expect(text).toContain('| teacher (FP32) | 70.0 / 80.0 | 10.50 | 42.0 | 12.00 |');
    expect(text).toContain('| student INT8, QAT (served) | 67.0 / 77.5 |');
    expect(text).toContain('| student INT8, post-training (baseline) | 60.0 / 70.0 |');
    expect(text).toContain('| trivial baseline: first sentence | - / 3.0 |');
  });

  it('shows what each stage added, saying which variants were not run', () => {
    expect(text).toContain('| random | random | 41.0 | 39.0 |');
    expect(text).toContain('| pre-trained (mlm_pretrain) | random | not run | not run |');
    expect(text).toContain('| pre-trained (mlm_pretrain) | general-distilled (served) | 80.0 | 77.5 |');
    expect(text).toContain('task_distill: 100: 50.0, 200: 77.0');
  });

  it('lists the corpus sources with their packages and the totals', () => {
    expect(text).toContain('| wordnet | wordnet-base (1:3.0-37) | WordNet-3.0 (BSD-like) | 23847 | 1647889 |');
    expect(text).toContain('Total: 122227 passages, 6536827 words, 40.6 MB.');
  });

  it('times every stage, marks the cached ones, and names the CPU and precision', () => {
    expect(text).toContain('| corpus | 0.8 | cached');
    expect(text).toContain('| base: mlm_pretrain | 20.0 |  |');
    expect(text).toContain('| support-qa: teacher_finetune | 10.0 | |');
    expect(text).toContain('| **total** | **80.0** | |');
    expect(text).toContain('Test CPU (avx2), 2 cores, seed 1234, training precision bf16');
  });
});

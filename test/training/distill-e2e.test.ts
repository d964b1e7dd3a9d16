/**
 * The trainer end to end, the way a user runs it: a random-initialised teacher in Hugging Face
 * layout -> teacher fine-tune -> task distillation -> QAT -> export -> evaluation through the
 * serving code -> a published registry version. The ONNX files run in onnxruntime-node here.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PathsConfig } from '../../src/config.js';
import { openModelDir } from '../../src/inference/index.js';
import { sha256File } from '../../src/inference/registry/publish.js';
import type { Manifest } from '../../src/inference/registry/types.js';
import { type DistillJobResult, runDistillJob } from '../../src/training/distill-job.js';
import { TrainerInputError, TrainerStoppedError } from '../../src/training/errors.js';
import { parseJobSpec } from '../../src/training/job-spec.js';
import { readClassificationJsonl, readSquad } from '../../src/training/evaluation/eval-data.js';
import type { TrainerEvent } from '../../src/training/trainer-events.js';
import { makeTinyTask, trainerConfig } from './tiny-task.js';

interface Reference {
  outputs: string[];
  fp32_atol: number;
  examples: Array<{ input_ids: number[][]; attention_mask: number[][]; token_type_ids: number[][]; student_fp32: Record<string, number[] | number[][]> }>;
}

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await fs.rm(r, { recursive: true, force: true });
});

async function setup(task: 'classification' | 'qa') {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), `distillery-e2e-${task}-`));
  roots.push(root);
  const tiny = await makeTinyTask(root, task);
  const paths: PathsConfig = { dataDir: tiny.dataDir, modelDir: path.join(root, 'models'), workDir: path.join(root, 'work') };
  const spec = {
    type: 'distill',
    model: `tiny-${task}`,
    task,
    teacher: { path: tiny.teacherRel },
    data: { train: tiny.trainRel, eval: tiny.evalRel },
    max_length: task === 'qa' ? 64 : 32,
    // QA windows only: a classification job refuses them.
    ...(task === 'qa' ? { doc_stride: 16, max_query_length: 12 } : {}),
    student: { layers: 2, hidden: 64, heads: 2, intermediate: 128 },
    stages: {
      // classification leaves enabled at "auto": init-model's checkpoint has no trained head.
      teacher_finetune: { ...(task === 'qa' ? { enabled: true } : {}), epochs: 6, batch_size: 16, lr: 1e-3 },
      task_distill: { epochs: task === 'qa' ? 8 : 5, batch_size: 16, lr: 2e-3 },
      qat: { epochs: 2, batch_size: 16, lr: 1e-4, recalibrate_every: 20 },
    },
    checkpoint_every: 10,
    device: 'cpu',
    seed: 3,
    gate: { max_drop: 1, activate: true },
  };
  return { root, tiny, paths, spec };
}

function feeds(e: Reference['examples'][number]): Record<string, ort.Tensor> {
  const t = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);
  return { input_ids: t(e.input_ids), attention_mask: t(e.attention_mask), token_type_ids: t(e.token_type_ids) };
}

/** FP32 ONNX in onnxruntime-node against the trainer's PyTorch outputs. */
async function maxFp32Diff(outputDir: string): Promise<number> {
  const ref = JSON.parse(await fs.readFile(path.join(outputDir, 'reference.json'), 'utf8')) as Reference;
  const session = await ort.InferenceSession.create(path.join(outputDir, 'model-fp32.onnx'));
  let worst = 0;
  try {
    for (const example of ref.examples) {
      const out = await session.run(feeds(example));
      for (const name of ref.outputs) {
        const expected = (example.student_fp32[name] as unknown[]).flat(2) as number[];
        const got = Array.from(out[name]!.data as Float32Array);
        expect(got.length).toBe(expected.length);
        got.forEach((v, i) => {
          worst = Math.max(worst, Math.abs(v - (expected[i] as number)));
        });
      }
    }
  } finally {
    await session.release();
  }
  expect(ref.examples.length).toBeGreaterThan(0);
  return worst;
}

async function expectValidVersion(result: DistillJobResult, paths: PathsConfig): Promise<Manifest> {
  const dir = path.join(paths.modelDir, result.model, String(result.version));
  const manifest = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  for (const [file, hash] of Object.entries(manifest.files)) expect(await sha256File(path.join(dir, file))).toBe(hash);
  expect(Object.keys(manifest.files)).toEqual(
    expect.arrayContaining(['model.onnx', 'tokenizer.json', 'vocab.txt', 'config.json', 'checkpoint/model.safetensors']),
  );
  expect(manifest.metrics.teacher).toBeDefined();
  expect(manifest.metrics.student_fp32).toBeDefined();
  expect(manifest.metrics.student_int8?.latency_ms_b1_128).toBeGreaterThan(0);
  // The post-training INT8 baseline is scored through the same serving code, never published.
  const headline = manifest.task === 'qa' ? 'f1' : 'accuracy';
  expect(manifest.metrics.student_ptq_int8?.[headline]).toBeGreaterThanOrEqual(0);
  expect(Object.keys(manifest.files)).not.toContain('model-ptq.onnx');
  expect(manifest.training?.int8_method).toBe('qat');
  // The student as resolved: the spec gave every shape field, so none was chosen automatically.
  expect(manifest.training?.student).toEqual({
    layers: 2,
    hidden: 64,
    heads: 2,
    intermediate: 128,
    ffn_rank: null,
    auto: [],
    init: { kind: 'random', path: null },
  });
  expect(manifest.training?.task_distill_lr).toBe(2e-3);
  const best = manifest.training?.best_checkpoint;
  expect(best?.metric).toBe(headline);
  expect(best?.best).toBeGreaterThanOrEqual(best?.last ?? Number.POSITIVE_INFINITY);
  expect(manifest.lineage.datasets.train).toMatch(/^[0-9a-f]{64}$/);
  const state = JSON.parse(await fs.readFile(path.join(paths.modelDir, result.model, 'state.json'), 'utf8')) as { active: number };
  expect(state.active).toBe(result.version);
  return manifest;
}

describe('distillation end to end (classification)', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  let result: DistillJobResult;
  const events: TrainerEvent[] = [];

  beforeAll(async () => {
    ctx = await setup('classification');
    result = await runDistillJob({
      spec: parseJobSpec(ctx.spec),
      jobId: 'cls-1',
      paths: ctx.paths,
      trainer: trainerConfig,
      onEvent: (e) => events.push(e),
      evaluation: { latencyRuns: 5 },
    });
  }, 240_000);

  it('runs every stage and publishes a valid, active version', async () => {
    const stages = events.filter((e) => e.type === 'stage' && e.status === 'completed').map((e) => (e as { stage: string }).stage);
    expect(stages).toEqual(expect.arrayContaining(['teacher_finetune', 'task_distill', 'qat']));
    const manifest = await expectValidVersion(result, ctx.paths);
    expect(manifest.metrics.teacher!.accuracy).toBeGreaterThan(0.9);
  });

  it('FP32 ONNX matches PyTorch within 1e-4 in onnxruntime-node', async () => {
    expect(await maxFp32Diff(result.outputDir)).toBeLessThan(1e-4);
  });

  it('the INT8 model is at most 30% of the FP32 file and decides like it on >= 99% of the eval set', async () => {
    const fp32Bytes = (await fs.stat(path.join(result.outputDir, 'model-fp32.onnx'))).size;
    const int8Bytes = (await fs.stat(path.join(result.outputDir, 'model.onnx'))).size;
    expect(int8Bytes / fp32Bytes).toBeLessThanOrEqual(0.3);
    const examples = await readClassificationJsonl(path.join(ctx.tiny.dataDir, ctx.tiny.evalRel));
    const labelsOf = async (onnxFile: string): Promise<string[]> => {
      const m = await openModelDir({ dir: result.outputDir, onnxFile });
      try {
        return (
          await m.classify(
            examples.map((e) => e.input),
            { topK: 1 },
          )
        ).map((r) => r[0]!.label);
      } finally {
        await m.close();
      }
    };
    const [fp32, int8] = [await labelsOf('model-fp32.onnx'), await labelsOf('model.onnx')];
    const agree = fp32.filter((l, i) => l === int8[i]).length / fp32.length;
    expect(agree).toBeGreaterThanOrEqual(0.99);
  });

  it('a malformed data line ends the job with an error naming the file and line', async () => {
    const bad = path.join(ctx.tiny.dataDir, 'bad.jsonl');
    await fs.writeFile(bad, '{"text":"hello","label":"billing"}\n{"text":"oops", "label":\n');
    const err = await runDistillJob({
      spec: parseJobSpec({ ...ctx.spec, data: { train: 'bad.jsonl', eval: ctx.tiny.evalRel } }),
      jobId: 'cls-bad',
      paths: ctx.paths,
      trainer: trainerConfig,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainerInputError);
    expect((err as TrainerInputError).where.file).toMatch(/bad\.jsonl$/);
    // The message alone (what a queued job keeps as its error) names the file and line too.
    expect((err as TrainerInputError).message).toMatch(/bad\.jsonl:2\)/);
    expect((err as TrainerInputError).where.line).toBe(2);
  });
});

describe('distillation end to end (QA)', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  let result: DistillJobResult;

  beforeAll(async () => {
    ctx = await setup('qa');
    result = await runDistillJob({ spec: parseJobSpec(ctx.spec), jobId: 'qa-1', paths: ctx.paths, trainer: trainerConfig, evaluation: { latencyRuns: 5 } });
  }, 240_000);

  it('publishes a valid version whose FP32 ONNX matches PyTorch within 1e-4', async () => {
    const manifest = await expectValidVersion(result, ctx.paths);
    expect(manifest.metrics.teacher!.f1).toBeGreaterThan(0.5);
    expect(await maxFp32Diff(result.outputDir)).toBeLessThan(1e-4);
  });

  it('the INT8 model is at most 30% of FP32, gives the same answers on >= 99% of questions, mapped back to text', async () => {
    const fp32Bytes = (await fs.stat(path.join(result.outputDir, 'model-fp32.onnx'))).size;
    const int8Bytes = (await fs.stat(path.join(result.outputDir, 'model.onnx'))).size;
    expect(int8Bytes / fp32Bytes).toBeLessThanOrEqual(0.3);
    const examples = await readSquad(path.join(ctx.tiny.dataDir, ctx.tiny.evalRel));
    const answersOf = async (onnxFile: string): Promise<string[]> => {
      const m = await openModelDir({ dir: result.outputDir, onnxFile });
      try {
        const results = await m.answer(
          examples.map((e) => ({ question: e.question, context: e.context })),
          { topK: 1, maxAnswerLength: 8 },
        );
        return results.map((r, i) => {
          const best = r[0];
          if (best) expect(examples[i]!.context.slice(best.start, best.end)).toBe(best.answer);
          return best?.answer ?? '';
        });
      } finally {
        await m.close();
      }
    };
    const [fp32, int8] = [await answersOf('model-fp32.onnx'), await answersOf('model.onnx')];
    const agree = fp32.filter((a, i) => a === int8[i]).length / fp32.length;
    expect(agree).toBeGreaterThanOrEqual(0.99);
  });
});

describe('stop and resume', () => {
  it('a stop that arrives after the trainer has finished (during evaluation) publishes nothing', async () => {
    const ctx = await setup('classification');
    const controller = new AbortController();
    const phases: string[] = [];
    const stopped = await runDistillJob({
      spec: parseJobSpec({ ...ctx.spec, model: 'tiny-stopped', max_steps_per_stage: 2 }),
      jobId: 'stop-late-1',
      paths: ctx.paths,
      trainer: trainerConfig,
      signal: controller.signal,
      evaluation: { latencyRuns: 1 },
      onPhase: (phase) => {
        phases.push(phase);
        // A cancel (DELETE /v1/jobs/{id}, answered 202) while the students are being scored.
        if (phase === 'evaluate') controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(stopped).toBeInstanceOf(TrainerStoppedError);
    expect(phases).toEqual(['evaluate']);
    const published = await fs.readdir(path.join(ctx.paths.modelDir, 'tiny-stopped')).catch(() => []);
    expect(published).toEqual([]);
  }, 240_000);

  it('a job stopped by SIGTERM mid-run resumes from its checkpoint and completes with a valid model', async () => {
    const ctx = await setup('classification');
    const controller = new AbortController();
    const first: TrainerEvent[] = [];
    const stopped = await runDistillJob({
      spec: parseJobSpec(ctx.spec),
      jobId: 'resume-1',
      paths: ctx.paths,
      trainer: trainerConfig,
      signal: controller.signal,
      onEvent: (e) => {
        first.push(e);
        if (e.type === 'checkpoint' && e.stage === 'task_distill') controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(stopped).toBeInstanceOf(TrainerStoppedError);
    expect(first.some((e) => e.type === 'stopped')).toBe(true);

    const second: TrainerEvent[] = [];
    const result = await runDistillJob({
      spec: parseJobSpec(ctx.spec),
      jobId: 'resume-1',
      paths: ctx.paths,
      trainer: trainerConfig,
      onEvent: (e) => second.push(e),
      evaluation: { latencyRuns: 5 },
    });
    const start = second.find((e) => e.type === 'start') as Extract<TrainerEvent, { type: 'start' }>;
    expect(start.resumed_from?.stage).toBe('task_distill');
    // The teacher was fine-tuned before the stop and is not trained again.
    expect(second.some((e) => e.type === 'stage' && e.stage === 'teacher_finetune' && e.status === 'started')).toBe(false);
    await expectValidVersion(result, ctx.paths);
  }, 240_000);
});

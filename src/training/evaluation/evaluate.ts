/**
 * Scores a trainer's output the way users will meet it: the teacher, the FP32 student, the INT8
 * student and, beside a QAT one, the post-training INT8 baseline are each opened as a serving
 * model (tokenizer, windows, span search, ONNX Runtime session) and run over the eval split; file
 * size, parameter count and CPU latency complete the picture. These are the numbers that go into
 * the manifest and the quality gate.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { InferenceConfig } from '../../config.js';
import { openModelDir } from '../../inference/index.js';
import type { ModelMetrics, ServingConfig, Task } from '../../inference/registry/types.js';
import { readClassificationJsonl, readSquad } from './eval-data.js';
import { measureLatencyMs } from './latency.js';
import { classificationScores, squadScores } from './task-metrics.js';

export interface EvaluateOptions {
  outputDir: string;
  task: Task;
  evalFile: string;
  parameters: { teacher?: number; student?: number };
  /** Latency samples per model (median reported). */
  latencyRuns?: number;
  /** Inputs per call into the serving model. */
  chunkSize?: number;
  /** The process's inference settings (sessions, threads, niceness); default: the documented defaults. */
  inference?: Partial<InferenceConfig>;
}

const ROLES = [
  { role: 'teacher', file: 'teacher.onnx', params: 'teacher' },
  { role: 'student_fp32', file: 'model-fp32.onnx', params: 'student' },
  { role: 'student_int8', file: 'model.onnx', params: 'student' },
  // Only beside a QAT model.onnx (without QAT, model.onnx is this model); never published.
  { role: 'student_ptq_int8', file: 'model-ptq.onnx', params: 'student' },
] as const;

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/** The classifier's label names in row order, from the trainer's output/config.json (ServingConfig). */
async function servedLabels(outputDir: string): Promise<string[]> {
  const config = JSON.parse(await fs.readFile(path.join(outputDir, 'config.json'), 'utf8')) as Partial<ServingConfig>;
  return config.labels ?? [];
}

async function scoreModel(opts: EvaluateOptions, onnxFile: string): Promise<Partial<ModelMetrics>> {
  const chunk = opts.chunkSize ?? 32;
  const model = await openModelDir({ dir: opts.outputDir, onnxFile, ...(opts.inference ? { inference: opts.inference } : {}) });
  try {
    if (opts.task === 'classification') {
      const examples = await readClassificationJsonl(opts.evalFile, await servedLabels(opts.outputDir));
      const predicted: string[] = [];
      for (let i = 0; i < examples.length; i += chunk) {
        const results = await model.classify(
          examples.slice(i, i + chunk).map((e) => e.input),
          // Every example is scored as it is, one the tokenizer keeps nothing of included.
          { topK: 1, allowEmptyText: true },
        );
        for (const r of results) predicted.push(r[0]?.label ?? '');
      }
      return classificationScores(
        examples.map((e) => e.label),
        predicted,
      );
    }
    const examples = await readSquad(opts.evalFile);
    const predicted: string[] = [];
    for (let i = 0; i < examples.length; i += chunk) {
      const batch = examples.slice(i, i + chunk).map((e) => ({ question: e.question, context: e.context }));
      const results = await model.answer(batch, { topK: 1, maxAnswerLength: 30, allowEmptyText: true });
      for (const r of results) predicted.push(r[0]?.answer ?? '');
    }
    return squadScores(
      examples.map((e) => e.answers),
      predicted,
    );
  } finally {
    await model.close();
  }
}

export async function evaluateArtifacts(opts: EvaluateOptions): Promise<Record<string, ModelMetrics>> {
  const vocabSize = (await fs.readFile(path.join(opts.outputDir, 'vocab.txt'), 'utf8')).split('\n').filter(Boolean).length;
  // The manifest's latency is at 128 tokens whatever length the model serves, so models compare;
  // only a model with fewer position embeddings than that is timed at its own limit.
  const checkpointConfig = JSON.parse(await fs.readFile(path.join(opts.outputDir, 'checkpoint', 'config.json'), 'utf8').catch(() => '{}')) as {
    max_position_embeddings?: number;
  };
  const sequenceLength = Math.min(128, checkpointConfig.max_position_embeddings ?? 128);
  const metrics: Record<string, ModelMetrics> = {};
  for (const { role, file, params } of ROLES) {
    const onnx = path.join(opts.outputDir, file);
    if (!(await exists(onnx))) continue;
    const scores = await scoreModel(opts, file);
    metrics[role] = {
      ...scores,
      file_bytes: (await fs.stat(onnx)).size,
      ...(opts.parameters[params] !== undefined ? { parameters: opts.parameters[params] } : {}),
      latency_ms_b1_128: await measureLatencyMs({ onnxFile: onnx, runs: opts.latencyRuns ?? 30, vocabSize, sequenceLength }),
    };
  }
  return metrics;
}

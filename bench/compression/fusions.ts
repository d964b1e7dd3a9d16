/**
 * Which fused BERT operators our graphs end up with, and what they are worth (npm run
 * bench:fusions). Models: BERT-base FP32 as our exporter writes it now (bench:compression's
 * export, made here when missing), and the bundled INT8 support-intent student three ways: its
 * file as shipped (exported before the fusion pass), that file through our pass
 * (distillery_trainer.onnx_fusions: MultiHeadAttention, what the exporter now writes), and
 * through the pass with SkipLayerNormalization as well (not written by default; measured here).
 *
 * 1. Every file is opened at optimization level `all` with optimizedModelFilePath; the nodes of
 *    the file and of the optimized graph are counted by operator type (Python onnx).
 * 2. The three student variants are timed side by side in this process with the server's session
 *    options on one intra-op thread: batch 1 x 128 tokens and 16 x 128 (a full QA batch), the
 *    variants interleaved over rounds, median per variant; ratios against the shipped file. Their
 *    outputs are compared on the same inputs (largest absolute difference).
 *
 * Options (environment): FUSION_ROUNDS (default 5), FUSION_RUNS per round (default 10).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { benchSessionOptions } from './session-options.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EXPORT_DIR = path.join(ROOT, 'bench/results/compression-models');
const MODEL_DIR = path.resolve(process.env.MODEL_DIR ?? 'models');
const PYTHON = process.env.TRAINER_PYTHON ?? '/usr/bin/python3';
const ROUNDS = Number(process.env.FUSION_ROUNDS ?? 5);
const RUNS = Number(process.env.FUSION_RUNS ?? 10);
const WATCH = [
  'MultiHeadAttention',
  'Attention',
  'SkipLayerNormalization',
  'LayerNormalization',
  'BiasGelu',
  'FusedMatMul',
  'MatMul',
  'MatMulIntegerToFloat',
  'Softmax',
  'Transpose',
  'Reshape',
  'Add',
];

function python(args: string[]): string {
  return execFileSync(PYTHON, args, { encoding: 'utf8', cwd: path.join(ROOT, 'trainer'), stdio: ['ignore', 'pipe', 'inherit'] });
}

mkdirSync(EXPORT_DIR, { recursive: true });
const state = JSON.parse(readFileSync(path.join(MODEL_DIR, 'support-intent', 'state.json'), 'utf8')) as { active: number };
const shipped = path.join(MODEL_DIR, 'support-intent', String(state.active), 'model.onnx');
const mha = path.join(EXPORT_DIR, 'student-int8-mha.onnx');
const mhaSln = path.join(EXPORT_DIR, 'student-int8-mha-sln.onnx');
const passes = {
  mha: JSON.parse(python(['-m', 'distillery_trainer.onnx_fusions', shipped, mha])) as Record<string, number>,
  sln: JSON.parse(python(['-m', 'distillery_trainer.onnx_fusions', '--skip-layer-norm', shipped, mhaSln])) as Record<string, number>,
};
python([path.join(ROOT, 'bench/compression/export_models.py'), '--out', EXPORT_DIR, '--labels', '23', '--vocab-size', '8000']);

const models = [
  { name: 'BERT-base FP32 (our exporter)', file: path.join(EXPORT_DIR, 'bert-base-fp32.onnx') },
  { name: 'student INT8, shipped file', file: shipped },
  { name: 'student INT8 + MultiHeadAttention', file: mha },
  { name: 'student INT8 + MultiHeadAttention + SkipLayerNormalization', file: mhaSln },
];
const files: Array<{ model: string; level: string; file: string }> = [];
for (const m of models) {
  files.push({ model: m.name, level: 'file', file: m.file });
  const optimized = path.join(EXPORT_DIR, `optimized-${path.basename(m.file, '.onnx')}.onnx`);
  const session = await ort.InferenceSession.create(m.file, { graphOptimizationLevel: 'all', optimizedModelFilePath: optimized, intraOpNumThreads: 1 });
  await session.release();
  files.push({ model: m.name, level: 'ONNX Runtime `all`', file: optimized });
}
const counted = JSON.parse(
  python([
    path.join(ROOT, 'bench/compression/export_models.py'),
    '--out',
    EXPORT_DIR,
    '--labels',
    '1',
    '--vocab-size',
    '1',
    '--count-only',
    '--count',
    ...files.map((f) => f.file),
  ]),
) as Record<string, { ops: Record<string, number> }>;
const lines = [`| model | graph | ${WATCH.join(' | ')} | other |`, `|---|---|${WATCH.map(() => '---:').join('|')}|---|`];
for (const f of files) {
  const ops = counted[f.file]?.ops ?? {};
  const other = Object.entries(ops)
    .filter(([op]) => !WATCH.includes(op))
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  lines.push(`| ${f.model} | ${f.level} | ${WATCH.map((op) => ops[op] ?? 0).join(' | ')} | ${other} |`);
}
process.stdout.write(
  `Our pass on the shipped file: ${JSON.stringify(passes.mha)}; with --skip-layer-norm: ${JSON.stringify(passes.sln)}\n\n${lines.join('\n')}\n\n`,
);

/** Padded rows of varied length (so the mask matters), deterministic. */
function feeds(rows: number, length: number): Record<string, ort.Tensor> {
  const n = rows * length;
  const ids = new BigInt64Array(n);
  const mask = new BigInt64Array(n);
  const types = new BigInt64Array(n);
  for (let r = 0; r < rows; r++) {
    const real = Math.max(8, length - r * 7);
    for (let i = 0; i < real; i++) {
      ids[r * length + i] = BigInt(5 + ((r * 131 + i * 17) % 7000));
      mask[r * length + i] = 1n;
      types[r * length + i] = i > real / 2 ? 1n : 0n;
    }
  }
  const dims = [rows, length];
  return {
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', mask, dims),
    token_type_ids: new ort.Tensor('int64', types, dims),
  };
}

const students = models.slice(1);
const sessions = await Promise.all(students.map((m) => ort.InferenceSession.create(m.file, benchSessionOptions(1))));
const shapes = [
  { label: '1 x 128', feed: feeds(1, 128) },
  { label: '16 x 128', feed: feeds(16, 128) },
];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const timing = [
  `| student INT8 | ${shapes.map((s) => `${s.label} ms | vs shipped`).join(' | ')} | largest output difference vs shipped |`,
  `|---|${shapes.map(() => '---:|---:').join('|')}|---:|`,
];
const results: number[][] = students.map(() => shapes.map(() => 0));
const diffs = students.map(() => 0);
for (const [k, shape] of shapes.entries()) {
  const reference = await sessions[0]!.run(shape.feed);
  for (const [i, s] of sessions.entries()) {
    const out = await s.run(shape.feed); // also the warm-up
    for (const name of s.outputNames) {
      const a = reference[name]!.data as Float32Array;
      const b = out[name]!.data as Float32Array;
      for (let j = 0; j < a.length; j++) diffs[i] = Math.max(diffs[i]!, Math.abs(a[j]! - b[j]!));
    }
  }
  const samples: number[][] = students.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, s] of sessions.entries()) {
      const t0 = performance.now();
      for (let r = 0; r < RUNS; r++) await s.run(shape.feed);
      samples[i]!.push((performance.now() - t0) / RUNS);
    }
  }
  for (const i of students.keys()) results[i]![k] = median(samples[i]!);
}
for (const [i, m] of students.entries()) {
  const cells = shapes.map((_, k) => `${results[i]![k]!.toFixed(2)} | ${(results[0]![k]! / results[i]![k]!).toFixed(2)}x`);
  timing.push(`| ${m.name.replace('student INT8, ', '').replace('student INT8 + ', '+ ')} | ${cells.join(' | ')} | ${diffs[i]!.toExponential(1)} |`);
}
await Promise.all(sessions.map((s) => s.release()));
process.stdout.write(
  `Side by side, one intra-op thread, median of ${ROUNDS} rounds x ${RUNS} runs (vs shipped: its time / this one's, above 1 is faster):\n\n${timing.join('\n')}\n`,
);

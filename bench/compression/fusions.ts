/**
 * Which fused BERT operators ONNX Runtime's own graph optimizer makes of our exported graphs
 * (npm run bench:fusions, after bench:compression has exported the FP32 models): each model is
 * opened at every optimization level with optimizedModelFilePath, and the saved graphs' nodes are
 * counted by operator type (Python onnx). Fused operators to look for: Attention / QAttention,
 * SkipLayerNormalization, BiasGelu / FastGelu, EmbedLayerNormalization, MatMulIntegerToFloat.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EXPORT_DIR = path.join(ROOT, 'bench/results/compression-models');
const MODEL_DIR = path.resolve(process.env.MODEL_DIR ?? 'models');
const LEVELS = ['basic', 'extended', 'all'] as const;
const WATCH = [
  'Attention',
  'QAttention',
  'MultiHeadAttention',
  'SkipLayerNormalization',
  'LayerNormalization',
  'EmbedLayerNormalization',
  'BiasGelu',
  'FastGelu',
  'Gelu',
  'Erf',
  'Softmax',
  'MatMul',
  'FusedMatMul',
  'Gemm',
  'MatMulInteger',
  'MatMulIntegerToFloat',
  'DynamicQuantizeLinear',
  'QuantizeLinear',
  'DequantizeLinear',
];

const state = JSON.parse(readFileSync(path.join(MODEL_DIR, 'support-intent', 'state.json'), 'utf8')) as { active: number };
const models = [
  { name: 'BERT-base FP32', file: path.join(EXPORT_DIR, 'bert-base-fp32.onnx') },
  { name: 'student INT8', file: path.join(MODEL_DIR, 'support-intent', String(state.active), 'model.onnx') },
];
const files: Array<{ model: string; level: string; file: string }> = [];
for (const m of models) {
  files.push({ model: m.name, level: 'exported', file: m.file });
  for (const level of LEVELS) {
    const file = path.join(EXPORT_DIR, `optimized-${path.basename(path.dirname(m.file))}-${path.basename(m.file, '.onnx')}-${level}.onnx`);
    const session = await ort.InferenceSession.create(m.file, { graphOptimizationLevel: level, optimizedModelFilePath: file, intraOpNumThreads: 1 });
    await session.release();
    files.push({ model: m.name, level, file });
  }
}
const counted = JSON.parse(
  execFileSync(
    process.env.TRAINER_PYTHON ?? '/usr/bin/python3',
    [
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
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  ),
) as Record<string, { ops: Record<string, number> }>;
const lines = [`| model | level | ${WATCH.join(' | ')} | other |`, `|---|---|${WATCH.map(() => '---:').join('|')}|---|`];
for (const f of files) {
  const ops = counted[f.file]?.ops ?? {};
  const other = Object.entries(ops)
    .filter(([op]) => !WATCH.includes(op))
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  lines.push(`| ${f.model} | ${f.level} | ${WATCH.map((op) => ops[op] ?? 0).join(' | ')} | ${other} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);

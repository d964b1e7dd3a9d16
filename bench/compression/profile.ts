/**
 * Where the time of one batch-1 forward pass goes, by operator type, from ONNX Runtime's own
 * profiler (npm run bench:profile; after bench:compression has exported the FP32 models): BERT-base
 * FP32 and the bundled INT8 student at 128 tokens on one thread, the server's session options.
 * Prints the share of node time per operator type, so a ratio that falls short names the
 * operator that holds it back.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { benchSessionOptions } from './session-options.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MODEL_DIR = path.resolve(process.env.MODEL_DIR ?? 'models');
const LENGTH = Number(process.env.PROFILE_TOKENS ?? 128);
const RUNS = 20;
const state = JSON.parse(readFileSync(path.join(MODEL_DIR, 'support-intent', 'state.json'), 'utf8')) as { active: number };
const models = [
  { name: 'BERT-base FP32', file: path.join(ROOT, 'bench/results/compression-models/bert-base-fp32.onnx') },
  { name: 'student FP32', file: path.join(ROOT, 'bench/results/compression-models/student-fp32.onnx') },
  { name: 'student INT8', file: path.join(MODEL_DIR, 'support-intent', String(state.active), 'model.onnx') },
];

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

const n = LENGTH;
const ids = new BigInt64Array(n).map((_, i) => BigInt(5 + ((i * 7919) % 995)));
const feed = {
  input_ids: new ort.Tensor('int64', ids, [1, n]),
  attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
  token_type_ids: new ort.Tensor('int64', new BigInt64Array(n), [1, n]),
};
const byModel: Record<string, Record<string, number>> = {};
for (const m of models) {
  const prefix = path.join(os.tmpdir(), `distillery-profile-${process.pid}-${path.basename(m.file, '.onnx')}`);
  const session = await ort.InferenceSession.create(m.file, {
    ...benchSessionOptions(1),
    enableProfiling: true,
    profileFilePrefix: prefix,
  });
  await session.run(feed);
  for (let i = 0; i < RUNS; i++) await session.run(feed);
  session.endProfiling();
  await session.release();
  const dir = path.dirname(prefix);
  const file = readdirSync(dir).find((f) => f.startsWith(path.basename(prefix)) && f.endsWith('.json'));
  if (!file) throw new Error(`no profile written for ${m.name}`);
  const events = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as ProfileEvent[];
  rmSync(path.join(dir, file));
  const ops: Record<string, number> = {};
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    ops[op] = (ops[op] ?? 0) + e.dur;
  }
  byModel[m.name] = ops;
}
for (const [name, ops] of Object.entries(byModel)) {
  const total = Object.values(ops).reduce((a, b) => a + b, 0);
  const rows = Object.entries(ops)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([op, us]) => `${op} ${((us / total) * 100).toFixed(1)}% (${(us / (RUNS + 1) / 1000).toFixed(2)} ms)`);
  process.stdout.write(
    `${name}, batch 1 x ${LENGTH} tokens, 1 thread: ${(total / (RUNS + 1) / 1000).toFixed(2)} ms of node time per run; ${rows.join(', ')}\n`,
  );
}

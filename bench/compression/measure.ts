/**
 * One model in a process of its own (a child of bench/compression/main.ts): load it, time batch-1
 * runs at each length and batch-32 runs, and read this process's resident memory, so the memory
 * is that of a process that loaded only this model. Spec in argv[2], result as BENCH_RESULT.
 */
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

import { announceResult, childSpec } from '../serving/child.js';
import { type ResidentParts, residentParts } from './resident.js';
import { benchSessionOptions } from './session-options.js';

export interface MeasureSpec {
  modelPath: string;
  threads: number;
  /** Batch-1 lengths in tokens. */
  lengths: number[];
  batchRows: number;
  batchLength: number;
  /** Each timing repeats until this many seconds have passed (at least minRuns, at most maxRuns). */
  seconds: number;
  minRuns: number;
  maxRuns: number;
}

export interface Timing {
  runs: number;
  medianMs: number;
  p90Ms: number;
}

export interface MeasureResult {
  /** MiB: before the session (Node and ONNX Runtime loaded, no model); after it is created; after the batch-1 runs; the high-water mark after batch 32. */
  rssBefore: number;
  rssLoaded: number;
  rssAfterBatch1: number;
  peakAfterBatch32: number;
  /** rssAfterBatch1 by mapping. */
  partsAfterBatch1: ResidentParts;
  batch1: Record<string, Timing>;
  batch: Timing & { rowsPerS: number };
}

const mib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? Number.NaN) / 1024;

function feeds(rows: number, length: number): Record<string, ort.Tensor> {
  const n = rows * length;
  const ids = new BigInt64Array(n);
  // Token ids every vocabulary here holds, [CLS] first and [SEP] last in each row.
  for (let i = 0; i < n; i++) ids[i] = BigInt(5 + ((i * 7919) % 995));
  for (let r = 0; r < rows; r++) {
    ids[r * length] = 2n;
    ids[r * length + length - 1] = 3n;
  }
  const dims = [rows, length];
  return {
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), dims),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(n), dims),
  };
}

async function time(session: ort.InferenceSession, feed: Record<string, ort.Tensor>, spec: MeasureSpec): Promise<Timing> {
  await session.run(feed); // first run of a shape allocates; not timed
  const times: number[] = [];
  const until = performance.now() + spec.seconds * 1000;
  while (times.length < spec.maxRuns && (times.length < spec.minRuns || performance.now() < until)) {
    const t0 = performance.now();
    await session.run(feed);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { runs: times.length, medianMs: times[Math.floor(times.length / 2)]!, p90Ms: times[Math.floor(times.length * 0.9)]! };
}

const spec = childSpec<MeasureSpec>();
const rssBefore = mib('VmRSS');
const session = await ort.InferenceSession.create(spec.modelPath, benchSessionOptions(spec.threads));
const rssLoaded = mib('VmRSS');
const batch1: Record<string, Timing> = {};
for (const length of spec.lengths) batch1[length] = await time(session, feeds(1, length), spec);
const rssAfterBatch1 = mib('VmRSS');
const partsAfterBatch1 = residentParts();
const batch = await time(session, feeds(spec.batchRows, spec.batchLength), { ...spec, minRuns: Math.min(spec.minRuns, 3) });
const result: MeasureResult = {
  rssBefore,
  rssLoaded,
  rssAfterBatch1,
  peakAfterBatch32: mib('VmHWM'),
  partsAfterBatch1,
  batch1,
  batch: { ...batch, rowsPerS: (spec.batchRows * 1000) / batch.medianMs },
};
await session.release();
announceResult(result);

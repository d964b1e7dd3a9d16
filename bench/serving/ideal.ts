/**
 * Contender (b), the throughput limit: the same model and session settings, run in-process on
 * ideal batches formed up front. The whole workload is tokenized first, sorted by length and cut
 * into batches under the server's budget (MAX_BATCH_TOKENS, MAX_BATCH_ROWS); then session.run
 * goes through them in a loop (no HTTP, no tokenizing, no waiting) for the given time.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { padBatch, type PaddedBatch } from '../../src/inference/backend.js';
import { validateServingConfig } from '../../src/inference/registry/model-registry.js';
import { SessionPool } from '../../src/inference/session-pool.js';
import { buildClassificationRows } from '../../src/inference/tasks/classification.js';
import { type RowInput, TextTokenizer } from '../../src/inference/tokenizer.js';
import { announceResult, childSpec } from './child.js';
import { inferenceSettings } from './ort-options.js';
import type { WorkloadItem } from './workload.js';

export interface IdealSpec {
  versionDir: string;
  workloadFile: string;
  durationMs: number;
}

export interface IdealResult {
  /** The thread layout it ran with (set by the driver). */
  layout?: string;
  rowsPerSecond: number;
  seconds: number;
  passes: number;
  batches: number;
  meanRows: number;
  paddingEfficiency: number;
}

/** Sorted rows cut greedily: a batch grows while rows x longest row and the row count fit. */
export function idealBatches(rows: RowInput[], maxTokens: number, maxRows: number, padId: number): PaddedBatch[] {
  const sorted = [...rows].sort((a, b) => a.inputIds.length - b.inputIds.length);
  const batches: PaddedBatch[] = [];
  let current: RowInput[] = [];
  for (const row of sorted) {
    const n = current.length + 1;
    if (current.length > 0 && (n > maxRows || row.inputIds.length * n > maxTokens)) {
      batches.push(padBatch(current, padId));
      current = [];
    }
    current.push(row);
  }
  if (current.length > 0) batches.push(padBatch(current, padId));
  return batches;
}

if (import.meta.filename === process.argv[1]) {
  const spec = childSpec<IdealSpec>();
  const inference = inferenceSettings();
  const config = validateServingConfig(JSON.parse(readFileSync(path.join(spec.versionDir, 'config.json'), 'utf8')), 'config.json');
  const tokenizer = await TextTokenizer.load(path.join(spec.versionDir, 'tokenizer.json'));
  const items = JSON.parse(readFileSync(spec.workloadFile, 'utf8')) as WorkloadItem[];
  const rows = await buildClassificationRows(
    tokenizer,
    items.map((i) => i.text),
    { maxLength: config.max_length },
  );
  const batches = idealBatches(rows, inference.maxBatchTokens, inference.maxBatchRows, tokenizer.padId);
  const pool = await SessionPool.create({
    modelPath: path.join(spec.versionDir, 'model.onnx'),
    sessions: inference.sessionsPerModel,
    intraOpThreads: inference.intraOpThreads,
    interOpThreads: inference.interOpThreads,
    intraOpSpinning: inference.intraOpSpinning,
    ortMemory: inference.ortMemory,
    niceness: inference.sessionThreadNiceness,
    executionProviders: inference.executionProviders,
    inputs: config.inputs,
    outputs: config.outputs,
  });
  const pass = async () => {
    let i = 0;
    // As many loops as sessions, like the scheduler, each taking the next batch.
    await Promise.all(
      Array.from({ length: pool.concurrency }, async () => {
        while (i < batches.length) await pool.run(batches[i++]!);
      }),
    );
  };
  await pass(); // warm-up
  const start = performance.now();
  let passes = 0;
  do {
    await pass();
    passes++;
  } while (performance.now() - start < spec.durationMs);
  const seconds = (performance.now() - start) / 1000;
  await pool.close();
  const real = rows.reduce((s, r) => s + r.inputIds.length, 0);
  const padded = batches.reduce((s, b) => s + b.rows * b.length, 0);
  announceResult({
    rowsPerSecond: (rows.length * passes) / seconds,
    seconds,
    passes,
    batches: batches.length,
    meanRows: rows.length / batches.length,
    paddingEfficiency: real / padded,
  } satisfies IdealResult);
}

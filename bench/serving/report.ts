/** The benchmark's verdict: the results table, the side-by-side ratios and PASS/FAIL per goal. */
import type { IdealResult } from './ideal.js';
import type { LoadResult } from './load-generator.js';
import type { KindStats } from './workload.js';

/** What our server's /metrics said about one run (deltas over the run). */
export interface ServerSide {
  batches: number;
  rows: number;
  paddedTokens: number;
  /** Served row tokens / padded tokens, over every batch of the run. */
  paddingEfficiency: number;
  /** Mean of the per-batch distillery_batch_padding_ratio. */
  meanBatchPaddingRatio: number;
  /** CPU seconds the server process used during the run. */
  cpuS: number;
}

export interface RunRecord {
  contender: string;
  load: LoadResult;
  server?: ServerSide;
}

export interface BenchResults {
  machine: Record<string, string | number>;
  settings: Record<string, string>;
  workload: { seed: number; size: number; kinds: KindStats[] };
  headline: number;
  ideal: IdealResult;
  runs: RunRecord[];
}

export interface Goal {
  name: string;
  passed: boolean;
  detail: string;
}

export const OURS = 'distillery';
export const NAIVE = 'naive';
export const TRANSFORMERS = 'transformers.js';
export const ONE_BUCKET = 'distillery, BUCKETS=512';
export const DEFAULT_BUCKETS = 'distillery, default BUCKETS';

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 1 : 0) : '-');
const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : `${(100 * v).toFixed(1)}%`);
const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '-');

export function find(results: BenchResults, contender: string, clients = results.headline): RunRecord | undefined {
  return results.runs.find((r) => r.contender === contender && r.load.concurrency === clients);
}

export function evaluateGoals(results: BenchResults): Goal[] {
  const ours = find(results, OURS);
  const naive = find(results, NAIVE);
  const hf = find(results, TRANSFORMERS);
  if (!ours || !naive || !hf) return [{ name: 'all runs present', passed: false, detail: 'a contender did not run at the headline load' }];
  const t = ours.load.throughput;
  const limit = results.ideal.rowsPerSecond;
  const o = ours.load.byKind;
  const oneBucket = find(results, ONE_BUCKET);
  return [
    {
      name: `throughput >= 90% of the in-process limit and above both other servers (${results.headline} clients)`,
      passed: t >= 0.9 * limit && t > naive.load.throughput && t > hf.load.throughput,
      detail: `${t.toFixed(0)} req/s = ${pct(t / limit)} of the limit (${limit.toFixed(0)} rows/s); ${x(t / naive.load.throughput)} naive, ${x(t / hf.load.throughput)} transformers.js`,
    },
    {
      name: `p99 latency at most 1/3 of the naive server's (${results.headline} clients)`,
      passed: ours.load.overall.p99 <= naive.load.overall.p99 / 3,
      detail: `p99 ${ms(ours.load.overall.p99)} ms vs naive ${ms(naive.load.overall.p99)} ms: ${x(ours.load.overall.p99 / naive.load.overall.p99)} of it (goal <= 0.33x)`,
    },
    {
      name: `short requests keep a low p99 while long ones are in flight (${results.headline} clients)`,
      passed: o.short.p99 <= o.long.p99 && o.short.p99 <= naive.load.byKind.short.p99 / 3,
      detail: `short p99 ${ms(o.short.p99)} ms vs our long p99 ${ms(o.long.p99)} ms (goal: not above) and naive short p99 ${ms(naive.load.byKind.short.p99)} ms: ${x(o.short.p99 / naive.load.byKind.short.p99)} of it (goal <= 0.33x)`,
    },
    {
      name: 'padding efficiency >= 85% (real tokens / padded tokens)',
      passed: (ours.server?.paddingEfficiency ?? 0) >= 0.85,
      detail: `${pct(ours.server?.paddingEfficiency)} with length buckets vs ${pct(oneBucket?.server?.paddingEfficiency)} with one bucket (BUCKETS=512); ideal sorted batches ${pct(results.ideal.paddingEfficiency)}`,
    },
  ];
}

export function renderReport(results: BenchResults, goals: Goal[]): string {
  const lines: string[] = [];
  lines.push(`Machine: ${Object.entries(results.machine).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`Settings (all contenders): ${Object.entries(results.settings).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  lines.push(`Workload (seed ${results.workload.seed}, ${results.workload.size} requests cycled in order):`);
  for (const k of results.workload.kinds) {
    lines.push(`  ${k.kind.padEnd(9)} ${pct(k.share).padStart(6)}  tokens ${k.minTokens}-${k.maxTokens} (mean ${k.meanTokens.toFixed(0)}), served row mean ${k.meanRowTokens.toFixed(0)}`);
  }
  lines.push('');
  lines.push(`In-process limit (ideal sorted batches): ${results.ideal.rowsPerSecond.toFixed(0)} rows/s, ${results.ideal.batches} batches of ${results.ideal.meanRows.toFixed(1)} rows, padding efficiency ${pct(results.ideal.paddingEfficiency)}`);
  lines.push('');
  lines.push('| server | clients | req/s | p50 ms | p99 ms | short p50 | short p99 | long p99 | mean batch rows | padding eff. | CPU server / load gen (cores) | errors |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of results.runs) {
    const l = r.load;
    const errors = Object.entries(l.errors).map(([k, v]) => `${k}:${v}`).join(' ') || '0';
    const batchRows = r.server ? (r.server.rows / Math.max(1, r.server.batches)).toFixed(1) : '1';
    const padding = r.server ? pct(r.server.paddingEfficiency) : '100% (no padding)';
    const cpu = `${r.server ? (r.server.cpuS / l.wallS).toFixed(2) : '-'} / ${(l.cpuS / l.wallS).toFixed(2)}`;
    lines.push(`| ${r.contender} | ${l.concurrency} | ${l.throughput.toFixed(0)} | ${ms(l.overall.p50)} | ${ms(l.overall.p99)} | ${ms(l.byKind.short.p50)} | ${ms(l.byKind.short.p99)} | ${ms(l.byKind.long.p99)} | ${batchRows} | ${padding} | ${cpu} | ${errors} |`);
  }
  lines.push('');
  lines.push(`Side by side at ${results.headline} clients:`);
  const ours = find(results, OURS);
  for (const other of [NAIVE, TRANSFORMERS, DEFAULT_BUCKETS, ONE_BUCKET]) {
    const r = find(results, other);
    if (!ours || !r) continue;
    lines.push(`  ${OURS} vs ${other}: throughput ${x(ours.load.throughput / r.load.throughput)}, p99 ${x(ours.load.overall.p99 / r.load.overall.p99)}, short p99 ${x(ours.load.byKind.short.p99 / r.load.byKind.short.p99)}`);
  }
  if (ours) lines.push(`  ${OURS} vs in-process limit: throughput ${pct(ours.load.throughput / results.ideal.rowsPerSecond)}`);
  lines.push('');
  for (const g of goals) lines.push(`${g.passed ? 'PASS' : 'FAIL'}  ${g.name}\n      ${g.detail}`);
  return lines.join('\n');
}

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
  /** CPU seconds the server process used while the load generator ran (/proc; Linux). */
  serverCpuS?: number;
  /** Of those, its main thread's (the event loop: HTTP, validation, tokenizing, batching, answering). */
  eventLoopCpuS?: number;
  server?: ServerSide;
}

/** One window of our server at the headline load between two measurements of the limit. */
export interface PairedRun {
  /** In-process limit (rows/s) measured just before and just after the window. */
  limitBefore: number;
  limitAfter: number;
  /** Our server's req/s in the window. */
  throughput: number;
  p99: number;
  errors: Record<string, number>;
}

/** Our throughput over the mean of the limits that bracket it. */
export function pairedRatio(p: PairedRun): number {
  return p.throughput / ((p.limitBefore + p.limitAfter) / 2);
}

/** Median of the paired ratios, or undefined when no pairs ran. */
export function medianPairedRatio(paired: readonly PairedRun[] | undefined): number | undefined {
  if (!paired || paired.length === 0) return undefined;
  const ratios = paired.map(pairedRatio).sort((a, b) => a - b);
  const mid = Math.floor(ratios.length / 2);
  return ratios.length % 2 === 1 ? ratios[mid]! : (ratios[mid - 1]! + ratios[mid]!) / 2;
}

export interface BenchResults {
  machine: Record<string, string | number>;
  settings: Record<string, string>;
  workload: { seed: number; size: number; kinds: KindStats[] };
  headline: number;
  /** The best in-process result: the limit. */
  ideal: IdealResult;
  /** Every thread layout the in-process limit was measured with. */
  idealLayouts?: IdealResult[];
  runs: RunRecord[];
  /** Our server and the limit alternated at the headline load (--pairs). */
  paired?: PairedRun[];
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
export const HTTP_BOUND = 'distillery, no model (zeros)';
export const HTTP_FLOOR = 'fastify, constant answer';

/**
 * What serving costs outside the model, from the run without a model: CPU core-seconds per
 * request (server and load generator, which share the machine), and the throughput no server of
 * this design can pass on this machine: cores / (that cost + the model's cost per row at the
 * in-process limit, which keeps every core busy).
 */
export function servingBound(results: BenchResults, contender = HTTP_BOUND): { cpuPerRequestMs: number; modelPerRowMs: number; boundRps: number } | undefined {
  const run = find(results, contender);
  const cores = Number(results.machine.cpus);
  const limit = results.ideal.rowsPerSecond;
  const serverCpuS = run?.serverCpuS ?? run?.server?.cpuS;
  if (!run || serverCpuS === undefined || !Number.isFinite(limit) || !(cores > 0)) return undefined;
  const cpuPerRequest = (serverCpuS + run.load.cpuS) / run.load.wallS / run.load.throughput;
  const modelPerRow = cores / limit;
  return { cpuPerRequestMs: 1000 * cpuPerRequest, modelPerRowMs: 1000 * modelPerRow, boundRps: cores / (cpuPerRequest + modelPerRow) };
}

/**
 * An estimate from our server's own run with the model at the headline load, not a bound: what
 * its event loop and the load generator spent per request there (at that rate a request costs
 * more than without a model, where replies go out in bursts), and the model's CPU per row at the
 * limit scaled to our padding (the limit's sorted batches pad less). The throughput those leave
 * room for if every other core-second went to sessions as fast as the limit's: it tells whether
 * the request path or the sessions hold the share down, and, being computed from the run's own
 * throughput, it is no check on it. Undefined without the thread split.
 */
export function loadedEstimate(results: BenchResults): { pathPerRequestMs: number; modelPerRowMs: number; boundRps: number } | undefined {
  const run = find(results, OURS);
  const cores = Number(results.machine.cpus);
  const limit = results.ideal.rowsPerSecond;
  const ours = run?.server?.paddingEfficiency;
  if (!run || run.eventLoopCpuS === undefined || !ours || !Number.isFinite(limit) || !(cores > 0)) return undefined;
  const path = (run.eventLoopCpuS + run.load.cpuS) / run.load.wallS / run.load.throughput;
  const modelPerRow = (cores / limit) * (results.ideal.paddingEfficiency / ours);
  return { pathPerRequestMs: 1000 * path, modelPerRowMs: 1000 * modelPerRow, boundRps: cores / (path + modelPerRow) };
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 1 : 0) : '-');
const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : `${(100 * v).toFixed(1)}%`);
const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '-');

/** "503:2 ECONNRESET:1", or "0" when there were none. */
function formatErrors(errors: Record<string, number>): string {
  return (
    Object.entries(errors)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ') || '0'
  );
}

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
  // The alternated ratio when it was measured: one measured minutes from the limit drifts with the VM.
  const paired = medianPairedRatio(results.paired);
  const share = paired ?? t / limit;
  return [
    {
      name: `throughput >= 90% of the in-process limit and above both other servers (${results.headline} clients)`,
      passed: share >= 0.9 && t > naive.load.throughput && t > hf.load.throughput,
      detail: `${paired !== undefined ? `median of ${results.paired!.length} alternated windows ${pct(paired)} of the limit; in the table ` : ''}${t.toFixed(0)} req/s = ${pct(t / limit)} of the limit (${limit.toFixed(0)} rows/s); ${x(t / naive.load.throughput)} naive, ${x(t / hf.load.throughput)} transformers.js`,
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
  lines.push(
    `Machine: ${Object.entries(results.machine)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  lines.push(
    `Settings (our server; the naive and transformers.js servers run one session with ONNX Runtime's defaults): ${Object.entries(results.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  lines.push(`Workload (seed ${results.workload.seed}, ${results.workload.size} requests cycled in order):`);
  for (const k of results.workload.kinds) {
    lines.push(
      `  ${k.kind.padEnd(9)} ${pct(k.share).padStart(6)}  tokens ${k.minTokens}-${k.maxTokens} (mean ${k.meanTokens.toFixed(0)}), served row mean ${k.meanRowTokens.toFixed(0)}`,
    );
  }
  lines.push('');
  lines.push(
    `In-process limit (ideal sorted batches): ${results.ideal.rowsPerSecond.toFixed(0)} rows/s with ${results.ideal.layout ?? "the contenders' settings"}, ${results.ideal.batches} batches of ${results.ideal.meanRows.toFixed(1)} rows, padding efficiency ${pct(results.ideal.paddingEfficiency)}`,
  );
  for (const l of results.idealLayouts ?? []) lines.push(`  ${l.layout}: ${l.rowsPerSecond.toFixed(0)} rows/s`);
  lines.push('');
  lines.push(
    '| server | clients | req/s | p50 ms | p99 ms | short p50 | short p99 | long p99 | mean batch rows | padding eff. | CPU server (its event loop) / load gen (cores) | errors |',
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of results.runs) {
    const l = r.load;
    const errors = formatErrors(l.errors);
    const batchRows = r.server ? (r.server.rows / Math.max(1, r.server.batches)).toFixed(1) : '1';
    const padding = r.server ? pct(r.server.paddingEfficiency) : '100% (no padding)';
    const serverCpuS = r.serverCpuS ?? r.server?.cpuS;
    const loop = r.eventLoopCpuS !== undefined ? ` (${(r.eventLoopCpuS / l.wallS).toFixed(2)})` : '';
    const cpu = `${serverCpuS !== undefined ? (serverCpuS / l.wallS).toFixed(2) : '-'}${loop} / ${(l.cpuS / l.wallS).toFixed(2)}`;
    lines.push(
      `| ${r.contender} | ${l.concurrency} | ${l.throughput.toFixed(0)} | ${ms(l.overall.p50)} | ${ms(l.overall.p99)} | ${ms(l.byKind.short.p50)} | ${ms(l.byKind.short.p99)} | ${ms(l.byKind.long.p99)} | ${batchRows} | ${padding} | ${cpu} | ${errors} |`,
    );
  }
  lines.push('');
  lines.push(`Side by side at ${results.headline} clients:`);
  const ours = find(results, OURS);
  for (const other of [NAIVE, TRANSFORMERS, DEFAULT_BUCKETS, ONE_BUCKET]) {
    const r = find(results, other);
    if (!ours || !r) continue;
    lines.push(
      `  ${OURS} vs ${other}: throughput ${x(ours.load.throughput / r.load.throughput)}, p99 ${x(ours.load.overall.p99 / r.load.overall.p99)}, short p99 ${x(ours.load.byKind.short.p99 / r.load.byKind.short.p99)}`,
    );
  }
  if (ours) lines.push(`  ${OURS} vs in-process limit: throughput ${pct(ours.load.throughput / results.ideal.rowsPerSecond)}`);
  if (results.paired && results.paired.length > 0) {
    lines.push('');
    lines.push(
      `${OURS} and the in-process limit alternated at ${results.headline} clients (limit, server, limit, ...; each window against the mean of the limits around it):`,
    );
    lines.push('| window | limit before (rows/s) | ours (req/s) | limit after (rows/s) | share of the limit | p99 ms | errors |');
    lines.push('|---:|---:|---:|---:|---:|---:|---|');
    results.paired.forEach((p, i) => {
      const errors = formatErrors(p.errors);
      lines.push(
        `| ${i + 1} | ${p.limitBefore.toFixed(0)} | ${p.throughput.toFixed(0)} | ${p.limitAfter.toFixed(0)} | ${pct(pairedRatio(p))} | ${ms(p.p99)} | ${errors} |`,
      );
    });
    lines.push(`Median share: **${pct(medianPairedRatio(results.paired))}**`);
  }
  const bound = servingBound(results);
  const floor = servingBound(results, HTTP_FLOOR);
  if (bound || floor) {
    lines.push('');
    lines.push(
      `What serving costs besides the model (CPU per request, server + load generator, which share the ${results.machine.cpus} cores), and the most it leaves room for next to the model's ${(bound ?? floor)!.modelPerRowMs.toFixed(3)} ms of CPU per row at the limit:`,
    );
    const line = (what: string, b: NonNullable<typeof bound>) =>
      `  ${what}: ${b.cpuPerRequestMs.toFixed(3)} ms per request -> at most ${b.boundRps.toFixed(0)} req/s = ${pct(b.boundRps / results.ideal.rowsPerSecond)} of the limit`;
    if (floor) lines.push(line(`any Fastify server ("${HTTP_FLOOR}")`, floor));
    if (bound)
      lines.push(
        line(`this server's request path ("${HTTP_BOUND}")`, bound) +
          (ours ? `; measured ${ours.load.throughput.toFixed(0)} req/s = ${pct(ours.load.throughput / bound.boundRps)} of it` : ''),
      );
  }
  const loaded = loadedEstimate(results);
  if (loaded) {
    lines.push('');
    lines.push(
      `Our server with the model at ${results.headline} clients: its event loop and the load generator ${loaded.pathPerRequestMs.toFixed(3)} ms of CPU per request, the model at our padding ${loaded.modelPerRowMs.toFixed(3)} ms per row (the limit's, scaled): room for about ${loaded.boundRps.toFixed(0)} req/s = ${pct(loaded.boundRps / results.ideal.rowsPerSecond)} of the limit (an estimate from the run's own throughput, not a check on it)`,
    );
  }
  lines.push('');
  for (const g of goals) lines.push(`${g.passed ? 'PASS' : 'FAIL'}  ${g.name}\n      ${g.detail}`);
  return lines.join('\n');
}

/**
 * Serving benchmark: our server against the in-process throughput limit, a naive server and a
 * transformers.js server, side by side in one run on this machine. A script, not a test.
 *
 *   npm run bench:serving -- [--model-dir models] [--model support-intent] [--loads 1,8,64]
 *                            [--set NAME=VALUE ...] [--node-arg=FLAG ...] [--only LIST] [--client keep-alive|node-http]
 *                            [--quick] [--out FILE]
 *
 * --only takes a comma-separated subset of ideal,distillery,naive,transformers,one-bucket,http-bound
 * (quick trials of settings); the goals need them all.
 *
 * --set applies a server setting (INTRA_OP_THREADS, BUCKETS, MAX_BATCH_DELAY_MS ...) to every
 * contender (only our server batches; without --set the one-session servers get ONNX Runtime's
 * default threads, and the in-process limit is the best of several thread layouts).
 *
 * --node-arg=FLAG adds a Node or V8 flag (e.g. --node-arg=--heap-growing-percent=25) to our
 * server's processes only, to weigh a start flag by its CPU cost; the bench's servers otherwise
 * run with Node's defaults, not npm start's flags.
 *
 * --pairs N (default 3) ends the run with our server and the in-process limit alternated N times at
 * the headline load (--pair-s seconds each), the ratio that copes with this VM's drifting speed.
 *
 * --client node-http runs the load generator over node:http, as runs before the keep-alive client
 * did (it costs the shared cores more CPU per request; see load-generator.ts).
 *
 * Servers, the load generator and the in-process limit each run in their own process, one at a
 * time; the report goes to stdout and, with the raw numbers, to bench/results/.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { InferenceConfig } from '../../src/config.js';
import { TextTokenizer } from '../../src/inference/tokenizer.js';
import { BENCH_DIR, runChild, startChild } from './child.js';
import type { IdealResult, IdealSpec } from './ideal.js';
import { LOAD_CLIENTS, type LoadClient, type LoadResult, type LoadSpec } from './load-generator.js';
import { prepareModelFiles, type ModelFiles } from './model-files.js';
import {
  type BenchResults,
  DEFAULT_BUCKETS,
  evaluateGoals,
  HTTP_BOUND,
  HTTP_FLOOR,
  NAIVE,
  type PairedRun,
  pairedRatio,
  ONE_BUCKET,
  OURS,
  renderReport,
  type RunRecord,
  type ServerSide,
  TRANSFORMERS,
} from './report.js';
import { parsePrometheus, sumOf } from './stats.js';
import { buildWorkload, describeWorkload } from './workload.js';

const { values: args } = parseArgs({
  options: {
    'model-dir': { type: 'string', default: process.env.MODEL_DIR ?? 'models' },
    model: { type: 'string', default: 'support-intent' },
    loads: { type: 'string', default: '1,8,64' },
    set: { type: 'string', multiple: true, default: [] },
    'node-arg': { type: 'string', multiple: true, default: [] },
    seed: { type: 'string', default: '7' },
    size: { type: 'string', default: '2000' },
    'duration-s': { type: 'string', default: '8' },
    'headline-duration-s': { type: 'string', default: '20' },
    'warmup-s': { type: 'string', default: '2' },
    'ideal-s': { type: 'string', default: '10' },
    pairs: { type: 'string', default: '3' },
    'pair-s': { type: 'string', default: '8' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    client: { type: 'string', default: 'keep-alive' },
    out: { type: 'string' },
  },
});

const quick = args.quick;
const loads = args.loads
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
if (loads.some((l) => !Number.isInteger(l) || l < 1)) throw new Error(`--loads must be positive integers (got ${args.loads})`);
const headline = loads[loads.length - 1]!;
const seconds = (flag: string, quickValue: number) => (quick ? quickValue : Number(flag)) * 1000;
const durationMs = seconds(args['duration-s'], 1.5);
const headlineMs = seconds(args['headline-duration-s'], 2);
const warmupMs = seconds(args['warmup-s'], 0.5);
const idealMs = seconds(args['ideal-s'], 1.5);
const pairMs = seconds(args['pair-s'], 1);
const pairs = quick ? Math.min(1, Number(args.pairs)) : Number(args.pairs);
if (!Number.isInteger(pairs) || pairs < 0) throw new Error(`--pairs must be a whole number >= 0 (got ${args.pairs})`);
const seed = Number(args.seed);
const size = quick ? 300 : Number(args.size);
if (!(LOAD_CLIENTS as readonly string[]).includes(args.client)) throw new Error(`--client: unknown ${args.client}; use ${LOAD_CLIENTS.join(' or ')}`);
const client = args.client as LoadClient;
const CONTENDER_KEYS = ['ideal', 'distillery', 'naive', 'transformers', 'one-bucket', 'http-bound'];
const only = new Set(args.only ? args.only.split(',') : CONTENDER_KEYS);
for (const key of only) if (!CONTENDER_KEYS.includes(key)) throw new Error(`--only: unknown ${key}; use ${CONTENDER_KEYS.join(',')}`);

/** Settings given with --set, for every contender. */
const settings: Record<string, string> = {};
for (const pair of args.set) {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new Error(`--set takes NAME=VALUE (got ${pair})`);
  settings[pair.slice(0, eq)] = pair.slice(eq + 1);
}

function versionOf(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(BENCH_DIR, '../../node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

interface Contender {
  /** --only key. */
  key: string;
  name: string;
  script: string;
  spec: object;
  env: Record<string, string>;
  /** Node flags for the server process (--node-arg; our server only). */
  nodeArgs?: readonly string[];
  loads: number[];
  /** Scrape our server's /metrics around each run. */
  metrics: boolean;
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds a process has used so far, every thread, or with `thread` one of its threads (the
 * process id is its main thread: the event loop); Linux /proc, undefined elsewhere.
 */
function processCpuSeconds(pid: number | undefined, thread?: number): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime
  } catch {
    return undefined;
  }
}

async function scrape(port: number): Promise<ReturnType<typeof parsePrometheus>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return parsePrometheus(await res.text());
}

function serverSide(before: ReturnType<typeof parsePrometheus>, after: ReturnType<typeof parsePrometheus>, model: string, realTokens: number): ServerSide {
  const d = (name: string) => sumOf(after, name, { model }) - sumOf(before, name, { model });
  const paddedTokens = d('distillery_batch_tokens_sum');
  return {
    batches: d('distillery_batch_rows_count'),
    rows: d('distillery_batch_rows_sum'),
    paddedTokens,
    paddingEfficiency: realTokens / Math.max(1, paddedTokens),
    meanBatchPaddingRatio: d('distillery_batch_padding_ratio_sum') / Math.max(1, d('distillery_batch_padding_ratio_count')),
    cpuS: sumOf(after, 'distillery_process_cpu_seconds_total') - sumOf(before, 'distillery_process_cpu_seconds_total'),
  };
}

function loadSpec(opts: { port: number; model: string; workloadFile: string; concurrency: number; measureMs: number }): LoadSpec {
  return {
    url: `http://127.0.0.1:${opts.port}/v1/classify`,
    model: opts.model,
    workloadFile: opts.workloadFile,
    concurrency: opts.concurrency,
    warmupMs,
    durationMs: opts.measureMs,
    maxRequests: 200_000,
    timeoutMs: 30_000,
    client,
  };
}

/** One run of the load generator in its own process. */
function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return runChild<LoadResult>({ script: 'load-generator.ts', spec, timeoutMs: spec.warmupMs + spec.durationMs + 60_000 });
}

function runIdeal(opts: { files: ModelFiles; workloadFile: string; env: Record<string, string>; durationMs: number }): Promise<IdealResult> {
  return runChild<IdealResult>({
    script: 'ideal.ts',
    spec: { versionDir: opts.files.versionDir, workloadFile: opts.workloadFile, durationMs: opts.durationMs } satisfies IdealSpec,
    env: opts.env,
    timeoutMs: opts.durationMs + 120_000,
  });
}

/**
 * Our server at the headline load and the in-process limit, alternated: limit, server, limit,
 * server, ..., limit, with the server kept up throughout (idle while the limit runs). This shared
 * VM's speed drifts by a third within minutes (the limit measured minutes apart: 2047 to 2527
 * rows/s), so a ratio of two figures measured at different times says little; each window of
 * the server is set against the mean of the limits measured just before and just after it.
 */
async function runPairs(opts: {
  files: ModelFiles;
  workloadFile: string;
  serverEnv: Record<string, string>;
  limitEnv: Record<string, string>;
}): Promise<PairedRun[]> {
  const server = startChild<{ port: number }>({
    script: 'servers/distillery.ts',
    spec: {},
    env: opts.serverEnv,
    ...(args['node-arg'].length > 0 ? { nodeArgs: args['node-arg'] } : {}),
    timeoutMs: 180_000,
  });
  try {
    const { port } = await server.message;
    const limit = () => runIdeal({ files: opts.files, workloadFile: opts.workloadFile, env: opts.limitEnv, durationMs: pairMs / 2 });
    const windowSpec = loadSpec({ port, model: opts.files.model, workloadFile: opts.workloadFile, concurrency: headline, measureMs: pairMs });
    // One unmeasured window first: a fresh server is not yet at the pace of the table's run, which
    // follows its 1- and 8-client loads.
    await runLoad(windowSpec);
    let before = await limit();
    const out: PairedRun[] = [];
    for (let i = 0; i < pairs; i++) {
      const load = await runLoad(windowSpec);
      const after = await limit();
      const pair: PairedRun = {
        limitBefore: before.rowsPerSecond,
        throughput: load.throughput,
        limitAfter: after.rowsPerSecond,
        p99: load.overall.p99,
        errors: load.errors,
      };
      out.push(pair);
      console.error(
        `  pair ${i + 1}: limit ${pair.limitBefore.toFixed(0)} / ${pair.limitAfter.toFixed(0)} rows/s, ours ${pair.throughput.toFixed(0)} req/s = ${(100 * pairedRatio(pair)).toFixed(1)}%`,
      );
      before = after;
    }
    return out;
  } finally {
    await server.stop();
  }
}

async function runContender(c: Contender, files: ModelFiles, workloadFile: string): Promise<{ runs: RunRecord[]; inference?: InferenceConfig }> {
  const server = startChild<{ port: number; inference?: InferenceConfig }>({
    script: c.script,
    spec: c.spec,
    env: c.env,
    ...(c.nodeArgs ? { nodeArgs: c.nodeArgs } : {}),
    timeoutMs: 180_000,
  });
  try {
    const { port, inference } = await server.message;
    const runs: RunRecord[] = [];
    for (const concurrency of c.loads) {
      const measureMs = concurrency === headline ? headlineMs : durationMs;
      const spec = loadSpec({ port, model: files.model, workloadFile, concurrency, measureMs });
      const before = c.metrics ? await scrape(port) : undefined;
      const pid = server.process.pid;
      const cpuBefore = processCpuSeconds(pid);
      const loopBefore = processCpuSeconds(pid, pid);
      const load = await runLoad(spec);
      const cpuAfter = processCpuSeconds(pid);
      const loopAfter = processCpuSeconds(pid, pid);
      const after = c.metrics ? await scrape(port) : undefined;
      const record: RunRecord = {
        contender: c.name,
        load,
        ...(cpuBefore !== undefined && cpuAfter !== undefined ? { serverCpuS: cpuAfter - cpuBefore } : {}),
        ...(loopBefore !== undefined && loopAfter !== undefined ? { eventLoopCpuS: loopAfter - loopBefore } : {}),
        ...(before && after ? { server: serverSide(before, after, files.model, load.realTokens) } : {}),
      };
      runs.push(record);
      console.error(
        `  ${c.name} @${concurrency}: ${load.throughput.toFixed(0)} req/s, p50 ${load.overall.p50.toFixed(1)} ms, p99 ${load.overall.p99.toFixed(1)} ms${record.server ? `, padding ${(100 * record.server.paddingEfficiency).toFixed(1)}%` : ''}`,
      );
    }
    return { runs, ...(inference ? { inference } : {}) };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'distillery-bench-'));
  try {
    const files = await prepareModelFiles(args['model-dir'], args.model, workDir);
    const tokenizer = await TextTokenizer.load(path.join(files.versionDir, 'tokenizer.json'));
    const items = await buildWorkload(tokenizer, files.config.max_length, { seed, size });
    const workloadFile = path.join(workDir, 'workload.json');
    await fs.writeFile(workloadFile, JSON.stringify(items));
    console.error(`model ${files.model} v${files.version} (max_length ${files.config.max_length}), ${items.length} requests, loads ${loads.join(',')}`);

    const env = { ...settings };
    const ourEnv: Record<string, string> = {
      ...env,
      MODEL_DIR: files.registryDir,
      LOG_LEVEL: 'warn',
      REGISTRY_WATCH: 'false',
      REGISTRY_POLL_MS: '0',
      JOBS_ENABLED: 'false',
    };

    // The limit is the best this model does in-process on this machine, whatever the thread
    // layout: one single-threaded session per core, one session on every core, or the threads
    // given with --set.
    const idealLayouts: IdealResult[] = [];
    const layoutEnvs = new Map<string, Record<string, string>>();
    if (only.has('ideal')) {
      const cores = String(os.availableParallelism());
      const layouts: Array<Record<string, string>> = [
        { SESSIONS_PER_MODEL: cores, INTRA_OP_THREADS: '1' },
        { SESSIONS_PER_MODEL: '1', INTRA_OP_THREADS: cores, INTRA_OP_SPINNING: 'true' },
      ];
      const threadKeys = ['SESSIONS_PER_MODEL', 'INTRA_OP_THREADS', 'INTER_OP_THREADS', 'INTRA_OP_SPINNING'];
      if (threadKeys.some((k) => k in settings)) layouts.unshift({});
      for (const layout of layouts) {
        const layoutEnv = { ...env, ...layout };
        const name =
          Object.keys(layout).length === 0
            ? "the contenders' settings"
            : Object.entries(layout)
                .map(([k, v]) => `${k}=${v}`)
                .join(' ');
        console.error(`in-process limit (${name}) ...`);
        const result = await runIdeal({ files, workloadFile, env: layoutEnv, durationMs: idealMs });
        idealLayouts.push({ ...result, layout: name });
        layoutEnvs.set(name, layoutEnv);
        console.error(`  ${result.rowsPerSecond.toFixed(0)} rows/s`);
      }
    }
    const ideal: IdealResult = idealLayouts.reduce<IdealResult>(
      (best, r) => (r.rowsPerSecond > best.rowsPerSecond || !Number.isFinite(best.rowsPerSecond) ? r : best),
      { rowsPerSecond: Number.NaN, seconds: 0, passes: 0, batches: 0, meanRows: Number.NaN, paddingEfficiency: Number.NaN, layout: '-' },
    );

    // The servers with one session on the main thread get what ONNX Runtime gives anyone who
    // creates a session: every core for it, spinning threads (unless --set says otherwise).
    const oneSessionEnv = { SESSIONS_PER_MODEL: '1', INTRA_OP_SPINNING: 'true', ...env };
    const contenders: Contender[] = [
      { key: 'distillery', name: OURS, script: 'servers/distillery.ts', spec: {}, env: ourEnv, loads, metrics: true, nodeArgs: args['node-arg'] },
      { key: 'naive', name: NAIVE, script: 'servers/naive.ts', spec: { versionDir: files.versionDir }, env: oneSessionEnv, loads, metrics: false },
      {
        key: 'transformers',
        name: TRANSFORMERS,
        script: 'servers/transformers.ts',
        spec: { hfRoot: files.hfRoot, model: files.model },
        env: oneSessionEnv,
        loads,
        metrics: false,
      },
      {
        key: 'one-bucket',
        name: ONE_BUCKET,
        script: 'servers/distillery.ts',
        spec: {},
        env: { ...ourEnv, BUCKETS: '512' },
        loads: [headline],
        metrics: true,
        nodeArgs: args['node-arg'],
      },
      {
        key: 'http-bound',
        name: HTTP_BOUND,
        script: 'servers/distillery.ts',
        spec: { nullBackend: true },
        env: ourEnv,
        loads: [headline],
        metrics: true,
        nodeArgs: args['node-arg'],
      },
      { key: 'http-bound', name: HTTP_FLOOR, script: 'servers/floor.ts', spec: {}, env, loads: [headline], metrics: false },
    ];
    if (settings.BUCKETS !== undefined) {
      const { BUCKETS: _tuned, ...defaults } = ourEnv;
      contenders.push({ key: 'one-bucket', name: DEFAULT_BUCKETS, script: 'servers/distillery.ts', spec: {}, env: defaults, loads: [headline], metrics: true });
    }

    const runs: RunRecord[] = [];
    let inference: InferenceConfig | undefined;
    for (const c of contenders.filter((c) => only.has(c.key))) {
      console.error(`${c.name} ...`);
      const out = await runContender(c, files, workloadFile);
      runs.push(...out.runs);
      if (c.name === OURS) inference = out.inference;
    }
    const paired: PairedRun[] = [];
    const limitEnv = ideal.layout ? layoutEnvs.get(ideal.layout) : undefined;
    if (pairs > 0 && limitEnv && only.has('distillery')) {
      console.error(`${OURS} and the in-process limit (${ideal.layout}), alternated ${pairs} times ...`);
      paired.push(...(await runPairs({ files, workloadFile, serverEnv: ourEnv, limitEnv })));
    }

    const results: BenchResults = {
      machine: {
        cpus: os.availableParallelism(),
        cpu: os.cpus()[0]?.model ?? '?',
        memory: `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
        node: process.version,
        'onnxruntime-node': versionOf('onnxruntime-node'),
        '@huggingface/transformers': versionOf('@huggingface/transformers'),
      },
      settings: {
        ...settings,
        ...(inference
          ? {
              SESSIONS_PER_MODEL: String(inference.sessionsPerModel),
              INTRA_OP_THREADS: String(inference.intraOpThreads),
              INTER_OP_THREADS: String(inference.interOpThreads),
              INTRA_OP_SPINNING: String(inference.intraOpSpinning),
              SESSION_THREAD_NICENESS: String(inference.sessionThreadNiceness),
              BUCKETS: inference.buckets.join(','),
              MAX_BATCH_TOKENS: String(inference.maxBatchTokens),
              MAX_BATCH_ROWS: String(inference.maxBatchRows),
              MAX_BATCH_DELAY_MS: String(inference.maxBatchDelayMs),
            }
          : {}),
      },
      workload: { seed, size, kinds: describeWorkload(items) },
      headline,
      ideal,
      idealLayouts,
      runs,
      ...(paired.length > 0 ? { paired } : {}),
    };
    const goals = evaluateGoals(results);
    const report = renderReport(results, goals);
    console.log(report);
    console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s in all)`);
    const out = args.out ?? path.join(BENCH_DIR, '../results', `serving-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await fs.mkdir(path.dirname(out), { recursive: true });
    await fs.writeFile(out, JSON.stringify({ ...results, goals }, null, 2));
    await fs.writeFile(out.replace(/\.json$/, '.md'), `${report}\n`);
    console.error(`results: ${out}`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();

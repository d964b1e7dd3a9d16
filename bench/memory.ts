/**
 * Memory benchmark (npm run bench:memory): resident memory of the API process with the bundled
 * models, the compiled entry that `npm start` runs, side by side over variants in one run.
 *
 * Per variant a fresh server process (its own settings), and from its /proc/<pid>/status:
 * - idle after start: RSS once it listens (models loaded and, with WARMUP=true, warmed) and
 *   has sat idle for a moment;
 * - peak: the kernel's high-water mark (VmHWM) after a mixed load: classify requests of the
 *   serving bench's chatbot mix, and QA requests on long contexts (several help-center passages
 *   joined, up to MAX_TEXT_CHARS, so up to MAX_QA_WINDOWS windows of the QA model's max_length);
 * - after the load: RSS once the load has stopped (what stays);
 * - growth: with --seconds of 120 or more, the median RSS of the last minute against the median
 *   of the second (RSS sampled every second). Medians, because RSS swings by tens of MiB within
 *   seconds while long QA batches run: a single sample at the end measured where the swing was.
 * - V8's share, idle and after the load: the heap V8 has reserved and its external memory, from
 *   the server's own /metrics (the rest of the anonymous memory is native: ONNX Runtime, the
 *   tokenizer binding, malloc).
 * Components are told apart by difference: a bare Node process, the API with no models, one
 * session per model, each ONNX Runtime memory setting alone, V8 flags, the sources under tsx.
 *
 * RSS does not depend on how busy the CPU is, so these numbers hold on a shared machine; the
 * req/s printed beside them do not (they only show that a variant kept serving).
 *
 * Options: --seconds N (mixed load per variant, default 20), --clients N (default 16),
 * --only name,name (variants by name), --model-dir DIR, --out FILE (JSON results).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { buildDatasets } from '../tools/datagen/generate.js';
import { Rng } from '../tools/datagen/index.js';
import { stopWithBench } from './serving/child.js';

const ROOT = path.resolve(import.meta.dirname, '..');

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '16' },
    only: { type: 'string' },
    'model-dir': { type: 'string', default: process.env.MODEL_DIR ?? 'models' },
    out: { type: 'string', default: path.join(ROOT, 'bench/results/memory.json') },
  },
});
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const MODEL_DIR = path.resolve(args['model-dir']);

/** Memory of one process, in MiB, from /proc/<pid>/status. */
interface ProcMemory {
  rss: number;
  /** High-water mark of RSS since the process started. */
  hwm: number;
  anon: number;
  file: number;
  threads: number;
}

function procMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024, threads: kb('Threads') };
}

/**
 * The part of the anonymous memory that V8 owns, in MiB, from the server's own /metrics
 * (prom-client's default metrics): the JavaScript heap V8 has reserved (total, not used: RSS
 * follows what it holds) and external memory (ArrayBuffers and strings held outside the heap).
 * The rest of the anonymous memory is native: ONNX Runtime, the tokenizer binding, malloc.
 */
interface V8Memory {
  heapTotal: number;
  external: number;
}

async function v8Memory(base: string): Promise<V8Memory> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const gauge = (name: string): number => Number(new RegExp(`^distillery_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  return { heapTotal: gauge('nodejs_heap_size_total_bytes'), external: gauge('nodejs_external_memory_bytes') };
}

interface Variant {
  name: string;
  /** What it tells apart. */
  note: string;
  /** Environment over the production start's (PRODUCTION_ENV), unless `plain`. */
  env?: Record<string, string>;
  /** Node flags instead of PRODUCTION_NODE_ARGS. */
  nodeArgs?: string[];
  /** Start with node's and glibc's defaults instead of the production flags and environment. */
  plain?: boolean;
  /** Run the sources through tsx instead of dist/. */
  tsx?: boolean;
  /** An empty registry instead of MODEL_DIR. */
  noModels?: boolean;
  /** Measure idle only (no load). */
  idleOnly?: boolean;
}

/**
 * How production starts the API: `npm start` (package.json) and the api image (Dockerfile) set
 * the same. MALLOC_ARENA_MAX=2: glibc keeps fewer per-thread malloc arenas; a 4 MiB V8
 * semi-space (default 16): the young generation the request path churns through stays small;
 * --heap-growing-percent=25: the old generation grows 25% past what survived the last full GC
 * (V8's own rule allows up to 4x while GC is cheap, and the promoted garbage of long QA requests
 * took the heap from 38 to about 100 MiB).
 */
const PRODUCTION_ENV = { MALLOC_ARENA_MAX: '2' };
const PRODUCTION_NODE_ARGS = ['--max-semi-space-size=4', '--heap-growing-percent=25'];
/** What the jobs-on variants add: jobs on (the API's default), against the Redis at REDIS_URL. */
const JOBS_ON_ENV = { JOBS_ENABLED: 'true', REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' };

const VARIANTS: Variant[] = [
  {
    name: 'defaults',
    note: 'both bundled models, every setting at its default but jobs off (JOBS_ENABLED=false), started as npm start and the api image start it',
  },
  { name: 'plain', note: "node dist/src/server/main.js with node's and glibc's defaults (16 MiB semi-space, a malloc arena per thread)", plain: true },
  { name: 'semi-space-16', note: "the defaults with V8's default 16 MiB semi-space", nodeArgs: ['--heap-growing-percent=25'] },
  {
    name: 'jobs-on',
    note: 'the defaults with /v1/jobs, the queue dashboard and model events on (JOBS_ENABLED=true, Redis at REDIS_URL)',
    env: JOBS_ON_ENV,
  },
  // V8 flags that hold the heap smaller; bench:serving --node-arg=FLAG weighs their CPU cost.
  { name: 'optimize-for-size', note: "the defaults with V8's --optimize-for-size", nodeArgs: [...PRODUCTION_NODE_ARGS, '--optimize-for-size'] },
  {
    name: 'jobs-on-optimize-for-size',
    note: "jobs-on with V8's --optimize-for-size",
    env: JOBS_ON_ENV,
    nodeArgs: [...PRODUCTION_NODE_ARGS, '--optimize-for-size'],
  },
  {
    name: 'heap-growing-dynamic',
    note: 'the defaults without --heap-growing-percent: V8 grows the old generation up to 4x what survived its last full GC while GC is cheap',
    nodeArgs: ['--max-semi-space-size=4'],
  },
  ...[10, 50].map((percent) => ({
    name: `jobs-on-heap-growing-${percent}`,
    note: `jobs-on with --heap-growing-percent=${percent} instead of 25`,
    env: JOBS_ON_ENV,
    nodeArgs: ['--max-semi-space-size=4', `--heap-growing-percent=${percent}`],
  })),
  {
    name: 'jobs-on-semi-space-1',
    note: 'jobs-on with a 1 MiB semi-space (--max-semi-space-size=1)',
    env: JOBS_ON_ENV,
    nodeArgs: ['--max-semi-space-size=1', '--heap-growing-percent=25'],
  },
  { name: 'malloc-arenas', note: 'the defaults with a glibc malloc arena per thread (no MALLOC_ARENA_MAX)', env: { MALLOC_ARENA_MAX: '' } },
  {
    name: 'before',
    note: 'the settings before issue 12: ORT_MEM_PATTERN=true, MAX_BATCH_TOKENS=4096, node and glibc defaults',
    env: { ORT_MEM_PATTERN: 'true', MAX_BATCH_TOKENS: '4096' },
    plain: true,
  },
  { name: 'no-warmup', note: 'loaded, not warmed (WARMUP=false)', env: { WARMUP: 'false' }, idleOnly: true },
  { name: 'no-models', note: 'the API and its libraries, an empty registry', noModels: true, idleOnly: true },
  { name: 'tsx', note: 'the sources through tsx (npm start before dist/)', tsx: true, idleOnly: true },
  { name: 'sessions-1', note: 'one session per model (SESSIONS_PER_MODEL=1)', env: { SESSIONS_PER_MODEL: '1' } },
  { name: 'mem-pattern-on', note: 'ORT_MEM_PATTERN=true', env: { ORT_MEM_PATTERN: 'true' } },
  { name: 'tokens-4096', note: 'MAX_BATCH_TOKENS=4096 (32 x 128 QA batches)', env: { MAX_BATCH_TOKENS: '4096' } },
  { name: 'tokens-2048', note: 'MAX_BATCH_TOKENS=2048, the default before 512 (16 x 128 QA, 32 x 64 classify batches)', env: { MAX_BATCH_TOKENS: '2048' } },
  { name: 'malloc-arena-1', note: 'one glibc malloc arena (MALLOC_ARENA_MAX=1)', env: { MALLOC_ARENA_MAX: '1' } },
  { name: 'prepacking-off', note: 'ORT_PREPACKING=false', env: { ORT_PREPACKING: 'false' } },
  { name: 'arena-off', note: 'ORT_CPU_MEM_ARENA=false', env: { ORT_CPU_MEM_ARENA: 'false' } },
  {
    name: 'arena-off-mmap',
    note: 'ORT_CPU_MEM_ARENA=false, MALLOC_MMAP_THRESHOLD_=65536 (large tensors mapped and unmapped per run)',
    env: { ORT_CPU_MEM_ARENA: 'false', MALLOC_MMAP_THRESHOLD_: '65536' },
  },
];

interface Server {
  child: ChildProcess;
  base: string;
  stop(): Promise<void>;
}

/** Start the API (dist/ or the sources) on a free port and wait until it accepts requests. */
async function startServer(variant: Variant, modelDir: string): Promise<Server> {
  const entry = variant.tsx ? ['--import', 'tsx', 'src/server/main.ts'] : ['dist/src/server/main.js'];
  const nodeArgs = variant.plain ? [] : (variant.nodeArgs ?? PRODUCTION_NODE_ARGS);
  // An empty value in a variant's env unsets the production setting.
  const env = Object.fromEntries(Object.entries({ ...(variant.plain ? {} : PRODUCTION_ENV), ...variant.env }).filter(([, v]) => v !== ''));
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      MODEL_DIR: modelDir,
      HOST: '127.0.0.1',
      PORT: '0',
      JOBS_ENABLED: 'false',
      REGISTRY_WATCH: 'false',
      REGISTRY_POLL_MS: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  stopWithBench(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${variant.name}: the server did not listen within 180 s`)), 180_000);
    void exited.then(() => reject(new Error(`${variant.name}: the server exited before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('"accepting requests"')) return;
      clearTimeout(timer);
      resolve(String((JSON.parse(line) as { address: string }).address));
    });
  });
  return {
    child,
    base,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The mixed requests: 3 of 4 classify (1-8 texts of the chatbot mix), 1 of 4 QA on a long context. */
function mixedRequests(): Array<{ path: string; body: string }> {
  const { intents, qa } = buildDatasets(7);
  const rng = Rng.fromSeed(11);
  const texts = intents.train.map((e) => e.text);
  const passages = qa.train;
  const requests: Array<{ path: string; body: string }> = [];
  for (let i = 0; i < 400; i++) {
    if (i % 4 !== 3) {
      const n = rng.int(1, 8);
      const inputs = Array.from({ length: n }, () => texts[rng.int(0, texts.length - 1)]!);
      requests.push({ path: '/v1/classify', body: JSON.stringify({ model: 'support-intent', inputs }) });
      continue;
    }
    // Long contexts: 2 to 40 passages joined, cut to the default MAX_TEXT_CHARS (20 000).
    const count = rng.int(2, 40);
    const first = passages[rng.int(0, passages.length - 1)]!;
    const context = Array.from({ length: count }, () => passages[rng.int(0, passages.length - 1)]!.context)
      .join('\n\n')
      .slice(0, 20_000);
    const question = first.qas[0]?.question ?? 'How long do refunds take?';
    requests.push({ path: '/v1/qa', body: JSON.stringify({ model: 'support-qa', inputs: [{ question, context }], top_k: 1 }) });
  }
  return requests;
}

interface LoadOutcome {
  answered: number;
  errors: number;
  /** Errors by HTTP status (or "network"). */
  errorStatuses: Record<string, number>;
  reqPerS: number;
  /** RSS samples (MiB), one a second. */
  samples: number[];
}

/** A closed loop of CLIENTS clients for SECONDS seconds, sampling the server's RSS every second. */
async function mixedLoad(server: Server, requests: ReadonlyArray<{ path: string; body: string }>): Promise<LoadOutcome> {
  const pid = server.child.pid!;
  const until = Date.now() + SECONDS * 1000;
  let next = 0;
  let answered = 0;
  let errors = 0;
  const errorStatuses: Record<string, number> = {};
  const fail = (key: string) => {
    errors++;
    errorStatuses[key] = (errorStatuses[key] ?? 0) + 1;
  };
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(procMemory(pid).rss), 1000);
  const client = async () => {
    while (Date.now() < until) {
      const req = requests[next++ % requests.length]!;
      try {
        const res = await fetch(server.base + req.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: req.body });
        await res.arrayBuffer();
        if (res.ok) answered++;
        else fail(String(res.status));
      } catch {
        fail('network');
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: CLIENTS }, client));
  clearInterval(sampler);
  return { answered, errors, errorStatuses, reqPerS: answered / ((Date.now() - started) / 1000), samples };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface VariantResult {
  name: string;
  note: string;
  idle: ProcMemory;
  idleV8: V8Memory;
  peak?: number;
  afterLoad?: ProcMemory;
  afterLoadV8?: V8Memory;
  load?: Omit<LoadOutcome, 'samples'>;
  /** The last minute's median RSS against the second minute's (MiB and %), and RSS every 10 s; only with --seconds >= 120. */
  growth?: {
    /** Median RSS (MiB) of the second minute's samples, and of the last minute's. */
    secondMinute: number;
    lastMinute: number;
    percent: number;
    /** Lowest RSS of the second and of the last minute (the floor the swings return to). */
    floors: [number, number];
    every10s: number[];
  };
}

async function measure(variant: Variant, requests: ReadonlyArray<{ path: string; body: string }>): Promise<VariantResult> {
  const emptyDir = variant.noModels ? mkdtempSync(path.join(os.tmpdir(), 'distillery-empty-registry-')) : undefined;
  const server = await startServer(variant, emptyDir ?? MODEL_DIR);
  try {
    await sleep(3000);
    const pid = server.child.pid!;
    const idle = procMemory(pid);
    const idleV8 = await v8Memory(server.base);
    if (variant.idleOnly) return { name: variant.name, note: variant.note, idle, idleV8 };
    const { samples, ...load } = await mixedLoad(server, requests);
    const peak = procMemory(pid).hwm;
    await sleep(3000);
    const afterLoad = procMemory(pid);
    const afterLoadV8 = await v8Memory(server.base);
    let growth: VariantResult['growth'];
    if (SECONDS >= 120 && samples.length >= 120) {
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const second = samples.slice(60, 120);
      const last = samples.slice(-60);
      growth = {
        secondMinute: median(second),
        lastMinute: median(last),
        percent: ((median(last) - median(second)) / median(second)) * 100,
        floors: [Math.min(...second), Math.min(...last)],
        every10s: samples.filter((_, i) => i % 10 === 9).map((v) => Math.round(v)),
      };
    }
    return { name: variant.name, note: variant.note, idle, idleV8, peak, afterLoad, afterLoadV8, load, ...(growth ? { growth } : {}) };
  } finally {
    await server.stop();
    if (emptyDir) rmSync(emptyDir, { recursive: true, force: true });
  }
}

/** RSS of a bare Node process doing nothing: the floor under every variant. */
async function bareNode(): Promise<ProcMemory> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
  await sleep(1000);
  const mem = procMemory(child.pid!);
  child.kill('SIGKILL');
  return mem;
}

const mib = (n: number | undefined) => (n === undefined ? '' : n.toFixed(0));

function render(bare: ProcMemory, results: VariantResult[]): string {
  const lines = [
    `bare node: ${mib(bare.rss)} MiB RSS`,
    '',
    '| variant | what | idle after start (MiB) | anon / file | V8 heap / external | threads | peak after mixed load | after load | V8 heap / external after load | growth, 2nd to last minute | req/s | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.name} | ${r.note} | ${mib(r.idle.rss)} | ${mib(r.idle.anon)} / ${mib(r.idle.file)} | ${mib(r.idleV8.heapTotal)} / ${mib(r.idleV8.external)} | ${r.idle.threads} | ${mib(r.peak)} | ${mib(r.afterLoad?.rss)} | ${
        r.afterLoadV8 ? `${mib(r.afterLoadV8.heapTotal)} / ${mib(r.afterLoadV8.external)}` : ''
      } | ${
        r.growth
          ? `${r.growth.percent.toFixed(1)}% (median ${mib(r.growth.secondMinute)} -> ${mib(r.growth.lastMinute)}, floor ${mib(r.growth.floors[0])} -> ${mib(r.growth.floors[1])})`
          : ''
      } | ${r.load ? r.load.reqPerS.toFixed(0) : ''} | ${
        r.load
          ? Object.entries(r.load.errorStatuses)
              .map(([status, n]) => `${n} x ${status}`)
              .join(', ') || '0'
          : ''
      } |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  // The entry `npm start` runs, current with the sources.
  execFileSync(process.execPath, ['scripts/build-dist.mjs'], { cwd: ROOT, stdio: 'inherit' });
  const only = args.only?.split(',').map((s) => s.trim());
  const variants = only ? VARIANTS.filter((v) => only.includes(v.name)) : VARIANTS;
  if (only && variants.length !== only.length) throw new Error(`unknown variant in --only; known: ${VARIANTS.map((v) => v.name).join(', ')}`);
  const requests = mixedRequests();
  const bare = await bareNode();
  const results: VariantResult[] = [];
  for (const variant of variants) {
    process.stderr.write(`memory: ${variant.name} ...\n`);
    results.push(await measure(variant, requests));
  }
  const report = render(bare, results);
  process.stdout.write(`${report}\n`);
  mkdirSync(path.dirname(args.out), { recursive: true });
  writeFileSync(args.out, JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, clients: CLIENTS, bare, results }, null, 2));
}

await main();

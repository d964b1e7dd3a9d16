/**
 * What a shadow costs live requests: the bundled intent model served by this process, loaded by
 * the serving benchmark's load generator in its own process, in alternating phases with no
 * shadow and with a shadow (an identical copy of the active version, every request sampled).
 * Prints live p50 / p99 and throughput per phase, and what the shadow replayed and dropped.
 *
 *   npm run bench:rollout -- [--concurrency 8] [--seconds 10] [--rounds 2]
 *
 * Both phases run on the same server and cores, one after the other, alternating so that drift
 * of a shared machine falls on both. The shadow's extra forward passes take CPU by design; the
 * question is how much of it the niced, one-at-a-time replays take from live requests.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { createInferenceEngine } from '../src/inference/index.js';
import { TextTokenizer } from '../src/inference/tokenizer.js';
import { createMetrics } from '../src/metrics.js';
import { buildApp } from '../src/server/app.js';
import { runChild } from './serving/child.js';
import type { LoadResult, LoadSpec } from './serving/load-generator.js';
import { buildWorkload } from './serving/workload.js';

const { values: args } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
  },
});
const MODEL = 'support-intent';
const ADMIN = 'admin-key-for-the-rollout-benchmark';

const dir = mkdtempSync(path.join(os.tmpdir(), 'distillery-bench-rollout-'));
cpSync(path.resolve('models'), dir, { recursive: true });
const active = (JSON.parse(readFileSync(path.join(dir, MODEL, 'state.json'), 'utf8')) as { active: number }).active;
const copy = active + 1;
cpSync(path.join(dir, MODEL, String(active)), path.join(dir, MODEL, String(copy)), { recursive: true });

const config = loadConfig({ MODEL_DIR: dir, ADMIN_API_KEYS: ADMIN, REGISTRY_WATCH: 'false', REGISTRY_POLL_MS: '0', JOBS_ENABLED: 'false' });
const metrics = createMetrics({ defaultMetrics: false });
const engine = createInferenceEngine({ config, logger: pino({ level: 'silent' }), metrics });
await engine.start();
const app = await buildApp({ config, engine, metrics });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

const tokenizer = await TextTokenizer.load(path.join(dir, MODEL, String(active), 'tokenizer.json'));
const items = await buildWorkload(tokenizer, 128, { seed: 7, size: 2000 });
const workloadFile = path.join(dir, 'workload.json');
writeFileSync(workloadFile, JSON.stringify(items));

async function admin(method: string, body?: unknown): Promise<void> {
  const res = await fetch(`${base}/v1/models/${MODEL}/shadow`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} shadow: ${res.status} ${await res.text()}`);
}

async function phase(): Promise<LoadResult> {
  const spec: LoadSpec = {
    url: `${base}/v1/classify`,
    model: MODEL,
    workloadFile,
    concurrency: Number(args.concurrency),
    warmupMs: 1000,
    durationMs: Number(args.seconds) * 1000,
    maxRequests: 10_000_000,
    timeoutMs: 30_000,
  };
  return runChild<LoadResult>({ script: 'load-generator.ts', spec, timeoutMs: spec.warmupMs + spec.durationMs + 60_000 });
}

const rows: string[] = [];
const fmt = (r: LoadResult) =>
  `p50 ${r.overall.p50.toFixed(2)} ms  p99 ${r.overall.p99.toFixed(2)} ms  ${r.throughput.toFixed(0)} req/s  errors ${JSON.stringify(r.errors)}`;
try {
  for (let round = 1; round <= Number(args.rounds); round++) {
    rows.push(`round ${round} no shadow:        ${fmt(await phase())}`);
    await admin('PUT', { version: copy, sample: 1 });
    const withShadow = await phase();
    const evidence = (await engine.getModel(MODEL)).rollout.shadow?.evidence;
    await admin('DELETE');
    rows.push(
      `round ${round} shadow sample 1: ${fmt(withShadow)}  replayed ${evidence?.candidate.requests ?? 0}, dropped ${evidence?.dropped ?? 0}, agreement ${evidence?.agreement?.top1_agreement ?? '-'}`,
    );
  }
  console.log(`${os.availableParallelism()} cores, ${args.concurrency} clients, ${args.seconds} s per phase\n${rows.join('\n')}`);
} finally {
  await app.close();
  await engine.close();
  metrics.close();
  rmSync(dir, { recursive: true, force: true });
}

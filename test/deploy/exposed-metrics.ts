/**
 * The metric families the API and the worker really expose, read from their /metrics output
 * (`# TYPE name type` lines), so dashboards and alerts can be checked against them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { createInferenceEngine } from '../../src/inference/index.js';
import { createMetrics } from '../../src/metrics.js';
import { buildApp } from '../../src/server/app.js';

/** Family name -> type (counter, gauge, histogram, summary, untyped). */
export type MetricFamilies = Map<string, string>;

const ROOT = path.resolve(import.meta.dirname, '../..');

export function parseExposition(body: string): MetricFamilies {
  const families: MetricFamilies = new Map();
  for (const line of body.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line.trim());
    if (m) families.set(m[1]!, m[2]!);
  }
  return families;
}

/**
 * The API's /metrics, from the app built as src/server/main.ts builds it: settings from the
 * environment, createMetrics() (process metrics on), the real inference engine started over an
 * empty registry, and buildApp(). Every engine metric is created up front by createMetrics(), so
 * no model is needed for the names.
 */
export async function apiMetricFamilies(): Promise<MetricFamilies> {
  const modelDir = mkdtempSync(path.join(os.tmpdir(), 'distillery-deploy-test-'));
  const config = loadConfig({ MODEL_DIR: modelDir, REGISTRY_WATCH: 'false', REGISTRY_POLL_MS: '0', INTRA_OP_THREADS: '1' });
  const logger = pino({ level: 'silent' });
  const metrics = createMetrics();
  const engine = createInferenceEngine({ config, logger, metrics });
  try {
    await engine.start();
    const app = await buildApp({ config, engine, logger, metrics });
    try {
      await app.inject({ method: 'GET', url: '/healthz' });
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      if (res.statusCode !== 200) throw new Error(`API /metrics answered ${res.statusCode}`);
      return parseExposition(res.body);
    } finally {
      await app.close();
    }
  } finally {
    await engine.close();
    metrics.close();
    rmSync(modelDir, { recursive: true, force: true });
  }
}

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The worker's /metrics, from the real worker process (`npm run worker`'s entry) on a free port,
 * on its own queue prefix. It needs Redis: its queue-depth gauge asks Redis on every scrape.
 */
export async function workerMetricFamilies(): Promise<MetricFamilies> {
  const prefix = `deploytest${process.pid}x${Date.now()}`;
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new Error(`the worker metrics check needs Redis at ${TEST_REDIS_URL} (REDIS_URL): ${(err as Error).message}`);
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/queue/worker-main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      WORKER_METRICS_PORT: '0',
      WORKER_METRICS_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`worker did not start within 30 s; output:\n${out}`)), 30_000);
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        const m = /"metrics":"([^"]+)"/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`worker exited with ${code} before listening; output:\n${out}`));
      });
    });
    const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) throw new Error(`worker /metrics answered ${res.status}`);
    return parseExposition(await res.text());
  } finally {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

/**
 * A real server over a real (tiny) model registry for the HTTP tests: the fixture models from
 * test/fixtures/make-tiny-models.py, the real inference engine, and buildApp listening on port 0.
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { loadConfig, type AppConfig } from '../../src/config.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { type CreateEngineOptions, createInferenceEngine, type InferenceEngine } from '../../src/inference/index.js';
import { buildApp } from '../../src/server/app.js';
import { CLIENT_CLOSED_REQUEST } from '../../src/server/status-table.js';
import { JobService } from '../../src/queue/job-service.js';
import { deleteRedisKeys } from '../redis-keys.js';

import { tinyRegistry } from '../fixtures/tiny-registry.js';

export { tinyRegistry };

export const INFERENCE_KEY = 'inference-key-0123456789abcdef';
export const ADMIN_KEY = 'admin-key-0123456789abcdef0123';

export interface TestServer {
  app: FastifyInstance;
  engine: InferenceEngine;
  config: AppConfig;
  metrics: Metrics;
  modelDir: string;
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

/** Starts the engine (load + warm) and the app on a free port, as main.ts does. */
export async function startServer(
  env: Record<string, string> = {},
  opts: Pick<CreateEngineOptions, 'backendFactory'> & {
    /** Serve this registry (shared with another server) instead of a fresh copy; it is left in place on close. */
    modelDir?: string;
  } = {},
): Promise<TestServer> {
  const ownRegistry = opts.modelDir === undefined;
  const modelDir = opts.modelDir ?? tinyRegistry();
  const config = loadConfig({
    MODEL_DIR: modelDir,
    REGISTRY_WATCH: 'false',
    REGISTRY_POLL_MS: '0',
    INTRA_OP_THREADS: '1',
    ...env,
  });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const metrics = createMetrics({ defaultMetrics: false });
  const engine = createInferenceEngine({ config, logger, metrics, ...(opts.backendFactory ? { backendFactory: opts.backendFactory } : {}) });
  await engine.start();
  // The job routes too, as main.ts mounts them, on a queue prefix of this test's own.
  const queuePrefix = `dtest-server-${process.pid}-${Date.now()}`;
  const jobs = new JobService({ queue: { ...config.queue, prefix: queuePrefix }, paths: config.paths });
  // The job routes answer 503 until the Redis connection is up; tests start once it is, so a
  // slow connect under load is not mistaken for a failure of the route under test.
  await redisReady(jobs);
  const app = await buildApp({ config, engine, logger, metrics, jobs });
  const observed = observeStatuses(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    engine,
    config,
    metrics,
    modelDir,
    url: `http://127.0.0.1:${port}`,
    async close() {
      // The status rule, suite-wide: every status any test saw a route answer is in its OpenAPI responses.
      const undocumented = undocumentedStatuses(app, observed);
      await app.close();
      await jobs.close();
      await deleteRedisKeys(config.queue.redisUrl, `${queuePrefix}:`);
      await engine.close();
      metrics.close();
      if (ownRegistry) rmSync(modelDir, { recursive: true, force: true });
      if (undocumented.length > 0) throw new Error(`statuses answered but missing from OpenAPI: ${undocumented.join(', ')}`);
    },
  };
}

/** Records "METHOD /route/:template status" for every answer of a route. */
function observeStatuses(app: FastifyInstance): Set<string> {
  const seen = new Set<string>();
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url !== undefined) seen.add(`${request.method} ${request.routeOptions.url} ${reply.statusCode}`);
  });
  return seen;
}

/** The observed statuses that the route's OpenAPI responses do not list (hidden routes and 499 aside). */
function undocumentedStatuses(app: FastifyInstance, observed: Set<string>): string[] {
  const doc = app.swagger() as { paths?: Record<string, Record<string, { responses?: Record<string, unknown> }>> };
  return [...observed].filter((entry) => {
    const [method, url, status] = entry.split(' ') as [string, string, string];
    const operation = doc.paths?.[url.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
    if (!operation || status === String(CLIENT_CLOSED_REQUEST)) return false;
    return !(status in (operation.responses ?? {}));
  });
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function redisReady(jobs: JobService, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!jobs.isAvailable()) {
    if (Date.now() > until) throw new Error(`Redis at ${process.env.REDIS_URL ?? '127.0.0.1:6379'} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A DATA_DIR holding the smallest job a spec resolves against, and that spec (never run: no worker). */
export interface JobData {
  dir: string;
  spec(over?: Record<string, unknown>): Record<string, unknown>;
  remove(): Promise<void>;
}

/** The smallest job spec, with paths relative to the DATA_DIR jobData() writes. */
export function jobSpec(model: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'distill',
    model,
    task: 'classification',
    teacher: { path: 'teacher' },
    data: { train: 'train.jsonl', eval: 'train.jsonl' },
    student: { layers: 1, hidden: 32, heads: 2, intermediate: 64 },
    ...over,
  };
}

export async function jobData(model = 'test-model'): Promise<JobData> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'distillery-job-data-'));
  await mkdir(path.join(dir, 'teacher'));
  await writeFile(path.join(dir, 'teacher', 'config.json'), JSON.stringify({ hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 2, vocab_size: 100 }));
  // Resolving a spec checks that these exist (the trainer reads them); this job never runs.
  await writeFile(path.join(dir, 'teacher', 'model.safetensors'), '');
  await writeFile(path.join(dir, 'teacher', 'vocab.txt'), '');
  await writeFile(path.join(dir, 'train.jsonl'), '{"text":"a","label":"x"}\n{"text":"b","label":"y"}\n');
  return {
    dir,
    spec: (over = {}) => jobSpec(model, over),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

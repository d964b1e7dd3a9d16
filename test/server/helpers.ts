/**
 * A real server over a real (tiny) model registry for the HTTP tests: the fixture models from
 * test/fixtures/make-tiny-models.py, the real inference engine, and buildApp listening on port 0.
 */
import { rmSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { loadConfig, type AppConfig } from '../../src/config.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { type CreateEngineOptions, createInferenceEngine, type InferenceEngine } from '../../src/inference/index.js';
import { buildApp } from '../../src/server/app.js';
import { JobService } from '../../src/queue/job-service.js';

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
  const jobs = new JobService({ queue: { ...config.queue, prefix: `dtest-server-${process.pid}-${Date.now()}` }, paths: config.paths });
  const app = await buildApp({ config, engine, logger, metrics, jobs });
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
      await app.close();
      await jobs.close();
      await engine.close();
      metrics.close();
      if (ownRegistry) rmSync(modelDir, { recursive: true, force: true });
    },
  };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

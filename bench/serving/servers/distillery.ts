/**
 * Contender (a): our server, the real buildApp + createInferenceEngine, configured from the
 * environment exactly as src/server/main.ts is (MODEL_DIR, BUCKETS, MAX_BATCH_* ...), without
 * Redis or job routes, listening on a free port of 127.0.0.1.
 *
 * With `{"nullBackend": true}` every batch returns zeros at once instead of running the model:
 * the whole request path (HTTP, validation, tokenizing, queueing, batching, answering) without
 * the model, which measures what serving costs on top of inference.
 */
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.js';
import { type BatchOutputs, createInferenceEngine, type InferenceBackend, type PaddedBatch } from '../../../src/inference/index.js';
import type { ServingConfig } from '../../../src/inference/registry/types.js';
import { createMetrics } from '../../../src/metrics.js';
import { buildApp } from '../../../src/server/app.js';
import { childSpec, serveContender } from '../child.js';

export interface DistilleryServerSpec {
  nullBackend?: boolean;
}

/** Zero outputs of the right shapes, as fast as a promise resolves. */
function nullBackend(config: ServingConfig): InferenceBackend {
  const width = (batch: PaddedBatch) => (config.task === 'classification' ? (config.labels?.length ?? 1) : batch.length);
  return {
    concurrency: 1,
    run: async (batch) => {
      const out: BatchOutputs = {};
      const w = width(batch);
      for (const name of config.outputs) out[name] = { data: new Float32Array(batch.rows * w), dims: [batch.rows, w] };
      return out;
    },
    close: async () => {},
  };
}

const spec = process.argv[2] ? childSpec<DistilleryServerSpec>() : {};

const config = loadConfig(process.env);
const metrics = createMetrics();
const engine = createInferenceEngine({
  config,
  logger: pino({ level: 'warn' }),
  metrics,
  ...(spec.nullBackend ? { backendFactory: (_model: string, _version: number, serving: ServingConfig) => nullBackend(serving) } : {}),
});
await engine.start();
if (!engine.isReady()) throw new Error(`engine not ready: ${JSON.stringify(engine.readiness())}`);
const app = await buildApp({ config, engine, metrics });
await serveContender(app, {
  release: async () => {
    await engine.close();
    metrics.close();
  },
  info: { inference: config.inference },
});

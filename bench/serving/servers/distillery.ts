/**
 * Contender (a): our server, the real buildApp + createInferenceEngine, configured from the
 * environment exactly as src/server/main.ts is (MODEL_DIR, BUCKETS, MAX_BATCH_* ...), without
 * Redis or job routes, listening on a free port of 127.0.0.1.
 */
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.js';
import { createInferenceEngine } from '../../../src/inference/index.js';
import { createMetrics } from '../../../src/metrics.js';
import { buildApp } from '../../../src/server/app.js';
import { announceReady, closeOnSignal } from '../child.js';

const config = loadConfig(process.env);
const metrics = createMetrics();
const engine = createInferenceEngine({ config, logger: pino({ level: 'warn' }), metrics });
await engine.start();
if (!engine.isReady()) throw new Error(`engine not ready: ${JSON.stringify(engine.readiness())}`);
const app = await buildApp({ config, engine, metrics });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (!address || typeof address === 'string') throw new Error('no TCP address');
closeOnSignal(async () => {
  await app.close();
  await engine.close();
  metrics.close();
});
announceReady({ port: address.port, inference: config.inference });

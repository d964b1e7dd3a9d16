import { appendFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createInferenceEngine, type InferenceEngine } from '../../src/inference/index.js';
import { testConfig, tinyRegistry } from './helpers.js';

const logger = pino({ level: 'silent' });
let engine: InferenceEngine | undefined;
let dir: string | undefined;

afterEach(async () => {
  await engine?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('readiness', () => {
  it('is not ready while an active model has no loaded version, and says which', async () => {
    dir = tinyRegistry();
    // tiny-qa's active version fails its hash check at start-up; tiny-intent loads fine.
    appendFileSync(path.join(dir, 'tiny-qa', '1', 'model.onnx'), Buffer.from([0]));
    engine = createInferenceEngine({ config: { paths: { modelDir: dir }, inference: testConfig({ BUCKETS: '16,32,64', MAX_BATCH_TOKENS: '512' }) }, logger });
    await engine.start();
    expect(engine.isReady()).toBe(false);
    expect(engine.readiness().models['tiny-qa']).toMatchObject({ status: 'failed' });
    expect(engine.readiness().models['tiny-intent']).toMatchObject({ status: 'ready', version: 1 });
    // The working model still serves: readiness gates the replica, not each model.
    const out = await engine.classify({ model: 'tiny-intent', inputs: ['hello'], topK: 1 });
    expect(out.version).toBe(1);
  });
});

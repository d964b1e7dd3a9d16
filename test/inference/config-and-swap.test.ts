import { rmSync } from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, EnvReader, loadInferenceConfig } from '../../src/config.js';
import { createInferenceEngine } from '../../src/inference/index.js';
import { type FakeBackend, fakeBackend, testConfig, tick, tinyRegistry } from './helpers.js';

describe('InferenceConfig', () => {
  const load = (env: Record<string, string>) => loadInferenceConfig(new EnvReader(env), 2);
  it('has sane defaults for a 2-core box', () => {
    expect(load({})).toMatchObject({
      sessionsPerModel: 2,
      intraOpThreads: 1,
      intraOpSpinning: false,
      sessionThreadNiceness: 10,
      executionProviders: ['cpu'],
      buckets: [8, 12, 16, 24, 32, 48, 64, 128, 256, 512],
      maxBatchTokens: 512,
      ortMemory: { cpuMemArena: true, memPattern: false, prepacking: true },
    });
  });
  it('refuses contradictions and says what to change', () => {
    expect(() => load({ MAX_BATCH_TOKENS: '256' })).toThrow(/raise MAX_BATCH_TOKENS to at least 512/);
    expect(() => load({ BUCKETS: '64,32' })).toThrow(ConfigError);
    expect(() => load({ MAX_QUEUED_ROWS: '8', MAX_BATCH_ROWS: '16' })).toThrow(/MAX_QUEUED_ROWS/);
    expect(() => load({ EXECUTION_PROVIDERS: 'tpu' })).toThrow(/cpu, or cuda/);
  });
  it('always keeps CPU as the fallback provider', () => {
    expect(load({ EXECUTION_PROVIDERS: 'cuda' }).executionProviders).toEqual(['cuda', 'cpu']);
  });
  it('runs a session per core (at most 8), and two with CUDA', () => {
    expect(loadInferenceConfig(new EnvReader({}), 16)).toMatchObject({ sessionsPerModel: 8, intraOpThreads: 2 });
    expect(loadInferenceConfig(new EnvReader({ EXECUTION_PROVIDERS: 'cuda' }), 16)).toMatchObject({ sessionsPerModel: 2, intraOpThreads: 8 });
  });
});

describe('hot swap release', () => {
  it('releases the old version only after its queued and running batches finish', async () => {
    const dir = tinyRegistry();
    const backends = new Map<number, FakeBackend & { closed: boolean }>();
    const engine = createInferenceEngine({
      config: { paths: { modelDir: dir }, inference: testConfig({ WARMUP: 'false' }) },
      logger: pino({ level: 'silent' }),
      backendFactory: (model, version) => {
        const b = Object.assign(fakeBackend({ manual: model === 'tiny-intent' && version === 1 }), { closed: false });
        b.close = async () => {
          b.closed = true;
        };
        if (model === 'tiny-intent') backends.set(version, b);
        return b;
      },
    });
    try {
      await engine.start();
      const inflight = engine.classify({ model: 'tiny-intent', inputs: ['a'], topK: 1 });
      await tick(10);
      await engine.activate('tiny-intent', 2);
      expect(backends.get(1)!.closed).toBe(false); // a batch still runs on version 1
      const after = await engine.classify({ model: 'tiny-intent', inputs: ['b'], topK: 1 });
      expect(after.version).toBe(2);
      backends.get(1)!.release();
      expect((await inflight).version).toBe(1);
      for (let i = 0; i < 20 && !backends.get(1)!.closed; i++) await tick(5);
      expect(backends.get(1)!.closed).toBe(true);
    } finally {
      await engine.close();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

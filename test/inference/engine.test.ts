import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createInferenceEngine,
  type InferenceEngine,
  InvalidInputError,
  ModelLoadError,
  ModelNotFoundError,
  openModelDir,
  VersionNotFoundError,
} from '../../src/inference/index.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { testConfig, tick, tinyRegistry } from './helpers.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let dir: string;
let engine: InferenceEngine;
let metrics: Metrics;

beforeAll(async () => {
  dir = tinyRegistry();
  metrics = createMetrics();
  engine = createInferenceEngine({
    config: {
      paths: { modelDir: dir },
      inference: testConfig({ BUCKETS: '16,32,64', MAX_BATCH_TOKENS: '512', REGISTRY_POLL_MS: '100', MAX_BATCH_DELAY_MS: '1' }),
    },
    logger,
    metrics,
  });
  await engine.start();
});

afterAll(async () => {
  await engine.close();
  metrics.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('inference engine over real ONNX sessions', () => {
  it('is ready after loading and warming every active version', () => {
    expect(engine.isReady()).toBe(true);
    expect(engine.readiness().models).toMatchObject({ 'tiny-intent': { status: 'ready', version: 1 }, 'tiny-qa': { status: 'ready', version: 1 } });
  });

  it('classifies with top-k labels sorted by score, and padding never changes a result', async () => {
    const alone = await engine.classify({ model: 'tiny-intent', inputs: ['my refund is late'], topK: 3 });
    expect(alone.version).toBe(1);
    const r = alone.results[0]!;
    expect(r.map((x) => x.label).sort()).toEqual(['account', 'billing', 'shipping']);
    expect(r[0]!.score).toBeGreaterThanOrEqual(r[1]!.score);
    expect(r.reduce((s, x) => s + x.score, 0)).toBeCloseTo(1, 5);
    const long = 'please help me reset the password of my account '.repeat(3);
    const batched = await engine.classify({ model: 'tiny-intent', inputs: [long, 'my refund is late', { text: 'what', text_pair: 'order' }], topK: 1 });
    expect(batched.results[1]![0]!.label).toBe(r[0]!.label);
    expect(batched.results[1]![0]!.score).toBeCloseTo(r[0]!.score, 5);
  });

  it('truncates a text longer than the model takes', async () => {
    const huge = 'refund '.repeat(500);
    const out = await engine.classify({ model: 'tiny-intent', inputs: [huge], topK: 1 });
    expect(out.results[0]).toHaveLength(1);
  });

  it('answers from a window beyond the first, with offsets into the original Unicode context', async () => {
    const filler = 'the café in 東京 is 😀 naïve and the city of paris is late. '.repeat(4);
    const context = `${filler}start of résumé 👍 end and more words after it`;
    const out = await engine.answer({ model: 'tiny-qa', inputs: [{ question: 'what is the answer', context }], topK: 1, maxAnswerLength: 16 });
    const [best] = out.results[0]!;
    expect(best!.answer).toBe('start of résumé 👍 end');
    expect(context.slice(best!.start, best!.end)).toBe(best!.answer);
    expect(best!.start).toBe(context.indexOf('start of'));
  });

  it('names the failure: unknown model, unknown version, wrong task', async () => {
    await expect(engine.classify({ model: 'nope', inputs: ['x'], topK: 1 })).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(engine.classify({ model: '../etc', inputs: ['x'], topK: 1 })).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(engine.classify({ model: 'tiny-intent', version: 9, inputs: ['x'], topK: 1 })).rejects.toBeInstanceOf(VersionNotFoundError);
    await expect(engine.classify({ model: 'tiny-qa', inputs: ['x'], topK: 1 })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(engine.classify({ model: 'tiny-intent', inputs: [], topK: 1 })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('refuses a version whose files do not match the manifest, while the old one keeps serving', async () => {
    const v3 = path.join(dir, 'tiny-intent', '3');
    cpSync(path.join(dir, 'tiny-intent', '2'), v3, { recursive: true });
    const manifest = JSON.parse(readFileSync(path.join(v3, 'manifest.json'), 'utf8'));
    writeFileSync(path.join(v3, 'manifest.json'), JSON.stringify({ ...manifest, version: 3 }));
    appendFileSync(path.join(v3, 'model.onnx'), Buffer.from([0])); // tampered after hashing
    await expect(engine.activate('tiny-intent', 3)).rejects.toMatchObject({ code: 'model_load_failed', stage: 'verify' });
    expect(JSON.parse(readFileSync(path.join(dir, 'tiny-intent', 'state.json'), 'utf8')).active).toBe(1);
    // Same through the registry watcher: state.json names the bad version.
    writeFileSync(path.join(dir, 'tiny-intent', 'state.json'), JSON.stringify({ active: 3, updated_at: new Date().toISOString() }));
    for (let i = 0; i < 50 && !(await metrics.registry.getSingleMetricAsString('distillery_model_load_failures_total')).includes('stage="verify"} 2'); i++)
      await tick(50);
    expect(await metrics.registry.getSingleMetricAsString('distillery_model_load_failures_total')).toContain('stage="verify"} 2');
    const out = await engine.classify({ model: 'tiny-intent', inputs: ['hello'], topK: 1 });
    expect(out.version).toBe(1);
    expect(engine.readiness().models['tiny-intent']).toMatchObject({ status: 'ready', version: 1 });
    rmSync(v3, { recursive: true });
    writeFileSync(path.join(dir, 'tiny-intent', 'state.json'), JSON.stringify({ active: 1, updated_at: new Date().toISOString() }));
  });

  it('hot-swaps under concurrent requests with zero failures', async () => {
    let stop = false;
    const seen = new Set<number>();
    let failures = 0;
    let done = 0;
    const client = async () => {
      while (!stop) {
        try {
          const r = await engine.classify({ model: 'tiny-intent', inputs: ['my order is late', 'reset password'], topK: 1 });
          seen.add(r.version);
          done++;
        } catch {
          failures++;
        }
      }
    };
    const clients = Array.from({ length: 6 }, client);
    await tick(100);
    await engine.activate('tiny-intent', 2);
    await tick(150);
    stop = true;
    await Promise.all(clients);
    expect(failures).toBe(0);
    expect([...seen].sort()).toEqual([1, 2]);
    expect(done).toBeGreaterThan(10);
    expect((await engine.getModel('tiny-intent')).serving).toBe(2);
    expect(await metrics.registry.getSingleMetricAsString('distillery_model_version_info')).toContain('version="2"} 1');
    expect(await metrics.registry.getSingleMetricAsString('distillery_model_version_info')).not.toContain('model="tiny-intent",version="1"');
  });

  it('serves a pinned (non-active) version on demand', async () => {
    const pinned = await engine.classify({ model: 'tiny-intent', version: 1, inputs: ['hello'], topK: 1 });
    expect(pinned.version).toBe(1);
    const active = await engine.classify({ model: 'tiny-intent', inputs: ['hello'], topK: 1 });
    expect(active.version).toBe(2);
  });

  it('describes models: versions, active, labels, manifest metrics', async () => {
    const m = await engine.getModel('tiny-intent');
    expect(m).toMatchObject({ name: 'tiny-intent', task: 'classification', active: 2, serving: 2, labels: ['billing', 'shipping', 'account'] });
    expect(m.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(m.versions[0]!.metrics).toHaveProperty('student_fp32');
    expect((await engine.listModels()).map((x) => x.name)).toEqual(['tiny-intent', 'tiny-qa']);
  });

  it('exposes metrics that pass promtool check metrics', async () => {
    const text = await metrics.registry.metrics();
    for (const name of [
      'queue_wait_seconds',
      'batch_duration_seconds',
      'batch_rows',
      'batch_padding_ratio',
      'queue_depth_rows',
      'model_swaps_total',
      'event_loop_lag_p99_seconds',
      'process_resident_memory_bytes',
    ]) {
      expect(text).toContain(`distillery_${name}`);
    }
    metrics.httpRequestDuration.observe({ route: '/v1/classify', method: 'POST', status: '200' }, 0.01);
    const out = execFileSync('/usr/bin/promtool', ['check', 'metrics'], { input: await metrics.registry.metrics(), encoding: 'utf8' });
    expect(out).toBe('');
  });
});

describe('openModelDir', () => {
  it('opens a model folder with a chosen ONNX file through the serving code', async () => {
    const d = tinyRegistry();
    try {
      cpSync(path.join(d, 'tiny-qa/1/model.onnx'), path.join(d, 'tiny-qa/1/model-fp32.onnx'));
      const model = await openModelDir({ dir: path.join(d, 'tiny-qa/1'), onnxFile: 'model-fp32.onnx', inference: { intraOpThreads: 1 } });
      const context = '東京 start here end';
      const [answers] = await model.answer([{ question: 'what', context }], { topK: 1, maxAnswerLength: 10 });
      expect(answers![0]!.answer).toBe('start here end');
      await model.close();
      await model.close();
      await expect(openModelDir({ dir: path.join(d, 'tiny-qa/1'), onnxFile: 'missing.onnx' })).rejects.toBeInstanceOf(ModelLoadError);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('takes its settings from its caller, never from the environment', async () => {
    const d = tinyRegistry();
    const saved = process.env.MAX_BATCH_ROWS;
    // A value the config module would refuse at start-up: openModelDir must not even look.
    process.env.MAX_BATCH_ROWS = 'not-a-number';
    try {
      const model = await openModelDir({ dir: path.join(d, 'tiny-intent/1'), inference: { intraOpThreads: 1, maxBatchRows: 4 } });
      const [labels] = await model.classify(['hello'], { topK: 1 });
      expect(labels).toHaveLength(1);
      await model.close();
    } finally {
      if (saved === undefined) delete process.env.MAX_BATCH_ROWS;
      else process.env.MAX_BATCH_ROWS = saved;
      rmSync(d, { recursive: true, force: true });
    }
  });
});

/**
 * The bundled models (models/, what `npm start` serves) through the real server: both load and
 * warm, answer through every route, and give the answers a support chatbot expects on plain
 * cases. QA offsets hold on Unicode text and on contexts longer than one window.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createInferenceEngine, type InferenceEngine } from '../../src/inference/index.js';
import type { ServingConfig } from '../../src/inference/registry/types.js';
import { buildApp } from '../../src/server/app.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';

const MODEL_DIR = path.resolve('models');
let engine: InferenceEngine;
let metrics: Metrics;
let app: Awaited<ReturnType<typeof buildApp>>;

function activeConfig(name: string): ServingConfig {
  const state = JSON.parse(readFileSync(path.join(MODEL_DIR, name, 'state.json'), 'utf8')) as { active: number };
  return JSON.parse(readFileSync(path.join(MODEL_DIR, name, String(state.active), 'config.json'), 'utf8')) as ServingConfig;
}

beforeAll(async () => {
  const config = loadConfig({ MODEL_DIR, REGISTRY_WATCH: 'false', REGISTRY_POLL_MS: '0', JOBS_ENABLED: 'false' });
  metrics = createMetrics({ defaultMetrics: false });
  engine = createInferenceEngine({ config, logger: pino({ level: 'silent' }), metrics });
  await engine.start();
  app = await buildApp({ config, engine, metrics });
}, 120_000);

afterAll(async () => {
  await app.close();
  await engine.close();
  metrics.close();
});

describe('bundled models', () => {
  it('are INT8 students, loaded and warmed', async () => {
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    for (const name of ['support-intent', 'support-qa']) {
      expect(activeConfig(name).precision).toBe('int8');
      const model = (await app.inject({ url: `/v1/models/${name}` })).json();
      expect(model.status).toBe('ready');
      const active = model.versions.find((v: { active: boolean }) => v.active);
      expect(active.metrics.student_int8.file_bytes).toBeGreaterThan(0);
    }
  });

  it('classify: every label scored, sorted, and plain requests get the expected intent', async () => {
    const labels = activeConfig('support-intent').labels!;
    expect(labels.length).toBeGreaterThanOrEqual(21);
    const cases: Array<[string, string]> = [
      ['hi there!', 'greeting'],
      ['thank you so much, that helped', 'thanks'],
      ['I forgot my password and cannot reset it', 'reset_password'],
      ['I want to cancel my order please', 'cancel_order'],
      ['can I speak to a real person', 'talk_to_human'],
      ["what's the weather like tomorrow", 'out_of_scope'],
    ];
    const res = await app.inject({ method: 'POST', url: '/v1/classify', payload: { model: 'support-intent', inputs: cases.map(([t]) => t), top_k: labels.length } });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { results: { label: string; score: number }[][] };
    for (const ranked of body.results) {
      expect(ranked.map((r) => r.label).sort()).toEqual([...labels].sort());
      expect(ranked.every((r, i) => i === 0 || ranked[i - 1]!.score >= r.score)).toBe(true);
    }
    const correct = body.results.filter((r, i) => r[0]!.label === cases[i]![1]).length;
    expect(correct).toBeGreaterThanOrEqual(cases.length - 1);
  });

  it('qa: answers map back to the context, with accents, emoji and CJK before the answer', async () => {
    const context = 'Hållo 😀 from Zürich — 東京の倉庫. Refunds are sent to the original payment method within 5 business days after we receive your return. Gift cards cannot be refunded.';
    const res = await app.inject({ method: 'POST', url: '/v1/qa', payload: { model: 'support-qa', inputs: [{ question: 'How long does a refund take?', context }], top_k: 3 } });
    expect(res.statusCode).toBe(200);
    const answers = (res.json() as { results: { answer: string; start: number; end: number }[][] }).results[0]!;
    for (const a of answers) expect(context.slice(a.start, a.end)).toBe(a.answer);
  });

  it('qa: a context longer than one window is searched across windows, offsets stay exact', async () => {
    const filler = 'Our stores are open on weekdays and our team answers every message in order. '.repeat(25);
    const context = `${filler}Returns are accepted within 30 days of delivery. ${filler}`;
    const res = await app.inject({ method: 'POST', url: '/v1/qa', payload: { model: 'support-qa', inputs: [{ question: 'How many days do I have to return an item?', context }], top_k: 5 } });
    expect(res.statusCode).toBe(200);
    const answers = (res.json() as { results: { answer: string; start: number; end: number }[][] }).results[0]!;
    for (const a of answers) expect(context.slice(a.start, a.end)).toBe(a.answer);
  });
});

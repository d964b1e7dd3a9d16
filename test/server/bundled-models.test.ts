/**
 * The bundled models (models/, what `npm start` serves) through the real server on port 0: both
 * load and warm, answer through every route, and give the answers a support chatbot expects on
 * plain cases. QA offsets hold on Unicode text and on contexts longer than one window. On a copy
 * of the registry with a second version: pinning, activation and rollback, a hot swap under a
 * burst of concurrent requests with zero failures, a deadline, and a client that hangs up.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createInferenceEngine, type InferenceEngine } from '../../src/inference/index.js';
import type { ServingConfig } from '../../src/inference/registry/types.js';
import { buildApp } from '../../src/server/app.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';

const BUNDLED = path.resolve('models');
const ADMIN = 'admin-key-for-bundled-model-tests';
let MODEL_DIR: string;
let base: string;
let engine: InferenceEngine;
let metrics: Metrics;
let app: Awaited<ReturnType<typeof buildApp>>;

function activeConfig(name: string): ServingConfig {
  const state = JSON.parse(readFileSync(path.join(MODEL_DIR, name, 'state.json'), 'utf8')) as { active: number };
  return JSON.parse(readFileSync(path.join(MODEL_DIR, name, String(state.active), 'config.json'), 'utf8')) as ServingConfig;
}

/** A private copy of the bundled registry where support-intent also has a version 2 (a copy of its active one). */
function registryWithTwoVersions(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'distillery-bundled-'));
  cpSync(BUNDLED, dir, { recursive: true });
  const state = JSON.parse(readFileSync(path.join(dir, 'support-intent', 'state.json'), 'utf8')) as { active: number };
  const v2 = path.join(dir, 'support-intent', String(state.active + 1));
  cpSync(path.join(dir, 'support-intent', String(state.active)), v2, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(v2, 'manifest.json'), 'utf8')) as { version: number };
  writeFileSync(path.join(v2, 'manifest.json'), JSON.stringify({ ...manifest, version: state.active + 1 }));
  return dir;
}

beforeAll(async () => {
  MODEL_DIR = registryWithTwoVersions();
  const config = loadConfig({ MODEL_DIR, ADMIN_API_KEYS: ADMIN, REGISTRY_WATCH: 'false', REGISTRY_POLL_MS: '0', JOBS_ENABLED: 'false' });
  metrics = createMetrics({ defaultMetrics: false });
  engine = createInferenceEngine({ config, logger: pino({ level: 'silent' }), metrics });
  await engine.start();
  app = await buildApp({ config, engine, metrics });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 120_000);

afterAll(async () => {
  await app.close();
  await engine.close();
  metrics.close();
  rmSync(MODEL_DIR, { recursive: true, force: true });
});

const classify = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/classify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'support-intent', ...body }),
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

  it('classify: labels from the model, sorted by score, and plain requests get the expected intent', async () => {
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
    const topK = 20; // MAX_TOP_K
    const res = await app.inject({ method: 'POST', url: '/v1/classify', payload: { model: 'support-intent', inputs: cases.map(([t]) => t), top_k: topK } });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { results: { label: string; score: number }[][] };
    for (const ranked of body.results) {
      expect(ranked).toHaveLength(topK);
      expect(ranked.every((r) => labels.includes(r.label))).toBe(true);
      expect(ranked.every((r, i) => i === 0 || ranked[i - 1]!.score >= r.score)).toBe(true);
    }
    const correct = body.results.filter((r, i) => r[0]!.label === cases[i]![1]).length;
    expect(correct).toBeGreaterThanOrEqual(cases.length - 1);
  });

  it("answers the README's examples as the README shows them (top labels, answer text)", async () => {
    // Each `curl ... /v1/<route> ... -d '<body>'` of the README for a bundled model, followed by its `# <answer>` line.
    const readme = readFileSync(path.resolve('README.md'), 'utf8');
    const examples = [...readme.matchAll(/curl -s localhost:8080\/v1\/(classify|qa) [^\n]*\\\n\s*-d '([^']+)'\n# ([^\n]+)/g)].filter((m) =>
      /"model":"support-(intent|qa)"/.test(m[2]!),
    );
    expect(examples.map((m) => m[1])).toEqual(expect.arrayContaining(['classify', 'qa']));
    for (const [, route, body, shown] of examples) {
      const res = await app.inject({ method: 'POST', url: `/v1/${route}`, payload: JSON.parse(body!) as object });
      expect(res.statusCode, body).toBe(200);
      const results = (res.json() as { results: Array<Array<{ label?: string; answer?: string }>> }).results;
      if (route === 'classify') {
        // The first label of each input's list, as shown.
        const shownTop = [...shown!.matchAll(/\[\{"label":"([a-z_]+)"/g)].map((m) => m[1]);
        expect(results.map((r) => r[0]?.label)).toEqual(shownTop);
      } else {
        const shownAnswers = [...shown!.matchAll(/"answer":"([^"]*)"/g)].map((m) => m[1]);
        expect(results.map((r) => r[0]?.answer)).toEqual(shownAnswers);
      }
    }
  });

  it('qa: answers map back to the context, with accents, emoji and CJK before the answer', async () => {
    const context =
      'Hållo 😀 from Zürich — 東京の倉庫. Refunds are sent to the original payment method within 5 business days after we receive your return. Gift cards cannot be refunded.';
    const res = await app.inject({
      method: 'POST',
      url: '/v1/qa',
      payload: { model: 'support-qa', inputs: [{ question: 'How long does a refund take?', context }], top_k: 3 },
    });
    expect(res.statusCode).toBe(200);
    const answers = (res.json() as { results: { answer: string; start: number; end: number }[][] }).results[0]!;
    for (const a of answers) expect(context.slice(a.start, a.end)).toBe(a.answer);
  });

  it('qa: a context longer than one window is searched across windows, offsets stay exact', async () => {
    const filler = 'Our stores are open on weekdays and our team answers every message in order. '.repeat(25);
    const context = `${filler}Returns are accepted within 30 days of delivery. ${filler}`;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/qa',
      payload: { model: 'support-qa', inputs: [{ question: 'How many days do I have to return an item?', context }], top_k: 5 },
    });
    expect(res.statusCode).toBe(200);
    const answers = (res.json() as { results: { answer: string; start: number; end: number }[][] }).results[0]!;
    for (const a of answers) expect(context.slice(a.start, a.end)).toBe(a.answer);
  });

  it('pins a version, activates it and rolls back (admin)', async () => {
    const { active } = JSON.parse(readFileSync(path.join(MODEL_DIR, 'support-intent', 'state.json'), 'utf8')) as { active: number };
    const next = active + 1;
    const pinned = await classify({ version: next, inputs: ['refund please'] });
    expect(pinned.status).toBe(200);
    expect(((await pinned.json()) as { version: number }).version).toBe(next);
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const promote = await fetch(`${base}/v1/models/support-intent/activate`, { method: 'POST', headers: admin, body: JSON.stringify({ version: next }) });
    expect(await promote.json()).toEqual({ model: 'support-intent', previous_version: active, active_version: next, changed: true });
    expect(((await (await classify({ inputs: ['hi'] })).json()) as { version: number }).version).toBe(next);
    const back = await fetch(`${base}/v1/models/support-intent/activate`, { method: 'POST', headers: admin, body: JSON.stringify({ version: active }) });
    expect(back.status).toBe(200);
    expect(((await (await classify({ inputs: ['hi'] })).json()) as { version: number }).version).toBe(active);
  });

  it('hot-swaps under a burst of concurrent requests with zero failures', async () => {
    const state = JSON.parse(readFileSync(path.join(MODEL_DIR, 'support-intent', 'state.json'), 'utf8')) as { active: number };
    const other = state.active === 1 ? 2 : 1;
    const texts = ['where is my order', 'I was charged twice for one order, can you look into it and refund the second charge please', 'hello'];
    let failures = 0;
    const seen = new Set<number>();
    const burst = Array.from({ length: 48 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, (i % 12) * 5));
      const res = await classify({ inputs: [texts[i % texts.length]] });
      if (res.ok) seen.add(((await res.json()) as { version: number }).version);
      else failures += 1;
    });
    const swap = engine.activate('support-intent', other);
    await Promise.all([...burst, swap]);
    const after = await classify({ inputs: ['hello'] });
    expect(((await after.json()) as { version: number }).version).toBe(other);
    expect(failures).toBe(0);
    expect(seen.size).toBeGreaterThanOrEqual(1);
    await engine.activate('support-intent', state.active);
  });

  it('answers 504 when the request deadline passes first', async () => {
    const long = 'please check the status of my order and tell me when it ships '.repeat(12);
    const res = await classify({ inputs: Array.from({ length: 48 }, () => long) }, { 'x-request-deadline-ms': '1' });
    expect(res.status).toBe(504);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('drops the work of a client that hangs up before it is answered', async () => {
    const dropped = async (): Promise<number> =>
      (await metrics.registry.getSingleMetric('distillery_requests_dropped_total')?.get())?.values.find(
        (v) => v.labels.model === 'support-qa' && v.labels.reason === 'aborted',
      )?.value ?? 0;
    const before = await dropped();
    const context = 'Refunds are issued within 5 business days. '.repeat(200);
    const body = JSON.stringify({ model: 'support-qa', inputs: Array.from({ length: 8 }, () => ({ question: 'How long do refunds take?', context })) });
    const req = http.request(`${base}/v1/qa`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', () => undefined);
    req.end(body);
    await new Promise((r) => setTimeout(r, 30));
    req.destroy();
    for (let i = 0; i < 200 && (await dropped()) === before; i += 1) await new Promise((r) => setTimeout(r, 25));
    expect(await dropped()).toBeGreaterThan(before);
    expect(answered).toBe(false);
  });
});

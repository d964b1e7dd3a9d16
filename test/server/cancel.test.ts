/**
 * Work nobody will read is dropped: a client that hangs up, a deadline that passes, and
 * admission control refusing work beyond the queue bound. A backend that takes BATCH_MS per
 * batch (standing in for ONNX Runtime: this tests the plumbing, the real models are exercised in
 * bundled-models.test.ts) keeps requests queued behind a blocker long enough to act on them.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeBackend } from '../inference/helpers.js';
import { startServer, type TestServer } from './helpers.js';

let s: TestServer;
const BATCH_MS = 300;

beforeAll(async () => {
  s = await startServer({ MAX_BATCH_ROWS: '8', MAX_QUEUED_ROWS: '8', MAX_QA_WINDOWS: '8' }, { backendFactory: () => fakeBackend({ delayMs: BATCH_MS }) });
});

/** A request that holds the only session for BATCH_MS. */
function blocker(): Promise<unknown> {
  return s.app.inject({ method: 'POST', url: '/v1/classify', payload: { model: 'tiny-intent', inputs: ['hold the session'] } });
}
afterAll(async () => {
  await s?.close();
});

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await s.metrics.registry.getSingleMetric(name)?.get();
  const hit = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('client disconnect', () => {
  it('aborts the queued engine work and answers nobody', async () => {
    const dropped = () => metricValue('distillery_requests_dropped_total', { model: 'tiny-intent', reason: 'aborted' });
    const before = await dropped();
    const holding = blocker();
    const body = JSON.stringify({ model: 'tiny-intent', inputs: ['where is my order'] });
    const { port } = new URL(s.url);
    const req = http.request({
      host: '127.0.0.1',
      port: Number(port),
      method: 'POST',
      path: '/v1/classify',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', () => {}); // our own hang-up
    req.end(body);
    await new Promise((r) => setTimeout(r, BATCH_MS / 3));
    req.destroy();
    await holding;

    await waitFor(async () => (await dropped()) === before + 1);
    expect(answered).toBe(false);
    // Recorded as 499 (client closed request) under the route pattern.
    const exposition = await s.metrics.registry.metrics();
    expect(exposition).toMatch(/distillery_http_request_duration_seconds_count\{route="\/v1\/classify",method="POST",status="499"\} 1/);
    // The server is fine afterwards.
    const ok = await s.app.inject({ method: 'POST', url: '/v1/classify', payload: JSON.parse(body) });
    expect(ok.statusCode).toBe(200);
  });
});

describe('deadline', () => {
  it('answers 504 when x-request-deadline-ms passes before the work is done', async () => {
    const holding = blocker();
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/classify',
      headers: { 'x-request-deadline-ms': '20' },
      payload: { model: 'tiny-intent', inputs: ['where is my order'] },
    });
    expect(res.statusCode).toBe(504);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 504, title: 'Deadline exceeded', detail: expect.stringContaining('20 ms') });
    expect(await metricValue('distillery_requests_dropped_total', { model: 'tiny-intent', reason: 'deadline' })).toBeGreaterThan(0);
    await holding;
  });
});

describe('admission', () => {
  it('answers 429 with Retry-After when the queue bound is reached', async () => {
    const payload = { model: 'tiny-intent', inputs: ['a', 'b', 'c', 'd', 'e', 'f'] };
    const responses = await Promise.all(Array.from({ length: 3 }, () => s.app.inject({ method: 'POST', url: '/v1/classify', payload })));
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toContain(200);
    expect(statuses).toContain(429);
    const refused = responses.find((r) => r.statusCode === 429)!;
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.json()).toMatchObject({ status: 429, title: 'Too many requests' });
  });
});

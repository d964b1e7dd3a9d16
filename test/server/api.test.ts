/** Every endpoint against the real engine over the tiny fixture registry. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/server/openapi.js';
import { ADMIN_KEY, bearer, startServer, type TestServer } from './helpers.js';

let s: TestServer;
const admin = bearer(ADMIN_KEY);

beforeAll(async () => {
  s = await startServer({ ADMIN_API_KEYS: ADMIN_KEY });
});
afterAll(async () => {
  await s?.close();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  s.app.inject({ method: 'POST', url, payload: payload as object, headers });

describe('health', () => {
  it('GET /healthz answers while the process lives', async () => {
    const res = await s.app.inject({ url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz lists every model loaded and warmed', async () => {
    const res = await s.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      ready: true,
      models: expect.arrayContaining([
        { name: 'tiny-intent', status: 'ready', version: 1 },
        { name: 'tiny-qa', status: 'ready', version: 1 },
      ]),
    });
  });
});

describe('POST /v1/classify', () => {
  it('scores texts and text pairs, one list per input, best first', async () => {
    const res = await post('/v1/classify', {
      model: 'tiny-intent',
      inputs: ['where is my order', { text: 'reset my password', text_pair: 'account help' }],
      top_k: 3,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ model: 'tiny-intent', version: 1 });
    expect(body.results).toHaveLength(2);
    for (const labels of body.results) {
      expect(labels.map((l: { label: string }) => l.label).sort()).toEqual(['account', 'billing', 'shipping']);
      const scores = labels.map((l: { score: number }) => l.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      expect(scores.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it('returns one label by default', async () => {
    const res = await post('/v1/classify', { model: 'tiny-intent', inputs: ['hello'] });
    expect(res.json().results[0]).toHaveLength(1);
  });

  it('pins a version when asked', async () => {
    const pinned = await post('/v1/classify', { model: 'tiny-intent', version: 2, inputs: ['refund please'], top_k: 3 });
    const active = await post('/v1/classify', { model: 'tiny-intent', inputs: ['refund please'], top_k: 3 });
    expect(pinned.json().version).toBe(2);
    expect(active.json().version).toBe(1);
    // Different seeds, different weights: the pinned answer really comes from version 2.
    expect(pinned.json().results).not.toEqual(active.json().results);
  });

  it('answers 404 for an unknown model or version', async () => {
    const model = await post('/v1/classify', { model: 'no-such-model', inputs: ['x'] });
    expect(model.statusCode).toBe(404);
    expect(model.json()).toMatchObject({ title: 'Model not found', detail: expect.stringContaining('no-such-model') });
    const version = await post('/v1/classify', { model: 'tiny-intent', version: 42, inputs: ['x'] });
    expect(version.statusCode).toBe(404);
    expect(version.json().detail).toContain('42');
  });

  it('answers 400 when the model is not a classifier', async () => {
    const res = await post('/v1/classify', { model: 'tiny-qa', inputs: ['x'] });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('texts the tokenizer keeps nothing of', () => {
  // They pass the schema's "something to read" pattern (none is white space, control or format),
  // but BERT's normaliser drops them all: the model would answer [CLS] [SEP] with confidence.
  const unreadable = ['\ud800', '\ufffd', '\u0301\u0301', '\ufffd \u0301'];
  it.each(unreadable.map((t) => [JSON.stringify(t), t]))('%s is a 400 naming the input, in every text field', async (_name, text) => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['/v1/classify', { model: 'tiny-intent', inputs: ['hello', text] }, /keeps nothing of input 1 /],
      ['/v1/classify', { model: 'tiny-intent', inputs: [{ text: 'hello', text_pair: text }] }, /keeps nothing of the text_pair of input 0 /],
      ['/v1/qa', { model: 'tiny-qa', inputs: [{ question: text, context: 'the start paris end' }] }, /keeps nothing of question 0 /],
      ['/v1/qa', { model: 'tiny-qa', inputs: [{ question: 'where?', context: text }] }, /keeps nothing of context 0 /],
    ];
    for (const [url, payload, detail] of cases) {
      const res = await post(url, payload);
      expect(res.statusCode, `${url} ${JSON.stringify(payload)}`).toBe(400);
      expect(res.json().detail).toMatch(detail);
      expect(res.json().detail).toMatch(/send some text$/);
    }
  });

  it('one readable character among them is enough', async () => {
    const res = await post('/v1/classify', { model: 'tiny-intent', inputs: ['\ufffd a \u0301'] });
    expect(res.statusCode).toBe(200);
  });
});

describe('POST /v1/qa', () => {
  it('returns character offsets into the context, also after emoji and CJK text', async () => {
    // The fixture QA model is rigged: "start" opens the answer and "end" closes it.
    const context = '😀 東京 the start paris end 🚀 and more';
    const res = await post('/v1/qa', { model: 'tiny-qa', inputs: [{ question: 'what is it?', context }], top_k: 2 });
    expect(res.statusCode).toBe(200);
    const [answers] = res.json().results;
    expect(answers.length).toBeGreaterThan(0);
    const best = answers[0];
    expect(best.answer).toBe('start paris end');
    expect(best.start).toBe(context.indexOf('start'));
    expect(context.slice(best.start, best.end)).toBe(best.answer);
    for (const a of answers) expect(context.slice(a.start, a.end)).toBe(a.answer);
  });

  it('keeps answers within max_answer_length tokens', async () => {
    const context = 'start a b c d e f g h i j end';
    const res = await post('/v1/qa', { model: 'tiny-qa', inputs: [{ question: 'q', context }], max_answer_length: 3, top_k: 5 });
    expect(res.statusCode).toBe(200);
    for (const a of res.json().results[0]) expect(a.answer.split(' ').length).toBeLessThanOrEqual(3);
  });

  it('answers several inputs in request order', async () => {
    const inputs = [
      { question: 'q', context: 'start one end' },
      { question: 'q', context: 'the start two end' },
    ];
    const res = await post('/v1/qa', { model: 'tiny-qa', inputs });
    expect(res.json().results.map((r: Array<{ answer: string }>) => r[0]?.answer)).toEqual(['start one end', 'start two end']);
  });

  it('allow_no_answer: false returns the best spans where the model would answer "no answer"', async () => {
    // One ordinary word: the fixture model scores "no answer" ([CLS]) above the only span.
    const inputs = [{ question: 'q', context: 'cafe' }];
    const byDefault = await post('/v1/qa', { model: 'tiny-qa', inputs, top_k: 2 });
    expect(byDefault.statusCode).toBe(200);
    expect(byDefault.json().results).toEqual([[]]);
    const spans = await post('/v1/qa', { model: 'tiny-qa', inputs, top_k: 2, allow_no_answer: false });
    expect(spans.statusCode).toBe(200);
    const [answers] = spans.json().results;
    expect(answers).toEqual([{ answer: 'cafe', start: 0, end: 4, score: expect.any(Number) }]);
    const bad = await post('/v1/qa', { model: 'tiny-qa', inputs, allow_no_answer: 'no' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/allow_no_answer/);
  });
});

describe('models', () => {
  it('GET /v1/models lists models with versions, task, labels and manifest metrics', async () => {
    const res = await s.app.inject({ url: '/v1/models' });
    expect(res.statusCode).toBe(200);
    const intent = res.json().models.find((m: { name: string }) => m.name === 'tiny-intent');
    expect(intent).toMatchObject({
      task: 'classification',
      status: 'ready',
      active_version: 1,
      serving_version: 1,
      labels: ['billing', 'shipping', 'account'],
    });
    expect(intent.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(intent.versions[0]).toMatchObject({ active: true, serving: true, readable: true, metrics: expect.any(Object) });
  });

  it('a trailing slash names the same route: /v1/models/ lists, /v1/models/tiny-qa/ describes', async () => {
    const list = await s.app.inject({ url: '/v1/models/' });
    expect(list.statusCode).toBe(200);
    expect(list.json().models.map((m: { name: string }) => m.name)).toContain('tiny-qa');
    const one = await s.app.inject({ url: '/v1/models/tiny-qa/' });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ name: 'tiny-qa' });
  });

  it('GET /v1/models/{name} describes one model, 404 for an unknown one, 400 for a bad name', async () => {
    const qa = await s.app.inject({ url: '/v1/models/tiny-qa' });
    expect(qa.json()).toMatchObject({ name: 'tiny-qa', task: 'qa', active_version: 1 });
    expect((await s.app.inject({ url: '/v1/models/ghost' })).statusCode).toBe(404);
    const bad = await s.app.inject({ url: '/v1/models/Bad..Name!' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].field).toBe('params/name');
  });

  it('POST /v1/models/{name}/activate promotes and rolls back', async () => {
    const promote = await post('/v1/models/tiny-intent/activate', { version: 2 }, admin);
    expect(promote.statusCode).toBe(200);
    expect(promote.json()).toEqual({ model: 'tiny-intent', previous_version: 1, active_version: 2, changed: true });
    expect((await post('/v1/classify', { model: 'tiny-intent', inputs: ['x'] })).json().version).toBe(2);
    expect((await s.app.inject({ url: '/v1/models/tiny-intent' })).json()).toMatchObject({ active_version: 2, serving_version: 2 });

    const rollback = await post('/v1/models/tiny-intent/activate', { version: 1 }, admin);
    expect(rollback.json()).toEqual({ model: 'tiny-intent', previous_version: 2, active_version: 1, changed: true });
    const repeat = await post('/v1/models/tiny-intent/activate', { version: 1 }, admin);
    expect(repeat.json()).toEqual({ model: 'tiny-intent', previous_version: 1, active_version: 1, changed: false });
    expect((await post('/v1/classify', { model: 'tiny-intent', inputs: ['x'] })).json().version).toBe(1);
  });

  it('refuses to activate a version of the other task, before loading it', async () => {
    // A QA version published under the intent model (by hand, or by a job before jobs were checked).
    await fs.cp(path.join(s.modelDir, 'tiny-qa', '1'), path.join(s.modelDir, 'tiny-intent', '9'), { recursive: true });
    try {
      const res = await post('/v1/models/tiny-intent/activate', { version: 9 }, admin);
      expect(res.statusCode).toBe(400);
      expect(res.json().detail).toBe(
        'version 9 of tiny-intent is a qa model and the active version 1 a classification model; a model keeps its task, so publish this one under another model name',
      );
      expect((await s.app.inject({ url: '/v1/models/tiny-intent' })).json().active_version).toBe(1);
      expect((await post('/v1/classify', { model: 'tiny-intent', inputs: ['x'] })).statusCode).toBe(200);
    } finally {
      await fs.rm(path.join(s.modelDir, 'tiny-intent', '9'), { recursive: true, force: true });
    }
  });

  it('refuses to activate a version that does not exist', async () => {
    const res = await post('/v1/models/tiny-intent/activate', { version: 7 }, admin);
    expect(res.statusCode).toBe(404);
    expect((await s.app.inject({ url: '/v1/models/tiny-intent' })).json().active_version).toBe(1);
  });

  it('validates the activation body', async () => {
    const res = await post('/v1/models/tiny-intent/activate', { version: 0 }, admin);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ field: 'body/version', message: 'must be at least 1' }]);
  });
});

describe('routes and methods', () => {
  it('a path that exists under other methods is a 405 with Allow, not a 404', async () => {
    const cases: Array<[string, string, string]> = [
      ['GET', '/v1/classify', 'POST'],
      ['PUT', '/v1/qa?top_k=2', 'POST'],
      ['DELETE', '/v1/models/tiny-intent', 'GET, HEAD'],
      ['GET', '/v1/models/tiny-intent/activate', 'POST'],
      // With a trailing slash, as the router routes them.
      ['GET', '/v1/classify/', 'POST'],
      ['GET', '/v1/qa/?top_k=2', 'POST'],
      ['DELETE', '/v1/models/tiny-intent/', 'GET, HEAD'],
    ];
    for (const [method, url, allow] of cases) {
      const res = await s.app.inject({ method: method as 'GET', url });
      expect(res.statusCode, `${method} ${url}`).toBe(405);
      expect(res.headers.allow).toBe(allow);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const path = url.split('?')[0];
      expect(res.json()).toMatchObject({
        status: 405,
        detail: `${path} takes ${allow.replace(', ', ' or ')}, not ${method}; see /docs for the API`,
      });
    }
  });

  it('a query parameter a /v1 route does not read is refused, naming it', async () => {
    const cases: Array<[string, string, object | undefined, string]> = [
      ['POST', '/v1/classify?top_k=5', { model: 'tiny-intent', inputs: ['hi'] }, 'querystring/top_k'],
      ['GET', '/v1/models?limit=ten', undefined, 'querystring/limit'],
      ['GET', '/v1/jobs?limt=5', undefined, 'querystring/limt'],
    ];
    for (const [method, url, payload, field] of cases) {
      // Job routes need the admin key (ADMIN_API_KEYS is set in this file).
      const res = await s.app.inject({ method: method as 'GET', url, headers: admin, ...(payload ? { payload } : {}) });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().errors).toEqual([{ field, message: 'is not a known field; remove it' }]);
    }
    // The parameters a route names still work.
    expect((await s.app.inject({ url: '/v1/jobs?limit=5', headers: admin })).statusCode).toBe(200);
    expect((await s.app.inject({ url: '/healthz?probe=1' })).statusCode).toBe(200);
  });

  it('a compressed body is a 415 that says to send it uncompressed', async () => {
    const { gzipSync } = await import('node:zlib');
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/classify',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: gzipSync(JSON.stringify({ model: 'tiny-intent', inputs: ['hi'] })),
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().detail).toBe(
      'the body is sent with content-encoding gzip, which this API does not decode; send it uncompressed (no Content-Encoding header)',
    );
    const identity = await post('/v1/classify', { model: 'tiny-intent', inputs: ['hi'] }, { 'content-encoding': 'identity' });
    expect(identity.statusCode).toBe(200);
  });

  it('a path no route has is still a 404', async () => {
    for (const url of ['/v1/clasify', '/v1/models/tiny-intent/activate/now', '/']) {
      const res = await s.app.inject({ method: 'POST', url, payload: {} });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers.allow).toBeUndefined();
    }
  });
});

describe('operations', () => {
  it('GET /metrics exposes request durations labelled by route pattern', async () => {
    await s.app.inject({ url: '/v1/models/tiny-qa' });
    await s.app.inject({ url: '/no/such/path/123' });
    const res = await s.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/distillery_http_request_duration_seconds_count\{route="\/v1\/models\/:name",method="GET",status="200"\} \d+/);
    expect(res.body).toMatch(/distillery_http_request_duration_seconds_count\{route="\/v1\/classify",method="POST",status="200"\} \d+/);
    expect(res.body).toMatch(/route="unmatched",method="GET",status="404"/);
    expect(res.body).not.toContain('/no/such/path');
  });

  it('serves Swagger UI at /docs and the same document as openapi.json at /docs/json', async () => {
    const ui = await s.app.inject({ url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
    const json = await s.app.inject({ url: '/docs/json' });
    expect(json.statusCode).toBe(200);
    const served = json.json();
    expect(Object.keys(served.paths)).toEqual(Object.keys(((await openApiDocument()) as { paths: object }).paths));
  });

  it('answers unknown routes with problem+json 404', async () => {
    const res = await s.app.inject({ url: '/v2/everything' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ status: 404, title: 'Not found' });
  });
});

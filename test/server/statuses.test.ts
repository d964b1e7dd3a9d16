/**
 * The status-code rule, for every route: each route's statuses are exercised through HTTP (a real
 * server, real tiny models, real Redis with a queue prefix of this file's own) and every status
 * observed must be listed in that route's OpenAPI responses; every route of the document must
 * have scenarios here, so a new route cannot skip the rule. The README's status table must be the
 * one the status table generates, and every documented error example must carry the problem type
 * of its status.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/server/openapi.js';
import { KINDS, withStatusTable } from '../../src/server/status-table.js';
import { ADMIN_KEY, bearer, INFERENCE_KEY, type JobData, jobData, jobSpec, startServer, type TestServer } from './helpers.js';

interface Operation {
  responses: Record<string, { description: string; content?: Record<string, { examples?: Record<string, { value: { type: string; status: number } }> }> }>;
}
type Doc = { paths: Record<string, Record<string, Operation>> };

let s: TestServer;
let doc: Doc;
let data: JobData;
const admin = bearer(ADMIN_KEY);
const inference = bearer(INFERENCE_KEY);
const json = { 'content-type': 'application/json' };
/** Ids made in beforeAll: a queued job, a cancelled one. */
const ids = { queued: '', cancelled: '' };

const spec = (over: Record<string, unknown> = {}) => jobSpec('status-model', over);

interface Scenario {
  what: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: () => string;
  headers?: Record<string, string>;
  payload?: unknown;
  status: number;
}

const classifyBody = { model: 'tiny-intent', inputs: ['where is my order'] };
const qaBody = { model: 'tiny-qa', inputs: [{ question: 'where?', context: 'in Paris' }] };
const big = 'x'.repeat(40_000);

/**
 * PUT and DELETE of a canary or shadow of tiny-intent (version 1 active, 2 a working candidate,
 * 3 one that cannot load), in order: the plan started by PUT is ended by DELETE.
 */
function rolloutScenarios(role: 'canary' | 'shadow', share: Record<string, number>, badShare: Record<string, number>): Record<string, Scenario[]> {
  const url = () => `/v1/models/tiny-intent/${role}`;
  const unknown = () => `/v1/models/nope/${role}`;
  const put = (what: string, status: number, over: Partial<Scenario> = {}): Scenario => ({
    what,
    method: 'PUT',
    url,
    headers: admin,
    payload: { version: 2, ...share },
    status,
    ...over,
  });
  const end = (what: string, status: number, over: Partial<Scenario> = {}): Scenario => ({ what, method: 'DELETE', url, headers: admin, status, ...over });
  return {
    [`put /v1/models/{name}/${role}`]: [
      put('started', 200),
      put('repeat', 200),
      put('share out of range', 400, { payload: { version: 2, ...badShare } }),
      put('the active version', 400, { payload: { version: 1, ...share } }),
      put('no key', 401, { headers: {} }),
      put('inference key', 403, { headers: inference }),
      put('unknown model', 404, { url: unknown }),
      put('unknown version', 404, { payload: { version: 99, ...share } }),
      put('text/plain', 415, { headers: { ...admin, 'content-type': 'text/plain' }, payload: '2' }),
      put('a version that cannot load', 422, { payload: { version: 3, ...share } }),
    ],
    [`delete /v1/models/{name}/${role}`]: [
      end('ended', 200),
      end('none running', 200),
      end('bad name', 400, { url: () => `/v1/models/Not%20A%20Name/${role}` }),
      end('no key', 401, { headers: {} }),
      end('inference key', 403, { headers: inference }),
      end('unknown model', 404, { url: unknown }),
      end('text/plain body', 415, { headers: { ...admin, 'content-type': 'text/plain' }, payload: 'x' }),
    ],
  };
}

/** Route (as OpenAPI names it) → scenarios with the status each must get. */
const SCENARIOS: Record<string, Scenario[]> = {
  'get /healthz': [{ what: 'alive', method: 'GET', url: () => '/healthz', status: 200 }],
  'get /readyz': [{ what: 'ready', method: 'GET', url: () => '/readyz', status: 200 }],
  'get /metrics': [{ what: 'scraped', method: 'GET', url: () => '/metrics', status: 200 }],
  'post /v1/classify': [
    { what: 'ok', method: 'POST', url: () => '/v1/classify', headers: inference, payload: classifyBody, status: 200 },
    { what: 'no inputs', method: 'POST', url: () => '/v1/classify', headers: inference, payload: { ...classifyBody, inputs: [] }, status: 400 },
    { what: 'malformed JSON', method: 'POST', url: () => '/v1/classify', headers: { ...inference, ...json }, payload: '{"model":', status: 400 },
    { what: 'no key', method: 'POST', url: () => '/v1/classify', payload: classifyBody, status: 401 },
    { what: 'unknown model', method: 'POST', url: () => '/v1/classify', headers: inference, payload: { ...classifyBody, model: 'nope' }, status: 404 },
    { what: 'unknown version', method: 'POST', url: () => '/v1/classify', headers: inference, payload: { ...classifyBody, version: 99 }, status: 404 },
    { what: 'body too large', method: 'POST', url: () => '/v1/classify', headers: inference, payload: { ...classifyBody, inputs: [big] }, status: 413 },
    { what: 'text/plain', method: 'POST', url: () => '/v1/classify', headers: { ...inference, 'content-type': 'text/plain' }, payload: 'hello', status: 415 },
    {
      what: 'a body declared as Latin-1',
      method: 'POST',
      url: () => '/v1/classify',
      headers: { ...inference, 'content-type': 'application/json; charset=iso-8859-1' },
      payload: JSON.stringify(classifyBody),
      status: 415,
    },
    {
      what: 'a pinned version that cannot load',
      method: 'POST',
      url: () => '/v1/classify',
      headers: inference,
      payload: { ...classifyBody, version: 3 },
      status: 422,
    },
    {
      what: 'no active version',
      method: 'POST',
      url: () => '/v1/classify',
      headers: inference,
      payload: { ...classifyBody, model: 'gated-intent' },
      status: 409,
    },
  ],
  'post /v1/qa': [
    { what: 'ok', method: 'POST', url: () => '/v1/qa', headers: inference, payload: qaBody, status: 200 },
    {
      what: 'missing context',
      method: 'POST',
      url: () => '/v1/qa',
      headers: inference,
      payload: { model: 'tiny-qa', inputs: [{ question: 'q' }] },
      status: 400,
    },
    { what: 'no key', method: 'POST', url: () => '/v1/qa', payload: qaBody, status: 401 },
    { what: 'unknown model', method: 'POST', url: () => '/v1/qa', headers: inference, payload: { ...qaBody, model: 'nope' }, status: 404 },
    {
      what: 'body too large',
      method: 'POST',
      url: () => '/v1/qa',
      headers: inference,
      payload: { ...qaBody, inputs: [{ question: 'q', context: big }] },
      status: 413,
    },
    { what: 'text/plain', method: 'POST', url: () => '/v1/qa', headers: { ...inference, 'content-type': 'text/plain' }, payload: 'hello', status: 415 },
    { what: 'no active version', method: 'POST', url: () => '/v1/qa', headers: inference, payload: { ...qaBody, model: 'gated-qa' }, status: 409 },
  ],
  'get /v1/models': [
    { what: 'ok', method: 'GET', url: () => '/v1/models', headers: inference, status: 200 },
    { what: 'no key', method: 'GET', url: () => '/v1/models', status: 401 },
  ],
  'get /v1/models/{name}': [
    { what: 'ok', method: 'GET', url: () => '/v1/models/tiny-intent', headers: inference, status: 200 },
    { what: 'bad name', method: 'GET', url: () => '/v1/models/Not%20A%20Name', headers: inference, status: 400 },
    { what: 'no key', method: 'GET', url: () => '/v1/models/tiny-intent', status: 401 },
    { what: 'unknown', method: 'GET', url: () => '/v1/models/nope', headers: inference, status: 404 },
  ],
  'post /v1/models/{name}/activate': [
    {
      what: 'repeat of the active version',
      method: 'POST',
      url: () => '/v1/models/tiny-intent/activate',
      headers: admin,
      payload: { version: 1 },
      status: 200,
    },
    { what: 'version as text', method: 'POST', url: () => '/v1/models/tiny-intent/activate', headers: admin, payload: { version: '1' }, status: 400 },
    { what: 'no key', method: 'POST', url: () => '/v1/models/tiny-intent/activate', payload: { version: 1 }, status: 401 },
    { what: 'inference key', method: 'POST', url: () => '/v1/models/tiny-intent/activate', headers: inference, payload: { version: 1 }, status: 403 },
    { what: 'unknown model', method: 'POST', url: () => '/v1/models/nope/activate', headers: admin, payload: { version: 1 }, status: 404 },
    { what: 'unknown version', method: 'POST', url: () => '/v1/models/tiny-intent/activate', headers: admin, payload: { version: 99 }, status: 404 },
    {
      what: 'text/plain',
      method: 'POST',
      url: () => '/v1/models/tiny-intent/activate',
      headers: { ...admin, 'content-type': 'text/plain' },
      payload: '2',
      status: 415,
    },
    { what: 'a version that cannot load', method: 'POST', url: () => '/v1/models/tiny-intent/activate', headers: admin, payload: { version: 3 }, status: 422 },
  ],
  ...rolloutScenarios('canary', { weight: 0.5 }, { weight: 1 }),
  ...rolloutScenarios('shadow', { sample: 0.5 }, { sample: 0 }),
  'post /v1/jobs': [
    { what: 'queued', method: 'POST', url: () => '/v1/jobs', headers: admin, payload: spec(), status: 202 },
    { what: 'bad spec', method: 'POST', url: () => '/v1/jobs', headers: admin, payload: spec({ task: 'clasification' }), status: 400 },
    { what: 'no key', method: 'POST', url: () => '/v1/jobs', payload: spec(), status: 401 },
    { what: 'inference key', method: 'POST', url: () => '/v1/jobs', headers: inference, payload: spec(), status: 403 },
    { what: 'text/plain', method: 'POST', url: () => '/v1/jobs', headers: { ...admin, 'content-type': 'text/plain' }, payload: 'x', status: 415 },
  ],
  'get /v1/jobs': [
    { what: 'ok', method: 'GET', url: () => '/v1/jobs?limit=5&offset=0', headers: admin, status: 200 },
    { what: 'limit 0', method: 'GET', url: () => '/v1/jobs?limit=0', headers: admin, status: 400 },
    { what: 'no key', method: 'GET', url: () => '/v1/jobs', status: 401 },
    { what: 'inference key', method: 'GET', url: () => '/v1/jobs', headers: inference, status: 403 },
  ],
  'get /v1/jobs/{id}': [
    { what: 'ok', method: 'GET', url: () => `/v1/jobs/${ids.queued}`, headers: admin, status: 200 },
    { what: 'bad id', method: 'GET', url: () => '/v1/jobs/a%20b', headers: admin, status: 400 },
    { what: 'unknown', method: 'GET', url: () => '/v1/jobs/nope', headers: admin, status: 404 },
  ],
  'delete /v1/jobs/{id}': [
    { what: 'cancelled', method: 'DELETE', url: () => `/v1/jobs/${ids.queued}`, headers: admin, status: 202 },
    { what: 'already cancelled', method: 'DELETE', url: () => `/v1/jobs/${ids.cancelled}`, headers: admin, status: 409 },
    { what: 'unknown', method: 'DELETE', url: () => '/v1/jobs/nope', headers: admin, status: 404 },
    { what: 'text/plain body', method: 'DELETE', url: () => '/v1/jobs/nope', headers: { ...admin, 'content-type': 'text/plain' }, payload: 'x', status: 415 },
  ],
  'get /v1/jobs/{id}/report': [
    { what: 'ok', method: 'GET', url: () => `/v1/jobs/${ids.cancelled}/report`, headers: admin, status: 200 },
    { what: 'unknown', method: 'GET', url: () => '/v1/jobs/nope/report', headers: admin, status: 404 },
  ],
  'get /v1/jobs/{id}/events': [
    { what: 'a finished job streams its end', method: 'GET', url: () => `/v1/jobs/${ids.cancelled}/events`, headers: admin, status: 200 },
    { what: 'unknown', method: 'GET', url: () => '/v1/jobs/nope/events', headers: admin, status: 404 },
  ],
};

beforeAll(async () => {
  data = await jobData('status-model');
  s = await startServer({ API_KEYS: INFERENCE_KEY, ADMIN_API_KEYS: ADMIN_KEY, DATA_DIR: data.dir, BODY_LIMIT_BYTES: '32768' });
  // Version 3 of tiny-intent exists but cannot load: its model.onnx no longer matches the manifest.
  const v3 = path.join(s.modelDir, 'tiny-intent', '3');
  await fs.cp(path.join(s.modelDir, 'tiny-intent', '1'), v3, { recursive: true });
  await fs.appendFile(path.join(v3, 'model.onnx'), 'tampered');
  // Models whose only version failed its gate: a version, no state.json, so no active version.
  for (const [from, to] of [
    ['tiny-intent', 'gated-intent'],
    ['tiny-qa', 'gated-qa'],
  ] as const) {
    await fs.cp(path.join(s.modelDir, from, '1'), path.join(s.modelDir, to, '1'), { recursive: true });
  }
  doc = (await openApiDocument()) as Doc;
  const submit = async () => (await s.app.inject({ method: 'POST', url: '/v1/jobs', headers: admin, payload: spec() })).json().id as string;
  ids.queued = await submit();
  ids.cancelled = await submit();
  await s.app.inject({ method: 'DELETE', url: `/v1/jobs/${ids.cancelled}`, headers: admin });
});

afterAll(async () => {
  await s?.close();
  await data?.remove();
});

describe('every status a route answers is in its OpenAPI responses', () => {
  it('every route of the document has scenarios here', () => {
    const routes = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    expect(routes.filter((r) => !SCENARIOS[r])).toEqual([]);
  });

  for (const [route, scenarios] of Object.entries(SCENARIOS)) {
    it(route, async () => {
      const [method, template] = route.split(' ') as [string, string];
      const documented = Object.keys(doc.paths[template]?.[method]?.responses ?? {});
      for (const sc of scenarios) {
        const res = await s.app.inject({
          method: sc.method,
          url: sc.url(),
          headers: sc.headers ?? {},
          ...(sc.payload === undefined ? {} : { payload: typeof sc.payload === 'string' ? sc.payload : JSON.stringify(sc.payload) }),
          ...(sc.payload !== undefined && typeof sc.payload !== 'string' && !sc.headers?.['content-type'] ? { headers: { ...sc.headers, ...json } } : {}),
        });
        expect(res.statusCode, `${route}: ${sc.what}: ${res.body.slice(0, 300)}`).toBe(sc.status);
        expect(documented, `${route} answers ${res.statusCode} (${sc.what}) but OpenAPI does not list it`).toContain(String(res.statusCode));
      }
    });
  }
});

describe('the status table drives the documents', () => {
  it('every error example carries the problem type and status of its response', () => {
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) < 400) continue;
          const examples = response.content?.['application/problem+json']?.examples ?? {};
          expect(Object.keys(examples).length, `${m} ${p} ${status} has examples`).toBeGreaterThan(0);
          for (const [kind, example] of Object.entries(examples)) {
            expect(example.value.status, `${m} ${p} ${status} ${kind}`).toBe(Number(status));
            expect(example.value.type).toBe(`urn:distillery:problem:${kind.replaceAll('_', '-')}`);
            expect(KINDS[kind as keyof typeof KINDS].status).toBe(Number(status));
          }
        }
      }
    }
  });

  it('the 401 description shows the key placeholder as code, so Swagger UI does not drop it', () => {
    const unauthorized = doc.paths['/v1/classify']!.post!.responses['401']!;
    expect(unauthorized.description).toContain('`Authorization: Bearer <key>`');
  });

  it('README.md holds the generated status table (npm run readme:statuses)', async () => {
    const readme = await fs.readFile(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    expect(withStatusTable(readme)).toBe(readme);
  });
});

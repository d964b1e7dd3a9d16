/** Auth and request limits, each with its setting, against the real engine. */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../src/config.js';
import { buildApp } from '../../src/server/app.js';
import { ADMIN_KEY, INFERENCE_KEY, bearer, startServer, type TestServer } from './helpers.js';

let s: TestServer;
/** Apps with other auth settings over the same engine (no second model load). */
let keyed: FastifyInstance;
let noAdmin: FastifyInstance;

const LIMITS = {
  MAX_INPUTS_PER_REQUEST: '3',
  MAX_TEXT_CHARS: '50',
  MAX_TOP_K: '2',
  MAX_ANSWER_LENGTH: '8',
  BODY_LIMIT_BYTES: '2048',
  MAX_DEADLINE_MS: '5000',
};

const appWith = (server: Partial<ServerConfig>) => buildApp({ config: { server: { ...s.config.server, ...server } }, engine: s.engine, metrics: s.metrics });

beforeAll(async () => {
  s = await startServer({ API_KEYS: INFERENCE_KEY, ADMIN_API_KEYS: ADMIN_KEY, ...LIMITS });
  keyed = s.app;
  noAdmin = await appWith({ apiKeys: [], adminApiKeys: [] });
});
afterAll(async () => {
  await noAdmin?.close();
  await s?.close();
});

const classify = (app: FastifyInstance, headers: Record<string, string> = {}, body: object = { model: 'tiny-intent', inputs: ['hi'] }) =>
  app.inject({ method: 'POST', url: '/v1/classify', headers, payload: body });
const activate = (app: FastifyInstance, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/v1/models/tiny-intent/activate', headers, payload: { version: 1 } });

describe('auth', () => {
  it('answers 401 with a challenge when API_KEYS is set and no key is sent', async () => {
    const res = await classify(keyed);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.json().detail).toContain('API_KEYS');
  });

  it('answers 401 for an unknown key or a malformed header', async () => {
    expect((await classify(keyed, bearer('not-a-key-but-long-enough'))).statusCode).toBe(401);
    expect((await classify(keyed, { authorization: INFERENCE_KEY })).statusCode).toBe(401);
    expect((await classify(keyed, bearer(`${INFERENCE_KEY}x`))).statusCode).toBe(401);
  });

  it('accepts inference and admin keys on inference routes', async () => {
    expect((await classify(keyed, bearer(INFERENCE_KEY))).statusCode).toBe(200);
    expect((await classify(keyed, bearer(ADMIN_KEY))).statusCode).toBe(200);
    expect((await keyed.inject({ url: '/v1/models', headers: bearer(INFERENCE_KEY) })).statusCode).toBe(200);
    expect((await keyed.inject({ url: '/v1/models' })).statusCode).toBe(401);
  });

  it('keeps health, metrics and docs open', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/docs/json']) {
      expect((await keyed.inject({ url })).statusCode, url).toBe(200);
    }
  });

  it('admin routes: 401 without a key, 403 for an inference key, 200 for an admin key', async () => {
    expect((await activate(keyed)).statusCode).toBe(401);
    const forbidden = await activate(keyed, bearer(INFERENCE_KEY));
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().detail).toContain('ADMIN_API_KEYS');
    expect((await activate(keyed, bearer(ADMIN_KEY))).statusCode).toBe(200);
  });

  it('without API_KEYS inference is open; without ADMIN_API_KEYS admin is refused and says why', async () => {
    expect((await classify(noAdmin)).statusCode).toBe(200);
    const res = await activate(noAdmin, bearer(ADMIN_KEY));
    expect(res.statusCode).toBe(403);
    expect(res.json().detail).toContain('ADMIN_API_KEYS is not set');
  });

  it('checks auth before reading the body', async () => {
    const res = await keyed.inject({ method: 'POST', url: '/v1/classify', payload: { nonsense: true } });
    expect(res.statusCode).toBe(401);
  });
});

describe('limits', () => {
  const auth = bearer(INFERENCE_KEY);
  const expectField = async (body: object, url: string, field: string, setting: string | undefined) => {
    const res = await keyed.inject({ method: 'POST', url, headers: auth, payload: body });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json();
    expect(problem.errors[0].field).toBe(field);
    if (setting) expect(problem.detail).toContain(setting);
    return problem;
  };

  it('MAX_INPUTS_PER_REQUEST', async () => {
    const problem = await expectField({ model: 'tiny-intent', inputs: ['a', 'b', 'c', 'd'] }, '/v1/classify', 'body/inputs', 'MAX_INPUTS_PER_REQUEST');
    expect(problem.detail).toContain('at most 3');
    await expectField({ model: 'tiny-qa', inputs: Array(4).fill({ question: 'q', context: 'c' }) }, '/v1/qa', 'body/inputs', 'MAX_INPUTS_PER_REQUEST');
    await expectField({ model: 'tiny-intent', inputs: [] }, '/v1/classify', 'body/inputs', undefined);
  });

  it('MAX_TEXT_CHARS on text, text_pair, question and context', async () => {
    const long = 'x'.repeat(51);
    await expectField({ model: 'tiny-intent', inputs: ['ok', long] }, '/v1/classify', 'body/inputs/1', 'MAX_TEXT_CHARS');
    await expectField({ model: 'tiny-intent', inputs: [{ text: 'ok', text_pair: long }] }, '/v1/classify', 'body/inputs/0/text_pair', 'MAX_TEXT_CHARS');
    await expectField({ model: 'tiny-qa', inputs: [{ question: long, context: 'c' }] }, '/v1/qa', 'body/inputs/0/question', 'MAX_TEXT_CHARS');
    await expectField({ model: 'tiny-qa', inputs: [{ question: 'q', context: long }] }, '/v1/qa', 'body/inputs/0/context', 'MAX_TEXT_CHARS');
    // Exactly at the limit is fine.
    expect((await classify(keyed, auth, { model: 'tiny-intent', inputs: ['x'.repeat(50)] })).statusCode).toBe(200);
  });

  it('MAX_TOP_K and MAX_ANSWER_LENGTH', async () => {
    await expectField({ model: 'tiny-intent', inputs: ['a'], top_k: 3 }, '/v1/classify', 'body/top_k', 'MAX_TOP_K');
    await expectField({ model: 'tiny-qa', inputs: [{ question: 'q', context: 'c' }], top_k: 3 }, '/v1/qa', 'body/top_k', 'MAX_TOP_K');
    await expectField(
      { model: 'tiny-qa', inputs: [{ question: 'q', context: 'c' }], max_answer_length: 9 },
      '/v1/qa',
      'body/max_answer_length',
      'MAX_ANSWER_LENGTH',
    );
  });

  it('BODY_LIMIT_BYTES answers 413', async () => {
    const res = await keyed.inject({
      method: 'POST',
      url: '/v1/classify',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ model: 'tiny-intent', inputs: ['x'.repeat(3000)] }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().detail).toContain('BODY_LIMIT_BYTES');
  });

  it('x-request-deadline-ms must be 1..MAX_DEADLINE_MS', async () => {
    for (const value of ['0', '5001', 'soon', '-5', '1.5']) {
      const res = await classify(keyed, { ...auth, 'x-request-deadline-ms': value });
      expect(res.statusCode, value).toBe(400);
      expect(res.json().errors[0].field).toBe('headers/x-request-deadline-ms');
      expect(res.json().detail).toContain('MAX_DEADLINE_MS');
    }
    expect((await classify(keyed, { ...auth, 'x-request-deadline-ms': '5000' })).statusCode).toBe(200);
  });
});

describe('validation errors name the field and what is wrong', () => {
  const auth = bearer(INFERENCE_KEY);
  const cases: Array<[string, object, string, RegExp]> = [
    ['missing model', { inputs: ['a'] }, 'body/model', /required/],
    ['bad model name', { model: '../etc', inputs: ['a'] }, 'body/model', /lowercase letters/],
    ['unknown field', { model: 'tiny-intent', inputs: ['a'], temperature: 1 }, 'body/temperature', /not a known field/],
    ['unknown pair field', { model: 'tiny-intent', inputs: [{ text: 'a', txt_pair: 'b' }] }, 'body/inputs/0/txt_pair', /not a known field/],
    ['wrong input type', { model: 'tiny-intent', inputs: [7] }, 'body/inputs/0', /a text, or an object/],
    ['empty text', { model: 'tiny-intent', inputs: [''] }, 'body/inputs/0', /must not be empty/],
    ['string top_k', { model: 'tiny-intent', inputs: ['a'], top_k: '2' }, 'body/top_k', /must be an integer/],
    ['version zero', { model: 'tiny-intent', version: 0, inputs: ['a'] }, 'body/version', /at least 1/],
  ];
  it.each(cases)('%s', async (_name, body, field, message) => {
    const res = await classify(keyed, auth, body);
    expect(res.statusCode).toBe(400);
    const problem = res.json();
    expect(problem).toMatchObject({ status: 400, title: 'Invalid request', type: 'urn:distillery:problem:validation' });
    expect(problem.errors[0].field).toBe(field);
    expect(problem.errors[0].message).toMatch(message);
  });

  it('rejects a body that is not JSON', async () => {
    const bad = await keyed.inject({ method: 'POST', url: '/v1/classify', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"model":' });
    expect(bad.statusCode).toBe(400);
    const text = await keyed.inject({ method: 'POST', url: '/v1/classify', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'hello' });
    expect(text.statusCode).toBe(415);
    expect(text.json().detail).toContain('application/json');
  });
});

/**
 * Route plumbing with a stand-in engine: how each engine error class becomes a status, and that
 * 5xx details stay in the log. Everything else is tested against the real engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { EnvReader, loadServerConfig } from '../../src/config.js';
import { createMetrics } from '../../src/metrics.js';
import { buildApp } from '../../src/server/app.js';
import type { ServerEngine } from '../../src/server/engine.js';
import {
  DeadlineExceededError,
  EngineClosedError,
  InferenceFailedError,
  InvalidInputError,
  ModelLoadError,
  ModelNotFoundError,
  ModelNotReadyError,
  QueueFullError,
  VersionNotFoundError,
} from '../../src/inference/errors.js';

let nextError: Error = new Error('unset');
const failing = async (): Promise<never> => {
  throw nextError;
};
const engine: ServerEngine = {
  classify: failing,
  answer: failing,
  listModels: failing,
  getModel: failing,
  activate: failing,
  putRollout: failing,
  endRollout: failing,
  readiness: () => ({ ready: true, models: {} }),
};

let app: FastifyInstance;
const metrics = createMetrics({ defaultMetrics: false });

beforeAll(async () => {
  app = await buildApp({ config: { server: loadServerConfig(new EnvReader({})) }, engine, metrics });
});
afterAll(async () => {
  await app.close();
  metrics.close();
});

const classify = () => app.inject({ method: 'POST', url: '/v1/classify', payload: { model: 'm', inputs: ['hi'] } });

describe('error table', () => {
  const cases: Array<[string, Error, number, string | undefined]> = [
    ['invalid input', new InvalidInputError('inputs[0] is empty after normalization'), 400, undefined],
    ['unknown model', new ModelNotFoundError('m'), 404, undefined],
    ['unknown version', new VersionNotFoundError('m', 9), 404, undefined],
    ['version that cannot load', new ModelLoadError('m', 3, 'verify', 'sha256 mismatch'), 422, undefined],
    ['queue full', new QueueFullError('m', 2), 429, '2'],
    ['not ready', new ModelNotReadyError('m', 'is loading', 7), 503, '7'],
    ['closing', new EngineClosedError(), 503, '5'],
    ['deadline', new DeadlineExceededError(50), 504, undefined],
  ];
  it.each(cases)('%s', async (_name, error, status, retryAfter) => {
    nextError = error;
    const res = await classify();
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toBe(retryAfter);
    const body = res.json();
    expect(body).toMatchObject({ status, detail: error.message });
    expect(body.type).toMatch(/^urn:distillery:problem:/);
    expect(body.instance).toBe(res.headers['x-request-id']);
  });

  it('hides the details of 5xx errors from the client', async () => {
    for (const error of [new InferenceFailedError('onnx: bad tensor at /secret/path'), new TypeError('x is undefined')]) {
      nextError = error;
      const res = await classify();
      expect(res.statusCode).toBe(500);
      expect(res.body).not.toContain('secret');
      expect(res.body).not.toContain('undefined');
      expect(res.json().detail).toContain(res.headers['x-request-id']);
    }
  });

  it('keeps a safe caller request id and replaces an unsafe one', async () => {
    nextError = new ModelNotFoundError('m');
    const ok = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(ok.headers['x-request-id']).toBe('abc-123');
    const bad = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'a\nb' } });
    expect(bad.headers['x-request-id']).not.toBe('a\nb');
  });
});

describe('texts with nothing to read', () => {
  // "" was always refused; a text of only white space, control or format characters tokenizes to
  // nothing just the same, and a model would answer it with a confident label for no input.
  const blanks = ['   ', '\n\t', '\u0000\u0007', '\u200b\ufeff', ' \u00a0\u3000 '];
  it.each(blanks.map((b) => [JSON.stringify(b), b]))('%s is refused in every text field, naming the field', async (_name, blank) => {
    nextError = new ModelNotFoundError('m');
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['/v1/classify', { model: 'm', inputs: ['ok', blank] }, 'body/inputs/1'],
      ['/v1/classify', { model: 'm', inputs: [{ text: 'ok', text_pair: blank }] }, 'body/inputs/0/text_pair'],
      ['/v1/qa', { model: 'm', inputs: [{ question: blank, context: 'in Paris' }] }, 'body/inputs/0/question'],
      ['/v1/qa', { model: 'm', inputs: [{ question: 'where?', context: blank }] }, 'body/inputs/0/context'],
    ];
    for (const [url, payload, field] of cases) {
      const res = await app.inject({ method: 'POST', url, payload });
      expect(res.statusCode, `${url} ${field}`).toBe(400);
      expect(res.json()).toMatchObject({ type: 'urn:distillery:problem:validation' });
      expect(res.json().errors).toEqual([{ field, message: expect.stringMatching(/white space or control characters/) }]);
    }
  });

  it('a text with one readable character among them passes validation', async () => {
    nextError = new ModelNotFoundError('m');
    const res = await app.inject({ method: 'POST', url: '/v1/classify', payload: { model: 'm', inputs: [' \u0000a\u200b '] } });
    expect(res.statusCode).toBe(404);
  });
});

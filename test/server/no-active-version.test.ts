/**
 * A model whose only version failed its quality gate has versions but no state.json. It will
 * never load by waiting, so it must not answer 503 "not loaded yet" with Retry-After: 409 says
 * what to do instead (activate or pin a version).
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
  // What a job whose gate failed leaves behind: a published version, no state.json.
  cpSync(path.join(server.modelDir, 'tiny-intent', '1'), path.join(server.modelDir, 'gated-intent', '1'), { recursive: true });
});

afterAll(async () => {
  await server.close();
});

describe('a model with no active version', () => {
  it('answers 409 naming its versions and how to activate one, without Retry-After', async () => {
    const res = await server.app.inject({ method: 'POST', url: '/v1/classify', payload: { model: 'gated-intent', inputs: ['hello'] } });
    expect(res.statusCode).toBe(409);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.json()).toMatchObject({ status: 409, title: 'No active version' });
    expect(res.json().detail).toMatch(/has no active version; activate one of its versions \(1\) with POST \/v1\/models\/gated-intent\/activate/);
  });

  it('still serves a pinned version', async () => {
    const res = await server.app.inject({ method: 'POST', url: '/v1/classify', payload: { model: 'gated-intent', version: 1, inputs: ['hello'] } });
    expect(res.statusCode).toBe(200);
    expect(res.json().version).toBe(1);
  });

  it('an unknown model is still 404', async () => {
    const res = await server.app.inject({ method: 'POST', url: '/v1/classify', payload: { model: 'no-such-model', inputs: ['hello'] } });
    expect(res.statusCode).toBe(404);
  });
});

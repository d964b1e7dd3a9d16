/**
 * The real API process started while Redis is unreachable: it must open its port and serve
 * inference at once (inference never waits on Redis), answer 503 with Retry-After on the job
 * routes, and, once a Redis comes up at that address, serve jobs without a restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, tinyRegistry } from '../server/helpers.js';
import { freePort, type Proc, startProcess, waitFor } from './processes.js';

let api: Proc;
let redis: ChildProcess | undefined;
let modelDir: string;
let redisPort: number;
let base: string;

beforeAll(async () => {
  modelDir = tinyRegistry();
  redisPort = await freePort();
  const port = await freePort();
  api = startProcess('src/server/main.ts', {
    MODEL_DIR: modelDir,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    QUEUE_PREFIX: `dlate${process.pid}`,
    ADMIN_API_KEYS: ADMIN_KEY,
    PORT: String(port),
    HOST: '127.0.0.1',
    REGISTRY_WATCH: 'false',
    WARMUP: 'false',
  });
  base = `http://127.0.0.1:${port}`;
}, 30_000);

afterAll(async () => {
  await api?.stop();
  redis?.kill('SIGTERM');
  rmSync(modelDir, { recursive: true, force: true });
});

describe('API started with Redis unreachable', () => {
  it('listens and serves inference without waiting for Redis', async () => {
    // Before the fix the process loaded the models and then waited for Redis forever.
    await waitFor('the API to listen', async () => (await fetch(`${base}/healthz`)).ok, 60_000);
    const res = await fetch(`${base}/v1/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny-intent', inputs: ['hello'] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { results: unknown[][] }).results[0]).toHaveLength(1);
  }, 90_000);

  it('answers 503 with Retry-After on the job routes while Redis is down', async () => {
    const res = await fetch(`${base}/v1/jobs`, { headers: bearer(ADMIN_KEY) });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/Redis cannot be reached/);
  });

  it('serves jobs once Redis comes up at that address, without a restart', async () => {
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const list = await waitFor(
      'the job routes to answer',
      async () => {
        const res = await fetch(`${base}/v1/jobs`, { headers: bearer(ADMIN_KEY) });
        return res.status === 200 ? ((await res.json()) as { jobs: unknown[]; total: number }) : undefined;
      },
      60_000,
    );
    expect(list).toEqual(expect.objectContaining({ jobs: [], total: 0 }));
    const missing = await fetch(`${base}/v1/jobs/no-such-job`, { headers: bearer(ADMIN_KEY) });
    expect(missing.status).toBe(404);
    expect(api.child.exitCode).toBeNull();
  }, 90_000);
});

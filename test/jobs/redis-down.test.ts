/**
 * Redis unreachable: inference keeps serving and the job routes answer 503 with a message saying
 * so, instead of hanging or crashing the process.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { JobService } from '../../src/queue/job-service.js';
import { buildApp } from '../../src/server/app.js';
import { ADMIN_KEY, bearer, startServer, type TestServer } from '../server/helpers.js';
import { freePort } from './processes.js';

let server: TestServer;
let jobs: JobService;
let app: Awaited<ReturnType<typeof buildApp>>;
let dataDir: string;

beforeAll(async () => {
  server = await startServer({ ADMIN_API_KEYS: ADMIN_KEY });
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'distillery-redis-down-'));
  await fs.mkdir(path.join(dataDir, 'teacher'));
  await fs.writeFile(
    path.join(dataDir, 'teacher', 'config.json'),
    JSON.stringify({ hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 2, vocab_size: 100 }),
  );
  await fs.writeFile(path.join(dataDir, 'teacher', 'model.safetensors'), '');
  await fs.writeFile(path.join(dataDir, 'teacher', 'vocab.txt'), '');
  await fs.writeFile(path.join(dataDir, 'train.jsonl'), '{"text":"a","label":"x"}\n');
  // A port nobody listens on: Redis is "down" for the whole test.
  const config = loadConfig({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, DATA_DIR: dataDir, MODEL_DIR: server.modelDir });
  jobs = new JobService({ queue: config.queue, paths: config.paths });
  app = await buildApp({ config: server.config, engine: server.engine, metrics: server.metrics, jobs });
});

afterAll(async () => {
  await app.close();
  await jobs.close();
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe('with Redis down', () => {
  it('job routes answer 503 with Retry-After and say why', async () => {
    const list = await app.inject({ url: '/v1/jobs', headers: bearer(ADMIN_KEY) });
    expect(list.statusCode).toBe(503);
    expect(list.headers['retry-after']).toBeDefined();
    expect(list.json().detail).toMatch(/Redis cannot be reached/);
    const spec = {
      type: 'distill',
      model: 'x-model',
      task: 'classification',
      teacher: { path: 'teacher' },
      data: { train: 'train.jsonl', eval: 'train.jsonl' },
      student: { layers: 1, hidden: 32, heads: 2, intermediate: 64 },
    };
    const submit = await app.inject({ method: 'POST', url: '/v1/jobs', headers: bearer(ADMIN_KEY), payload: spec });
    expect(submit.statusCode).toBe(503);
  });

  it('a spec that cannot run is still refused with 400 first, without Redis', async () => {
    const submit = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: bearer(ADMIN_KEY),
      payload: { type: 'distill', model: 'x', task: 'classification', teacher: { path: 'nope' }, data: { train: 'a', eval: 'b' } },
    });
    expect(submit.statusCode).toBe(400);
    expect(submit.json().errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(['body/teacher/path', 'body/data/train']));
  });

  it('the queue dashboard says Redis cannot be reached, in its own error shape, instead of raw connection errors', async () => {
    const page = await app.inject({ url: '/admin/queues', headers: bearer(ADMIN_KEY) });
    expect(page.statusCode).toBe(200);
    for (const url of ['/admin/queues/api/queues', '/admin/queues/api/redis/stats']) {
      const res = await app.inject({ url, headers: bearer(ADMIN_KEY) });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      const body = res.json() as { error: { key: string }; message: string };
      expect(body.error.key).toBe('ERRORS.REDIS_UNAVAILABLE');
      expect(body.message).toMatch(/Redis cannot be reached; the dashboard fills in again/);
      expect(res.body).not.toMatch(/ECONNREFUSED|Connection is closed|Stream isn't writeable/);
    }
  });

  it('inference keeps serving', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/classify', payload: { model: 'tiny-intent', inputs: ['hello'] } });
    expect(res.statusCode).toBe(200);
    expect(res.json().results[0]).toHaveLength(1);
  });
});

/**
 * Two real API processes (src/server/main.ts, as `npm start` runs it) on one registry folder:
 * a canary set through one is followed by the other (same plan id, so a routing key lands on the
 * same version on both), and when both gather enough evidence at once, exactly one of them
 * promotes the canary; both then serve the new version. Polling is slowed to a minute and file
 * watching is off, so the other replica can only follow through the Redis model events.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelState } from '../../src/inference/registry/types.js';
import { freePort, type Proc, startProcess, waitFor } from '../jobs/processes.js';
import { tinyRegistry } from './helpers.js';

const ADMIN = 'admin-key-for-rollout-process-tests';
const prefix = `dtest-rollout-${process.pid}-${Date.now() % 100000}`;
const MODEL = 'tiny-intent';
let dir: string;
const procs: Array<{ proc: Proc; base: string }> = [];

async function startApi(): Promise<{ proc: Proc; base: string }> {
  const port = await freePort();
  const proc = startProcess('src/server/main.ts', {
    MODEL_DIR: dir,
    PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_API_KEYS: ADMIN,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: prefix,
    REGISTRY_WATCH: 'false',
    REGISTRY_POLL_MS: '60000',
    SESSIONS_PER_MODEL: '1',
    INTRA_OP_THREADS: '1',
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('the API to be ready', async () => (await fetch(`${base}/readyz`)).ok, 60_000);
  return { proc, base };
}

const model = async (base: string) => (await (await fetch(`${base}/v1/models/${MODEL}`)).json()) as Record<string, any>;
const classify = async (base: string, text: string, key?: string) => {
  const res = await fetch(`${base}/v1/classify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'x-routing-key': key } : {}) },
    body: JSON.stringify({ model: MODEL, inputs: [text] }),
  });
  expect(res.status).toBe(200);
  return Number(res.headers.get('x-model-version'));
};

beforeAll(async () => {
  dir = tinyRegistry();
  procs.push(...(await Promise.all([startApi(), startApi()])));
}, 120_000);

afterAll(async () => {
  for (const { proc } of procs) await proc.stop();
  rmSync(dir, { recursive: true, force: true });
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('two API processes on one registry', () => {
  it('follow one plan and make one decision between them', async () => {
    const [a, b] = procs as [{ proc: Proc; base: string }, { proc: Proc; base: string }];
    const put = await fetch(`${a.base}/v1/models/${MODEL}/canary`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: 2, weight: 0.5, rules: { min_requests: 25, max_error_rate: 0.05 } }),
    });
    expect(put.status).toBe(200);
    const plan = ((await put.json()) as { plan: { id: string } }).plan;
    await waitFor(
      'b to follow the plan',
      async () => {
        const canary = (await model(b.base)).rollout.canary;
        return canary?.loaded === true && canary.plan.id === plan.id;
      },
      30_000,
      100,
    );
    for (let k = 0; k < 10; k++) {
      const [va, vb] = await Promise.all([classify(a.base, 'where is my order', `chat-${k}`), classify(b.base, 'where is my order', `chat-${k}`)]);
      expect(va).toBe(vb);
    }
    // Both reach the evidence threshold at about the same time.
    const drive = async (base: string) => {
      for (let i = 0; i < 40; i++) await Promise.all([classify(base, `order ${i} is late`), classify(base, `refund ${i}`)]);
    };
    await Promise.all([drive(a.base), drive(b.base)]);
    await waitFor(
      'both to serve version 2',
      async () => {
        const [ma, mb] = await Promise.all([model(a.base), model(b.base)]);
        return ma.serving_version === 2 && mb.serving_version === 2;
      },
      60_000,
      100,
    );
    const state = JSON.parse(readFileSync(path.join(dir, MODEL, 'state.json'), 'utf8')) as ModelState;
    expect(state.active).toBe(2);
    expect(state.canary).toBeUndefined();
    expect(state.history!.filter((e) => e.action === 'promoted')).toHaveLength(1);
    expect(readdirSync(path.join(dir, MODEL, '.rollout-decisions'))).toEqual([`${plan.id}.json`]);
    const decided = procs.map(({ proc }) => (proc.output().match(/roll-out decided by its rules/g) ?? []).length);
    expect(decided.reduce((x, y) => x + y, 0)).toBe(1);
    expect(await classify(b.base, 'where is my order')).toBe(2);
  }, 120_000);
});

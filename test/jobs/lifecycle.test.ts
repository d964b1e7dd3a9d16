/**
 * The model lifecycle against a real Redis, real trainer processes and a real API process that
 * runs throughout: submit -> progress -> completed -> the new version is served by the running
 * API (hot swap, no restart); a failing gate; cancel; a worker killed with SIGKILL whose job
 * another worker resumes from the checkpoint; invalid specs refused and never queued.
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deleteRedisKeys } from '../redis-keys.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/queue/job-types.js';
import { makeTinyTask, type TinyTask } from '../training/tiny-task.js';
import { freePort, type Proc, startProcess, waitFor } from './processes.js';

const ADMIN = 'admin-key-for-lifecycle-tests-0001';
const prefix = `dtest${process.pid}${Date.now() % 100000}`;
let root: string;
let tiny: TinyTask;
let env: Record<string, string>;
let api: Proc;
let base: string;
const workers: Proc[] = [];

async function call(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

function spec(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'distill',
    model: 'life-intent',
    task: 'classification',
    teacher: { path: tiny.teacherRel },
    data: { train: tiny.trainRel, eval: tiny.evalRel },
    max_length: 32,
    student: { layers: 2, hidden: 64, heads: 2, intermediate: 128 },
    stages: {
      teacher_finetune: { epochs: 4, batch_size: 16, lr: 1e-3 },
      task_distill: { epochs: 5, batch_size: 16, lr: 2e-3 },
      qat: { epochs: 2, batch_size: 16, lr: 1e-4, recalibrate_every: 20 },
    },
    checkpoint_every: 5,
    device: 'cpu',
    seed: 5,
    gate: { max_drop: 0.05, activate: true },
    ...over,
  };
}

async function waitForState(id: string, states: string[], timeoutMs = 180_000): Promise<JobView> {
  return waitFor(
    `job ${id} in ${states.join('/')}`,
    async () => {
      const { json } = await call('GET', `/v1/jobs/${id}`);
      return states.includes(json?.state) ? (json as JobView) : undefined;
    },
    timeoutMs,
    500,
  );
}

function startWorker(extra: Record<string, string> = {}): Proc {
  const w = startProcess('src/queue/worker-main.ts', { ...env, WORKER_METRICS_PORT: '0', ...extra });
  workers.push(w);
  return w;
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'distillery-lifecycle-'));
  tiny = await makeTinyTask(root, 'classification', 11);
  const port = await freePort();
  env = {
    MODEL_DIR: path.join(root, 'models'),
    DATA_DIR: tiny.dataDir,
    WORK_DIR: path.join(root, 'work'),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: prefix,
    ADMIN_API_KEYS: ADMIN,
    PORT: String(port),
    HOST: '127.0.0.1',
    REGISTRY_POLL_MS: '60000', // swaps must come from the Redis event, not from polling
    REGISTRY_WATCH: 'false',
    JOB_LOCK_MS: '4000',
    JOB_STALLED_INTERVAL_MS: '2000',
    JOB_BACKOFF_MS: '500',
    TRAINER_KILL_GRACE_MS: '20000',
  };
  await fs.mkdir(env.MODEL_DIR!, { recursive: true });
  api = startProcess('src/server/main.ts', env);
  base = `http://127.0.0.1:${port}`;
  await waitFor('the API to listen', async () => (await fetch(`${base}/healthz`)).ok, 60_000);
}, 120_000);

afterAll(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  await api?.stop();
  await deleteRedisKeys(env.REDIS_URL!, `${prefix}:`);
  await fs.rm(root, { recursive: true, force: true });
});

describe('job lifecycle', () => {
  it('refuses invalid specs with 400 naming what is wrong, and queues nothing', async () => {
    const unknown = await call('POST', '/v1/jobs', { ...spec(), colour: 'blue' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.detail).toMatch(/colour/);
    const outside = await call('POST', '/v1/jobs', spec({ data: { train: '../../etc/passwd', eval: tiny.evalRel } }));
    expect(outside.status).toBe(400);
    expect(outside.json.errors).toContainEqual({ field: 'body/data/train', message: expect.stringMatching(/outside DATA_DIR/) });
    const shape = await call('POST', '/v1/jobs', spec({ student: { layers: 2, hidden: 66, heads: 4, intermediate: 128 } }));
    expect(shape.status).toBe(400);
    expect(shape.json.detail).toMatch(/not divisible/);
    const missing = await call('POST', '/v1/jobs', spec({ data: { train: 'nope.jsonl', eval: tiny.evalRel } }));
    expect(missing.status).toBe(400);
    const list = await call('GET', '/v1/jobs');
    expect(list.json.total).toBe(0);
  });

  it('runs a job to completion and the running API serves the new version without a restart', async () => {
    startWorker();
    const submitted = await call('POST', '/v1/jobs', spec());
    expect(submitted.status).toBe(202);
    const id = submitted.json.id as string;
    const progressed = await waitForState(id, ['active', 'completed']);
    expect(['active', 'completed']).toContain(progressed.state);
    const done = await waitForState(id, ['completed', 'failed']);
    expect(done.error).toBeNull();
    expect(done.state).toBe('completed');
    expect(done.result?.version).toBe(1);
    expect(done.result?.gate.activated).toBe(true);
    // Its checkpoints are in the registry now: the work folder is gone (WORK_RETENTION_HOURS).
    await waitFor('the work folder to go', async () => !existsSync(path.join(env.WORK_DIR!, 'jobs', id)), 10_000);
    const served = await waitFor(
      'the API to serve version 1',
      async () => {
        const res = await fetch(`${base}/v1/classify`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'life-intent', inputs: ['my invoice is wrong'] }),
        });
        return res.ok ? ((await res.json()) as { version: number; results: { label: string }[][] }) : undefined;
      },
      30_000,
    );
    expect(served.version).toBe(1);
    expect(served.results[0]![0]!.label).toBe('billing');
    // The event stream replays the run: state changes with progress, the log, and the end.
    const stream = await (await fetch(`${base}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    expect(stream).toMatch(/event: state\ndata: .*"progress":\{"stage":/);
    expect(stream).toMatch(/event: log\ndata: .*stage teacher_finetune started/);
    expect(stream).toMatch(/event: end\ndata: .*"state":"completed"/);
    const report = await fetch(`${base}/v1/jobs/${id}/report`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(report.headers.get('content-type')).toMatch(/text\/html/);
    const html = await report.text();
    expect(html).toContain('<svg');
    expect(html).toContain('student INT8');
  }, 240_000);

  it('hot-swaps to the next version while clients keep calling, with zero failed requests', async () => {
    let stop = false;
    let failures = 0;
    const versions = new Set<number>();
    const client = async (): Promise<void> => {
      while (!stop) {
        const res = await fetch(`${base}/v1/classify`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'life-intent', inputs: ['where is my parcel', 'reset my password'] }),
        });
        if (res.ok) versions.add(((await res.json()) as { version: number }).version);
        else failures += 1;
        await new Promise((r) => setTimeout(r, 20)); // leave the trainer some CPU
      }
    };
    const clients = Array.from({ length: 4 }, client);
    const { json } = await call('POST', '/v1/jobs', spec({ seed: 6 }));
    const done = await waitForState(json.id, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    await waitFor('version 2 to be served', async () => versions.has(2), 30_000);
    stop = true;
    await Promise.all(clients);
    expect(failures).toBe(0);
    expect([...versions].sort()).toEqual([1, 2]);
  }, 240_000);

  it('a failing quality gate publishes the version but leaves the active one, and says why', async () => {
    // Version 1 (with its checkpoint) teaches; a student trained for two steps cannot match it.
    const { json } = await call(
      'POST',
      '/v1/jobs',
      spec({ teacher: { model: 'life-intent@1' }, max_steps_per_stage: 2, gate: { max_drop: 0.02, activate: true } }),
    );
    const done = await waitForState(json.id, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    expect(done.result?.gate.passed).toBe(false);
    expect(done.result?.gate.reason).toMatch(/gate failed: .*version 2 stays active/);
    const model = await call('GET', '/v1/models/life-intent');
    expect(model.json.active_version).toBe(2);
    expect(model.json.versions.map((v: { version: number }) => v.version)).toContain(done.result?.version);
  }, 240_000);

  it('cancels a running job: the trainer checkpoints and exits, the job ends cancelled', async () => {
    const { json } = await call('POST', '/v1/jobs', spec({ stages: { teacher_finetune: { epochs: 100, batch_size: 16, lr: 1e-3 } } }));
    await waitFor('progress', async () => (await call('GET', `/v1/jobs/${json.id}`)).json.progress?.step > 0, 120_000, 500);
    const cancel = await call('DELETE', `/v1/jobs/${json.id}`);
    expect(cancel.status).toBe(202);
    const done = await waitForState(json.id, ['cancelled', 'failed', 'completed'], 60_000);
    expect(done.state).toBe('cancelled');
    // Kept for WORK_RETENTION_HOURS to look at, marked so the sweep removes it after that.
    const marker = path.join(env.WORK_DIR!, 'jobs', json.id, 'ended.json');
    const ended = await waitFor('the end marker', async () => existsSync(marker) && JSON.parse(readFileSync(marker, 'utf8')), 10_000);
    expect(ended).toMatchObject({ outcome: 'cancelled' });
    const logs = workers.map((w) => w.output()).join('');
    expect(logs).toMatch(/cancel requested/);
  }, 240_000);

  it('a cancelled job ends cancelled even when its trainer fails while stopping', async () => {
    // A stand-in for the trainer (TRAINER_PYTHON) that reports progress and fails on SIGTERM
    // instead of checkpointing: the worker must still end the job as the user asked.
    const fake = path.join(root, 'trainer-that-fails-on-stop.sh');
    await fs.writeFile(
      fake,
      [
        '#!/bin/sh',
        // Exit 2 is an input error, which the worker never retries: no later attempt can see the cancel.
        'trap \'echo "{\\"type\\":\\"error\\",\\"message\\":\\"stopping went wrong\\"}"; exit 2\' TERM',
        'while true; do',
        '  echo \'{"type":"progress","stage":"teacher_finetune","epoch":0,"step":1,"total":100,"losses":{"total":1},"lr":0.001,"steps_per_sec":1,"eta_s":99}\'',
        '  sleep 0.2',
        'done',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    for (const w of workers) await w.stop('SIGTERM');
    const failing = startWorker({ TRAINER_PYTHON: fake });
    const { json } = await call('POST', '/v1/jobs', spec({ seed: 12 }));
    await waitFor('progress', async () => (await call('GET', `/v1/jobs/${json.id}`)).json.progress?.step > 0, 60_000, 250);
    expect((await call('DELETE', `/v1/jobs/${json.id}`)).status).toBe(202);
    const done = await waitForState(json.id, ['cancelled', 'failed', 'completed'], 60_000);
    expect(done.state).toBe('cancelled');
    expect(failing.output()).toMatch(/cancel requested/);
    await failing.stop('SIGTERM');
    startWorker();
  }, 120_000);

  it('a worker killed with SIGKILL mid-job: another worker resumes from the checkpoint and completes it', async () => {
    for (const w of workers) await w.stop('SIGTERM');
    const first = startWorker();
    const { json } = await call(
      'POST',
      '/v1/jobs',
      spec({
        seed: 8,
        stages: {
          teacher_finetune: { epochs: 6, batch_size: 16, lr: 1e-3 },
          task_distill: { epochs: 6, batch_size: 16, lr: 2e-3 },
          qat: { epochs: 2, batch_size: 16, lr: 1e-4, recalibrate_every: 20 },
        },
      }),
    );
    const checkpointed = path.join(env.WORK_DIR!, 'jobs', json.id, 'checkpoints');
    await waitFor('a checkpoint', async () => (await fs.readdir(checkpointed).catch(() => [])).some((f) => f.endsWith('.pt')), 120_000, 250);
    await first.stop('SIGKILL');
    startWorker();
    const done = await waitForState(json.id, ['completed', 'failed'], 240_000);
    expect(done.state).toBe('completed');
    const events = await fetch(`${base}/v1/jobs/${json.id}/events`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const stream = await events.text();
    expect(stream).toMatch(/resuming/);
    expect(stream).toMatch(/event: end/);
  }, 300_000);

  it('a job published as a canary with rules reaches active with no operator action when its evidence passes', async () => {
    const before = (await call('GET', '/v1/models/life-intent')).json.active_version as number;
    const rollout = { mode: 'canary', weight: 0.5, rules: { min_requests: 20, max_error_rate: 0.01 } };
    const { json } = await call('POST', '/v1/jobs', spec({ seed: 9, gate: { max_drop: 1, activate: true, rollout } }));
    const done = await waitForState(json.id, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    const version = done.result!.version;
    expect(done.result?.gate).toMatchObject({ passed: true, activated: false, rollout: { mode: 'canary' } });
    expect(done.result?.gate.reason).toMatch(new RegExp(`published as a canary of version ${before}`));
    // The API follows the plan from the job's Redis event (polling is off in this test).
    await waitFor('the canary to be loaded', async () => (await call('GET', '/v1/models/life-intent')).json.rollout.canary?.loaded === true, 60_000, 250);
    // Live traffic is the evidence; nobody calls an admin route.
    const promoted = await waitFor(
      'the rules to promote the canary',
      async () => {
        await Promise.all(
          Array.from({ length: 8 }, () =>
            fetch(`${base}/v1/classify`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ model: 'life-intent', inputs: ['my invoice is wrong'] }),
            }).then((r) => r.text()),
          ),
        );
        const m = (await call('GET', '/v1/models/life-intent')).json;
        return m.active_version === version && m.serving_version === version ? m : undefined;
      },
      60_000,
      100,
    );
    const events = (promoted.rollout.history as Array<Record<string, any>>).filter((e) => e.version === version);
    expect(events.map((e) => [e.action, e.by])).toEqual([
      ['started', `job:${json.id}`],
      ['promoted', 'rules'],
    ]);
    expect(events[1]!.evidence.candidate.requests).toBeGreaterThanOrEqual(20);
    const html = await (await fetch(`${base}/v1/jobs/${json.id}/report`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    expect(html).toContain('Roll-out');
    expect(html).toMatch(/promoted<\/td><td>rules/);
  }, 300_000);
});

/**
 * Canary and shadow roll-outs through real servers on the tiny registry (real ONNX Runtime
 * sessions, real files): the traffic split, sticky routing keys, pinning, a shadow on an
 * identical copy that agrees completely and changes no live answer, a slow and failing shadow
 * that costs live requests nothing, rules that promote and abort, the repeat rule, and two
 * servers on one registry that follow one plan and make one decision.
 */
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InferenceBackend } from '../../src/inference/backend.js';
import type { ModelState, ServingConfig } from '../../src/inference/registry/types.js';
import { SessionPool } from '../../src/inference/session-pool.js';
import { ADMIN_KEY, bearer, startServer, type TestServer, tinyRegistry } from './helpers.js';

const MODEL = 'tiny-intent';
const WORDS = ['order', 'refund', 'late', 'shipping', 'password', 'reset', 'account', 'help', 'where', 'is', 'my', 'the', 'cafe', 'paris'];

/** A varied text per index, so requests are not all the same row. */
function text(i: number): string {
  return Array.from({ length: 2 + (i % 5) }, (_, k) => WORDS[(i * 7 + k * 3) % WORDS.length]).join(' ');
}

/** Copy version `from` of tiny-intent to version `to` (same files and hashes: an identical model). */
function copyVersion(dir: string, from: number, to: number): void {
  const target = path.join(dir, MODEL, String(to));
  cpSync(path.join(dir, MODEL, String(from)), target, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(target, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(target, 'manifest.json'), JSON.stringify({ ...manifest, version: to }));
}

function readState(dir: string): ModelState {
  return JSON.parse(readFileSync(path.join(dir, MODEL, 'state.json'), 'utf8')) as ModelState;
}

interface Answered {
  status: number;
  version: number;
  header: number;
  body: { version: number; results: Array<Array<{ label: string; score: number }>> };
}

async function classify(s: TestServer, input: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Answered> {
  const res = await fetch(`${s.url}/v1/classify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, inputs: [input], top_k: 3, ...extra }),
  });
  const body = (await res.json()) as Answered['body'];
  return { status: res.status, version: body.version, header: Number(res.headers.get('x-model-version')), body };
}

/** `n` requests, `concurrency` at a time. */
async function burst(n: number, concurrency: number, one: (i: number) => Promise<Answered>): Promise<Answered[]> {
  const out: Answered[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

async function admin(s: TestServer, method: string, route: string, body?: unknown) {
  const res = await fetch(`${s.url}/v1/models/${MODEL}/${route}`, {
    method,
    headers: { ...bearer(ADMIN_KEY), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function model(s: TestServer): Promise<Record<string, any>> {
  return (await fetch(`${s.url}/v1/models/${MODEL}`)).json() as Promise<Record<string, any>>;
}

/** Versions this server has loaded and warmed so far (active, pinned, candidates). */
async function loads(s: TestServer): Promise<number> {
  const scrape = await (await fetch(`${s.url}/metrics`)).text();
  return Number(scrape.match(new RegExp(`distillery_model_load_duration_seconds_count\\{model="${MODEL}"\\} (\\d+)`))?.[1] ?? 0);
}

/** Poll until `check` returns a value (shadow replays and other replicas are asynchronous). */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('canary', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ ADMIN_API_KEYS: ADMIN_KEY, JOBS_ENABLED: 'false' });
  }, 120_000);
  afterAll(() => s.close());

  it('refuses plans that cannot run, with a 4xx that says why, and changes nothing', async () => {
    const ofActive = await admin(s, 'PUT', 'canary', { version: 1, weight: 0.3 });
    expect(ofActive.status).toBe(400);
    expect(ofActive.body.type).toBe('urn:distillery:problem:invalid-rollout');
    expect(ofActive.body.detail).toMatch(/already active/);
    expect((await admin(s, 'PUT', 'canary', { version: 2, weight: 1 })).status).toBe(400);
    expect((await admin(s, 'PUT', 'canary', { version: 2, weight: 0 })).status).toBe(400);
    expect((await admin(s, 'PUT', 'canary', { version: 9, weight: 0.3 })).status).toBe(404);
    const agreementOnCanary = await admin(s, 'PUT', 'canary', { version: 2, weight: 0.3, rules: { min_requests: 5, min_agreement: 0.9 } });
    expect(agreementOnCanary.status).toBe(400);
    expect(agreementOnCanary.body.type).toBe('urn:distillery:problem:invalid-rollout');
    expect(agreementOnCanary.body.detail).toMatch(/shadow/);
    cpSync(path.join(s.modelDir, 'tiny-qa', '1'), path.join(s.modelDir, MODEL, '7'), { recursive: true });
    const otherTask = await admin(s, 'PUT', 'shadow', { version: 7, sample: 0.5 });
    expect(otherTask.status).toBe(400);
    expect(otherTask.body.type).toBe('urn:distillery:problem:invalid-rollout');
    expect(otherTask.body.detail).toMatch(/qa model .* same task/);
    const anonymous = await fetch(`${s.url}/v1/models/${MODEL}/canary`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: 2, weight: 0.3 }),
    });
    expect(anonymous.status).toBe(401);
    expect(readState(s.modelDir).canary).toBeUndefined();
  });

  it('a version that cannot load is refused with 422 and the plan is unchanged', async () => {
    copyVersion(s.modelDir, 2, 5);
    writeFileSync(path.join(s.modelDir, MODEL, '5', 'model.onnx'), 'not a model'); // hash mismatch
    const res = await admin(s, 'PUT', 'canary', { version: 5, weight: 0.3 });
    expect(res.status).toBe(422);
    expect(readState(s.modelDir).canary).toBeUndefined();
    expect((await model(s)).rollout.canary).toBeNull();
  });

  it('a 30% canary answers 30% of 2,000 unpinned requests; every answer names its version', async () => {
    const put = await admin(s, 'PUT', 'canary', { version: 2, weight: 0.3 });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ changed: true, previous: null, plan: { version: 2, weight: 0.3, started_by: 'admin' } });
    expect(readState(s.modelDir).canary).toMatchObject({ version: 2, weight: 0.3 });

    const answers = await burst(2000, 16, (i) => classify(s, text(i)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.every((a) => a.header === a.version && (a.version === 1 || a.version === 2))).toBe(true);
    const canary = answers.filter((a) => a.version === 2).length;
    // Binomial(2000, 0.3): sd 20.5; 5 sd either side fails a correct split about once in 1.7 million runs.
    expect(canary).toBeGreaterThan(600 - 103);
    expect(canary).toBeLessThan(600 + 103);

    const evidence = (await model(s)).rollout.canary.evidence;
    expect(evidence.candidate).toMatchObject({ version: 2, requests: canary, errors: 0 });
    expect(evidence.active).toMatchObject({ version: 1, requests: 2000 - canary, errors: 0 });
    expect(evidence.candidate.p99_ms).toBeGreaterThan(0);
    const scrape = await (await fetch(`${s.url}/metrics`)).text();
    expect(scrape).toContain(`distillery_rollout_requests_total{model="${MODEL}",version="2",role="canary",outcome="ok"} ${canary}`);
    expect(scrape).toContain(`distillery_rollout_plan_share{model="${MODEL}",version="2",role="canary"} 0.3`);
  }, 180_000);

  it('a routing key keeps its version across 50 requests; pinned requests bypass the plan', async () => {
    const versions = new Map<string, Set<number>>();
    for (let k = 0; k < 12; k++) {
      const key = `conversation-${k}`;
      const seen = new Set<number>();
      for (const a of await burst(50, 5, (i) => classify(s, text(i), {}, { 'x-routing-key': key }))) {
        expect(a.status).toBe(200);
        seen.add(a.version);
      }
      versions.set(key, seen);
    }
    for (const seen of versions.values()) expect(seen.size).toBe(1);
    const pinned = await burst(40, 8, (i) => classify(s, text(i), { version: 2 }, { 'x-routing-key': 'conversation-0' }));
    expect(pinned.every((a) => a.version === 2 && a.header === 2)).toBe(true);
    const pinnedActive = await burst(40, 8, (i) => classify(s, text(i), { version: 1 }));
    expect(pinnedActive.every((a) => a.version === 1)).toBe(true);
  }, 120_000);

  it('repeats: an identical PUT and a DELETE of nothing answer changed: false', async () => {
    expect((await admin(s, 'PUT', 'canary', { version: 2, weight: 0.3 })).status).toBe(200);
    const again = await admin(s, 'PUT', 'canary', { version: 2, weight: 0.3 });
    expect(again).toMatchObject({ status: 200, body: { changed: false, plan: { version: 2 } } });
    // A new weight for the same version is a new plan (evidence and sticky routing start afresh) on the loaded candidate.
    const loadsBefore = await loads(s);
    const reweighted = await admin(s, 'PUT', 'canary', { version: 2, weight: 0.4 });
    expect(reweighted.body).toMatchObject({ changed: true, plan: { version: 2, weight: 0.4 }, previous: { id: again.body.plan.id } });
    expect((await model(s)).rollout.canary).toMatchObject({ loaded: true, evidence: { candidate: { requests: 0 } } });
    expect(await loads(s)).toBe(loadsBefore);
    const planId = reweighted.body.plan.id as string;
    const [a, b] = await Promise.all([admin(s, 'DELETE', 'canary'), admin(s, 'DELETE', 'canary')]);
    expect([a.body.changed, b.body.changed].sort()).toEqual([false, true]);
    expect([a.body.previous?.id, b.body.previous?.id]).toContain(planId);
    const history = (await model(s)).rollout.history as Array<Record<string, any>>;
    const ended = history.filter((e) => e.plan_id === planId && e.action === 'ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]!.evidence).toHaveProperty('candidate.version', 2);
    const after = await burst(30, 6, (i) => classify(s, text(i)));
    expect(after.every((x) => x.version === 1)).toBe(true);
    // Two identical PUTs racing: one starts the plan, the other finds it running.
    const [p1, p2] = await Promise.all([admin(s, 'PUT', 'canary', { version: 2, weight: 0.2 }), admin(s, 'PUT', 'canary', { version: 2, weight: 0.2 })]);
    const [won, lost] = p1.body.changed ? [p1.body, p2.body] : [p2.body, p1.body];
    expect(won).toMatchObject({ changed: true, previous: null });
    expect(lost).toMatchObject({ changed: false, plan: { id: won.plan.id }, previous: { id: won.plan.id } });
    expect((await admin(s, 'DELETE', 'canary')).body.changed).toBe(true);
  });

  it('activating the canary version ends its canary; activating again is a repeat', async () => {
    expect((await admin(s, 'PUT', 'canary', { version: 2, weight: 0.5 })).status).toBe(200);
    const [a, b] = await Promise.all([admin(s, 'POST', 'activate', { version: 2 }), admin(s, 'POST', 'activate', { version: 2 })]);
    const first = a.body.changed ? a.body : b.body;
    const second = a.body.changed ? b.body : a.body;
    expect(first).toMatchObject({ changed: true, previous_version: 1, active_version: 2 });
    expect(second).toMatchObject({ changed: false, previous_version: 2, active_version: 2 });
    const state = readState(s.modelDir);
    expect(state.active).toBe(2);
    expect(state.canary).toBeUndefined();
    expect(state.history!.at(-1)).toMatchObject({ action: 'ended', version: 2, by: 'admin' });
    expect((await admin(s, 'POST', 'activate', { version: 1 })).body.changed).toBe(true);
  });
});

describe('rules', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ ADMIN_API_KEYS: ADMIN_KEY, JOBS_ENABLED: 'false' });
  }, 120_000);
  afterAll(() => s.close());

  it('a canary with good evidence promotes itself, recorded with its evidence', async () => {
    const loadsBefore = await loads(s);
    const put = await admin(s, 'PUT', 'canary', { version: 2, weight: 0.5, rules: { min_requests: 40, max_error_rate: 0.01 } });
    expect(put.body.plan.rules).toEqual({ min_requests: 40, max_error_rate: 0.01, on_pass: 'promote', on_fail: 'abort' });
    const answers = await burst(200, 8, (i) => classify(s, text(i)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    await until('promotion', async () => (readState(s.modelDir).active === 2 ? true : undefined));
    const info = await until('the swap', async () => {
      const m = await model(s);
      return m.serving_version === 2 ? m : undefined;
    });
    expect(info.rollout.canary).toBeNull();
    const promoted = (info.rollout.history as Array<Record<string, any>>).filter((e) => e.action === 'promoted');
    expect(promoted).toHaveLength(1);
    expect(promoted[0]).toMatchObject({ by: 'rules', version: 2, role: 'canary' });
    expect(promoted[0]!.reason).toMatch(/rules passed/);
    expect(promoted[0]!.evidence.candidate.requests).toBeGreaterThanOrEqual(40);
    expect(promoted[0]!.evidence.candidate.errors).toBe(0);
    expect((await classify(s, 'where is my order')).version).toBe(2);
    // The canary's warm sessions became the active version: one load for the whole roll-out.
    expect(await loads(s)).toBe(loadsBefore + 1);
    expect((await admin(s, 'POST', 'activate', { version: 1 })).status).toBe(200);
  }, 120_000);

  it('a canary with bad evidence (slower than its bound) aborts itself and the active version stays', async () => {
    // p99 at most 0.001 x the active's: no real model meets that.
    const put = await admin(s, 'PUT', 'canary', { version: 2, weight: 0.5, rules: { min_requests: 30, max_p99_ratio: 0.001 } });
    expect(put.status).toBe(200);
    await burst(150, 6, (i) => classify(s, text(i)));
    await until('abort', async () => (readState(s.modelDir).canary ? undefined : true));
    const state = readState(s.modelDir);
    expect(state.active).toBe(1);
    const aborted = state.history!.filter((e) => e.action === 'aborted');
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toMatchObject({ by: 'rules', role: 'canary', version: 2, plan_id: put.body.plan.id });
    expect(aborted[0]!.reason).toMatch(/p99/);
    const after = await burst(30, 6, (i) => classify(s, text(i)));
    expect(after.every((a) => a.version === 1)).toBe(true);
  }, 120_000);

  it('a shadow that disagrees with the active version aborts on its agreement rule', async () => {
    // Versions 1 and 2 are different random models: they disagree on many inputs.
    const put = await admin(s, 'PUT', 'shadow', { version: 2, sample: 1, rules: { min_requests: 30, min_agreement: 0.999 } });
    expect(put.status).toBe(200);
    for (let i = 0; i < 120 && readState(s.modelDir).shadow; i += 10) await burst(10, 2, (k) => classify(s, text(i + k)));
    await until('abort', async () => (readState(s.modelDir).shadow ? undefined : true));
    const aborted = readState(s.modelDir).history!.filter((e) => e.action === 'aborted' && e.role === 'shadow');
    expect(aborted).toHaveLength(1);
    expect(aborted[0]!.reason).toMatch(/agreement/);
    expect((aborted[0]!.evidence as any).agreement.top1_agreement).toBeLessThan(0.999);
  }, 120_000);
});

describe('shadow', () => {
  let s: TestServer;
  beforeAll(async () => {
    const dir = tinyRegistry();
    copyVersion(dir, 1, 3);
    s = await startServer({ ADMIN_API_KEYS: ADMIN_KEY, JOBS_ENABLED: 'false' }, { modelDir: dir });
  }, 120_000);
  afterAll(() => s.close());

  it('on an identical copy: agreement 1.0 over every sampled request, and every live answer is the active one', async () => {
    const inputs = Array.from({ length: 120 }, (_, i) => text(i));
    const before = await burst(inputs.length, 6, (i) => classify(s, inputs[i]!));
    expect((await admin(s, 'PUT', 'shadow', { version: 3, sample: 1 })).status).toBe(200);
    // In groups small enough for the shadow queue (64), each replayed before the next is sent.
    const during: Answered[] = [];
    const replayed = async () => {
      const e = (await model(s)).rollout.shadow.evidence;
      return e.candidate.requests + e.dropped === during.length ? e : undefined;
    };
    for (let i = 0; i < inputs.length; i += 20) {
      during.push(...(await burst(20, 4, (k) => classify(s, inputs[i + k]!))));
      await until('the group to be replayed', replayed);
    }
    for (const [i, a] of during.entries()) {
      expect(a.status).toBe(200);
      expect(a.version).toBe(1);
      expect(a.body).toEqual(before[i]!.body);
    }
    const evidence = await until('every replay', replayed);
    expect(evidence.dropped).toBe(0);
    expect(evidence.candidate).toMatchObject({ version: 3, requests: inputs.length, errors: 0 });
    expect(evidence.agreement).toEqual({ compared: inputs.length, top1_agreement: 1, mean_abs_score_diff: 0 });
    const scrape = await (await fetch(`${s.url}/metrics`)).text();
    expect(scrape).toContain(`distillery_shadow_agreement_ratio{model="${MODEL}",version="3",metric="top1"} 1`);
    expect(scrape).toContain(`distillery_shadow_comparisons_total{model="${MODEL}",version="3",result="agree"} ${inputs.length}`);
    expect((await admin(s, 'DELETE', 'shadow')).body.changed).toBe(true);
    const gone = await (await fetch(`${s.url}/metrics`)).text();
    expect(gone).not.toContain(`distillery_shadow_agreement_ratio{model="${MODEL}",version="3"`);
  }, 120_000);

  it('QA: exact-match, token-F1 and no-answer agreement of an identical copy are 1', async () => {
    const qaDir = path.join(s.modelDir, 'tiny-qa');
    cpSync(path.join(qaDir, '1'), path.join(qaDir, '2'), { recursive: true });
    const put = await fetch(`${s.url}/v1/models/tiny-qa/shadow`, {
      method: 'PUT',
      headers: { ...bearer(ADMIN_KEY), 'content-type': 'application/json' },
      body: JSON.stringify({ version: 2, sample: 1 }),
    });
    expect(put.status).toBe(200);
    const contexts = ['the start of the answer is here end of it', 'no markers in this one', 'start paris end and start tokyo end'];
    for (const [i, context] of contexts.entries()) {
      const res = await fetch(`${s.url}/v1/qa`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny-qa', inputs: [{ question: `what is ${i}`, context }], top_k: 1, max_answer_length: 10 }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-model-version')).toBe('1');
    }
    const evidence = await until('the QA replays', async () => {
      const e = ((await (await fetch(`${s.url}/v1/models/tiny-qa`)).json()) as Record<string, any>).rollout.shadow.evidence;
      return e.candidate.requests === contexts.length ? e : undefined;
    });
    expect(evidence.agreement).toEqual({ compared: contexts.length, exact_match: 1, token_f1: 1, no_answer_agreement: 1 });
  }, 120_000);
});

/** Real ONNX Runtime sessions, made slow and failing on demand (a candidate that misbehaves after it loaded). */
function misbehaving(dir: string, control: { armed: boolean; calls: number }) {
  return (model: string, version: number, config: ServingConfig): InferenceBackend => {
    let pool: Promise<SessionPool> | undefined;
    const real = () =>
      (pool ??= SessionPool.create({
        modelPath: path.join(dir, model, String(version), 'model.onnx'),
        sessions: 1,
        intraOpThreads: 1,
        interOpThreads: 1,
        intraOpSpinning: false,
        niceness: 0,
        executionProviders: ['cpu'],
        ortMemory: { cpuMemArena: true, memPattern: false, prepacking: true },
        inputs: config.inputs,
        outputs: config.outputs,
      }));
    return {
      concurrency: 1,
      async run(batch) {
        if (version === 2 && control.armed) {
          control.calls++;
          await new Promise((r) => setTimeout(r, 150));
          if (control.calls % 2 === 1) throw new Error('shadow candidate failed (test)');
        }
        return (await real()).run(batch);
      },
      async close() {
        await (await pool)?.close();
      },
    };
  };
}

describe('a slow and failing shadow', () => {
  let s: TestServer;
  const control = { armed: false, calls: 0 };
  beforeAll(async () => {
    const dir = tinyRegistry();
    s = await startServer(
      { ADMIN_API_KEYS: ADMIN_KEY, JOBS_ENABLED: 'false', SHADOW_MAX_QUEUED: '4' },
      { modelDir: dir, backendFactory: misbehaving(dir, control) },
    );
  }, 120_000);
  afterAll(() => s.close());

  it('leaves every live answer and status unchanged; failures and drops are recorded, not raised', async () => {
    const inputs = Array.from({ length: 200 }, (_, i) => text(i));
    const before = await burst(inputs.length, 8, (i) => classify(s, inputs[i]!));
    expect((await admin(s, 'PUT', 'shadow', { version: 2, sample: 1 })).status).toBe(200);
    control.armed = true;
    const during = await burst(inputs.length, 8, (i) => classify(s, inputs[i]!));
    expect(during.filter((a) => a.status !== 200)).toHaveLength(0);
    for (const [i, a] of during.entries()) expect(a.body).toEqual(before[i]!.body);
    const evidence = await until('the shadow queue to drain', async () => {
      const e = (await model(s)).rollout.shadow.evidence;
      return e.candidate.requests + e.dropped === inputs.length ? e : undefined;
    });
    expect(evidence.dropped).toBeGreaterThan(0); // the queue holds 4; replays take 150 ms each
    expect(evidence.candidate.errors).toBeGreaterThan(0);
    expect(evidence.active.errors).toBe(0);
    const scrape = await (await fetch(`${s.url}/metrics`)).text();
    expect(scrape).toMatch(new RegExp(`distillery_shadow_dropped_total\\{model="${MODEL}",version="2"\\} ${evidence.dropped}`));
    expect(scrape).toMatch(
      new RegExp(`distillery_rollout_requests_total\\{model="${MODEL}",version="2",role="shadow",outcome="error"\\} ${evidence.candidate.errors}`),
    );
  }, 120_000);
});

describe('two servers on one registry', () => {
  let a: TestServer;
  let b: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = tinyRegistry();
    // Each follows the registry by polling, as replicas on a shared volume do.
    const env = { ADMIN_API_KEYS: ADMIN_KEY, JOBS_ENABLED: 'false', REGISTRY_POLL_MS: '100' };
    a = await startServer(env, { modelDir: dir });
    b = await startServer(env, { modelDir: dir });
  }, 120_000);
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('follow the same plan (a routing key lands on the same version on both) and make one decision between them', async () => {
    const put = await admin(a, 'PUT', 'canary', { version: 2, weight: 0.5, rules: { min_requests: 20, max_error_rate: 0.05 } });
    expect(put.status).toBe(200);
    await until('b to load the plan', async () => ((await model(b)).rollout.canary?.loaded ? true : undefined));
    for (let k = 0; k < 10; k++) {
      const key = `user-${k}`;
      const [onA, onB] = await Promise.all([
        classify(a, 'where is my order', {}, { 'x-routing-key': key }),
        classify(b, 'where is my order', {}, { 'x-routing-key': key }),
      ]);
      expect(onA.version).toBe(onB.version);
    }
    // Both gather enough evidence at the same time; only one may act on it.
    await Promise.all([burst(120, 4, (i) => classify(a, text(i))), burst(120, 4, (i) => classify(b, text(i)))]);
    await until('promotion on both', async () => {
      const [ma, mb] = await Promise.all([model(a), model(b)]);
      return ma.serving_version === 2 && mb.serving_version === 2 ? true : undefined;
    });
    const state = readState(dir);
    expect(state.active).toBe(2);
    expect(state.history!.filter((e) => e.action === 'promoted')).toHaveLength(1);
    const claims = readdirSync(path.join(dir, MODEL, '.rollout-decisions'));
    expect(claims).toEqual([`${put.body.plan.id}.json`]);
    const decisions = async (s: TestServer) => {
      const m = (await (await fetch(`${s.url}/metrics`)).text()).match(/distillery_rollout_decisions_total\{[^}]*action="promoted"\} (\d+)/);
      return m ? Number(m[1]) : 0;
    };
    expect((await decisions(a)) + (await decisions(b))).toBe(1);
    expect(existsSync(path.join(dir, MODEL, 'state.json'))).toBe(true);
  }, 180_000);
});

/**
 * The pure pieces of roll-outs: plan changes in state.json, agreement measures,
 * the rules, stable routing points, and the shadow dispatcher's priority and bound.
 */
import { describe, expect, it } from 'vitest';
import type { ModelState, RolloutRules } from '../../src/inference/registry/types.js';
import { compareClassification, compareQa, tokenF1 } from '../../src/inference/rollout/agreement.js';
import { EvidenceRecorder } from '../../src/inference/rollout/evidence.js';
import { activateVersion, endPlan, ROLLOUT_HISTORY_LIMIT, startPlan } from '../../src/inference/rollout/plan.js';
import { routingPoint } from '../../src/inference/rollout/rollout-manager.js';
import { judge } from '../../src/inference/rollout/rules.js';
import { ShadowDispatcher } from '../../src/inference/rollout/shadow-dispatcher.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('plans in state.json', () => {
  const base: ModelState = { active: 1, updated_at: '2026-01-01T00:00:00.000Z' };

  it('start, repeat, replace and end a plan, each recorded once in the history', () => {
    const started = startPlan(base, 'canary', { version: 2, weight: 0.1 }, 'admin');
    expect(started.changed).toBe(true);
    const plan = started.state.canary!;
    expect(plan).toMatchObject({ version: 2, weight: 0.1, started_by: 'admin' });
    expect(startPlan(started.state, 'canary', { version: 2, weight: 0.1 }, 'admin')).toEqual({ state: started.state, changed: false });
    const replaced = startPlan(started.state, 'canary', { version: 2, weight: 0.2 }, 'admin');
    expect(replaced.state.canary!.id).not.toBe(plan.id);
    expect(replaced.state.history!.map((e) => e.action)).toEqual(['started', 'replaced', 'started']);
    const ended = endPlan(replaced.state, 'canary', { action: 'aborted', by: 'rules', reason: 'bad', planId: replaced.state.canary!.id });
    expect(ended.state.canary).toBeUndefined();
    expect(ended.state.history!.at(-1)).toMatchObject({ action: 'aborted', by: 'rules' });
    // A decision about a plan that has since been replaced or ended changes nothing.
    expect(endPlan(replaced.state, 'canary', { action: 'aborted', by: 'rules', reason: 'stale', planId: plan.id }).changed).toBe(false);
    expect(endPlan(ended.state, 'canary', { action: 'ended', by: 'admin', reason: 'x' }).changed).toBe(false);
  });

  it('the same plan with its rules written in another key order is a repeat, not a new plan', () => {
    const rules: RolloutRules = { min_requests: 2000, max_error_rate: 0.005, max_p99_ratio: 1.3, on_pass: 'promote', on_fail: 'abort' };
    const started = startPlan(base, 'canary', { version: 2, weight: 0.1, rules }, 'admin');
    const reordered: RolloutRules = { on_fail: 'abort', max_p99_ratio: 1.3, on_pass: 'promote', max_error_rate: 0.005, min_requests: 2000 };
    expect(startPlan(started.state, 'canary', { version: 2, weight: 0.1, rules: reordered }, 'admin')).toEqual({ state: started.state, changed: false });
    // A rule added or changed is still a new plan.
    expect(startPlan(started.state, 'canary', { version: 2, weight: 0.1, rules: { ...reordered, max_p99_ratio: 1.4 } }, 'admin').changed).toBe(true);
    const { max_p99_ratio: _dropped, ...fewer } = reordered;
    expect(startPlan(started.state, 'canary', { version: 2, weight: 0.1, rules: fewer }, 'admin').changed).toBe(true);
    expect(startPlan(started.state, 'canary', { version: 2, weight: 0.1 }, 'admin').changed).toBe(true);
  });

  it('activating a version ends a canary and a shadow of it (promoted when rules did it), keeps the others', () => {
    let s = startPlan(base, 'canary', { version: 2, weight: 0.5 }, 'admin').state;
    s = startPlan(s, 'shadow', { version: 3, sample: 1 }, 'admin').state;
    const promoted = activateVersion(s, 2, { by: 'rules', action: 'promoted', reason: 'rules passed', evidence: { n: 1 } });
    expect(promoted.state).toMatchObject({ active: 2, shadow: { version: 3 } });
    expect(promoted.state.canary).toBeUndefined();
    expect(promoted.state.history!.at(-1)).toMatchObject({ action: 'promoted', by: 'rules', version: 2, evidence: { n: 1 } });
    expect(activateVersion(promoted.state, 2, { by: 'admin' }).changed).toBe(false);
    expect(activateVersion(undefined, 1, { by: 'admin' })).toMatchObject({ changed: true, state: { active: 1 } });
  });

  it('keeps a bounded history', () => {
    let s = base;
    for (let i = 0; i < ROLLOUT_HISTORY_LIMIT; i++) s = startPlan(s, 'shadow', { version: 2, sample: ((i % 9) + 1) / 10 }, 'admin').state;
    expect(s.history).toHaveLength(ROLLOUT_HISTORY_LIMIT);
  });
});

describe('agreement', () => {
  it('classification: top-1 agreement and the score difference of the active top label', () => {
    const rows = compareClassification(
      [
        [
          { label: 'a', score: 0.9 },
          { label: 'b', score: 0.1 },
        ],
        [{ label: 'a', score: 0.6 }],
      ],
      [
        [
          { label: 'a', score: 0.7 },
          { label: 'b', score: 0.3 },
        ],
        [{ label: 'b', score: 0.8 }],
      ],
    );
    expect(rows[0]).toEqual({ top1: true, scoreDiff: expect.closeTo(0.2, 10) });
    expect(rows[1]).toEqual({ top1: false, scoreDiff: 0.6 });
  });

  it('QA: exact match after normalisation, token F1, and no-answer agreement', () => {
    const ans = (answer: string) => [{ answer, score: 1, start: 0, end: answer.length }];
    const rows = compareQa([ans('The 5 business days.'), ans('in Paris'), [], ans('x')], [ans('5 business days'), ans('Paris France'), [], []]);
    expect(rows[0]).toEqual({ exactMatch: true, tokenF1: 1, noAnswer: true });
    expect(rows[1]!.exactMatch).toBe(false);
    expect(rows[1]!.tokenF1).toBeCloseTo(tokenF1('in Paris', 'Paris France'));
    expect(rows[1]!.tokenF1).toBeCloseTo(0.5);
    expect(rows[2]).toEqual({ exactMatch: true, tokenF1: 1, noAnswer: true });
    expect(rows[3]).toEqual({ exactMatch: false, tokenF1: 0, noAnswer: false });
  });
});

describe('rules', () => {
  const rules: RolloutRules = { min_requests: 10, min_agreement: 0.9, max_error_rate: 0.1, max_p99_ratio: 2, on_pass: 'promote', on_fail: 'abort' };
  const evidence = (candidateMs: number, errors: number, agree: number) => {
    const e = new EvidenceRecorder('p', 't', 1, 2, true);
    for (let i = 0; i < 10; i++) {
      e.active.observe(true, 10);
      e.candidate.observe(i >= errors, candidateMs);
    }
    e.addClassification(Array.from({ length: 10 }, (_, i) => ({ top1: i < agree, scoreDiff: 0 })));
    return e.snapshot();
  };

  it('decides nothing before min_requests, then passes only when every threshold holds', () => {
    const few = new EvidenceRecorder('p', 't', 1, 2, false);
    few.candidate.observe(true, 1);
    expect(judge(rules, few.snapshot())).toBeUndefined();
    expect(judge(rules, evidence(15, 0, 10))).toMatchObject({ passed: true });
    expect(judge(rules, evidence(15, 2, 10))).toMatchObject({ passed: false, reason: expect.stringMatching(/error rate 0.200 > 0.1/) });
    expect(judge(rules, evidence(15, 0, 8))).toMatchObject({ passed: false, reason: expect.stringMatching(/agreement 0.800/) });
    expect(judge(rules, evidence(25, 0, 10))).toMatchObject({ passed: false, reason: expect.stringMatching(/p99 25 ms = 2.50 x/) });
  });
});

describe('routing and the shadow dispatcher', () => {
  it('a routing key maps to one point per plan; points spread evenly over keys', () => {
    expect(routingPoint('plan-a', 'k1')).toBe(routingPoint('plan-a', 'k1'));
    expect(routingPoint('plan-a', 'k1')).not.toBe(routingPoint('plan-b', 'k1'));
    const below = Array.from({ length: 4000 }, (_, i) => routingPoint('plan', `key-${i}`)).filter((p) => p < 0.3).length;
    expect(below).toBeGreaterThan(1200 - 5 * 29);
    expect(below).toBeLessThan(1200 + 5 * 29);
  });

  it('holds replays while live work waits, runs one at a time, and drops beyond its capacity', async () => {
    let busy = true;
    let running = 0;
    let most = 0;
    const ran: number[] = [];
    const d = new ShadowDispatcher({ capacity: 3, liveBusy: () => busy, backoffMs: 1 });
    const job = (i: number) => async () => {
      running++;
      most = Math.max(most, running);
      await tick();
      ran.push(i);
      running--;
    };
    expect([1, 2, 3, 4].map((i) => d.offer(job(i)))).toEqual([true, true, true, false]);
    await new Promise((r) => setTimeout(r, 20));
    expect(ran).toEqual([]);
    busy = false;
    while (ran.length < 3) await new Promise((r) => setTimeout(r, 5));
    expect(ran).toEqual([1, 2, 3]);
    expect(most).toBe(1);
    expect(
      d.offer(async () => {
        throw new Error('a failing replay stays inside the dispatcher');
      }),
    ).toBe(true);
    await d.close();
    expect(d.offer(job(5))).toBe(false);
  });
});

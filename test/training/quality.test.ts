import { describe, expect, it } from 'vitest';
import { classificationScores, normalizeAnswer, squadScores } from '../../src/training/evaluation/task-metrics.js';
import { decideGate } from '../../src/training/quality-gate.js';

describe('classification scores', () => {
  it('computes accuracy and macro-F1 over the gold labels', () => {
    const s = classificationScores(['a', 'a', 'b', 'b'], ['a', 'b', 'b', 'b']);
    expect(s.accuracy).toBeCloseTo(0.75);
    // a: p=1 r=0.5 f1=2/3; b: p=2/3 r=1 f1=0.8
    expect(s.macro_f1).toBeCloseTo((2 / 3 + 0.8) / 2);
  });
});

describe('SQuAD scores', () => {
  it('normalises case, punctuation, articles and spaces', () => {
    expect(normalizeAnswer('The  Refund, policy!')).toBe('refund policy');
  });
  it('takes the best gold answer and scores unanswerable questions by an empty prediction', () => {
    const s = squadScores([['14 days', 'fourteen days'], [], []], ['within 14 days', '', 'something']);
    expect(s.exact_match).toBeCloseTo(1 / 3);
    expect(s.f1).toBeCloseTo((0.8 + 1 + 0) / 3);
  });
});

describe('quality gate', () => {
  const gate = { max_drop: 0.02, activate: true };
  it('activates a student within max_drop of the teacher', () => {
    const d = decideGate('classification', gate, { teacher: { accuracy: 0.9 }, student_int8: { accuracy: 0.885 } });
    expect(d).toMatchObject({ passed: true, activated: true });
  });
  it('refuses a student that dropped too far and says why', () => {
    const d = decideGate('qa', gate, { teacher: { f1: 0.8 }, student_int8: { f1: 0.7 } });
    expect(d.passed).toBe(false);
    expect(d.activated).toBe(false);
    expect(d.reason).toMatch(/drop 10\.00 points, allowed 2\.00/);
  });
  it('says which version stays active, or that there is none, when it refuses', () => {
    const metrics = { teacher: { accuracy: 0.9 }, student_int8: { accuracy: 0.5 } };
    expect(decideGate('classification', gate, metrics, { model: 'm', active: 3 }).reason).toMatch(/; version 3 stays active$/);
    const first = decideGate('classification', gate, metrics, { model: 'm', active: undefined }).reason;
    expect(first).toMatch(/m has no active version: it serves nothing until one is activated/);
    expect(first).not.toMatch(/unchanged|stays active/);
  });
  it('passes without activating when asked not to activate', () => {
    const d = decideGate('classification', { max_drop: 0.02, activate: false }, { teacher: { accuracy: 0.9 }, student_int8: { accuracy: 0.9 } });
    expect(d).toMatchObject({ passed: true, activated: false });
  });
});

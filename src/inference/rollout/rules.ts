/**
 * A plan's rules applied to its evidence. Nothing is decided before the candidate has
 * `min_requests` (requests it answered, for a canary; requests replayed on it, for a shadow);
 * then every threshold given must hold for a pass, and one that fails is a fail.
 */
import type { RolloutRules } from '../registry/types.js';
import type { PlanEvidence } from './evidence.js';

export interface Verdict {
  passed: boolean;
  /** Every check with its number and bound, e.g. "error rate 0.000 <= 0.010". */
  reason: string;
}

export function judge(rules: RolloutRules, evidence: PlanEvidence): Verdict | undefined {
  const { candidate, active, agreement } = evidence;
  if (candidate.requests < rules.min_requests) return undefined;
  const checks: Array<{ ok: boolean; text: string }> = [];
  if (rules.max_error_rate !== undefined) {
    checks.push({
      ok: candidate.error_rate <= rules.max_error_rate,
      text: `error rate ${candidate.error_rate.toFixed(3)} ${candidate.error_rate <= rules.max_error_rate ? '<=' : '>'} ${rules.max_error_rate}`,
    });
  }
  if (rules.min_agreement !== undefined) {
    const rate = agreement ? (agreement.top1_agreement ?? agreement.exact_match ?? 0) : 0;
    const ok = agreement !== undefined && agreement.compared > 0 && rate >= rules.min_agreement;
    checks.push({ ok, text: `agreement ${rate.toFixed(3)} over ${agreement?.compared ?? 0} inputs ${ok ? '>=' : '<'} ${rules.min_agreement}` });
  }
  if (rules.max_p99_ratio !== undefined && candidate.p99_ms !== null && active.p99_ms !== null && active.p99_ms > 0) {
    const ratio = candidate.p99_ms / active.p99_ms;
    checks.push({
      ok: ratio <= rules.max_p99_ratio,
      text: `p99 ${candidate.p99_ms} ms = ${ratio.toFixed(2)} x the active's ${active.p99_ms} ms ${ratio <= rules.max_p99_ratio ? '<=' : '>'} ${rules.max_p99_ratio}`,
    });
  }
  const passed = checks.every((c) => c.ok);
  const detail = checks.length > 0 ? checks.map((c) => c.text).join('; ') : 'no thresholds';
  return { passed, reason: `${passed ? 'rules passed' : 'rules failed'} after ${candidate.requests} candidate requests: ${detail}` };
}

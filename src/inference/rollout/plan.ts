/**
 * Roll-out plans as state.json holds them (types in registry/types.ts), and every change to
 * them as a pure function of the current state: start or replace a plan, end it, activate a
 * version. Each change appends an event to the bounded history, so the file alone tells who
 * started, promoted or aborted what, when, and on which evidence.
 */
import { randomUUID } from 'node:crypto';
import type { ModelState, RolloutEvent, RolloutPlan, RolloutRole, RolloutRules } from '../registry/types.js';

export const ROLLOUT_HISTORY_LIMIT = 200;
export const ROLLOUT_ROLES: readonly RolloutRole[] = ['canary', 'shadow'];

/** What an operator or a job asks for; the id and start are filled in here. */
export interface PlanRequest {
  version: number;
  /** Canary share, 0 < weight < 1. */
  weight?: number;
  /** Shadow share, 0 < sample <= 1. */
  sample?: number;
  rules?: RolloutRules;
}

export interface StateChange {
  state: ModelState;
  changed: boolean;
}

function appendEvent(state: ModelState, event: RolloutEvent): ModelState {
  const history = [...(state.history ?? []), event].slice(-ROLLOUT_HISTORY_LIMIT);
  return { ...state, history };
}

/** Rules compared by value: the key order a client (or state.json) happens to use is no difference. */
function sameRules(a: RolloutRules | undefined, b: RolloutRules | undefined): boolean {
  if (!a || !b) return a === b;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof RolloutRules)[]);
  return [...keys].every((key) => a[key] === b[key]);
}

function samePlan(plan: RolloutPlan, req: PlanRequest): boolean {
  return plan.version === req.version && plan.weight === req.weight && plan.sample === req.sample && sameRules(plan.rules, req.rules);
}

/** Start (or replace) the plan of `role`; an identical plan already running is no change. */
export function startPlan(state: ModelState, role: RolloutRole, req: PlanRequest, by: string, now = new Date()): StateChange {
  const current = state[role];
  if (current && samePlan(current, req)) return { state, changed: false };
  const at = now.toISOString();
  const plan: RolloutPlan = {
    id: randomUUID(),
    version: req.version,
    ...(req.weight !== undefined ? { weight: req.weight } : {}),
    ...(req.sample !== undefined ? { sample: req.sample } : {}),
    ...(req.rules ? { rules: req.rules } : {}),
    started_at: at,
    started_by: by,
  };
  let next: ModelState = { ...state, [role]: plan, updated_at: at };
  if (current) {
    next = appendEvent(next, { plan_id: current.id, role, version: current.version, action: 'replaced', by, at, reason: `replaced by plan ${plan.id}` });
  }
  next = appendEvent(next, { plan_id: plan.id, role, version: plan.version, action: 'started', by, at });
  return { state: next, changed: true };
}

export interface EndPlan {
  action: 'ended' | 'aborted';
  by: string;
  reason: string;
  evidence?: Record<string, unknown>;
  /** End only this plan id (a decision about a plan that has since been replaced changes nothing). */
  planId?: string;
}

/** End the plan of `role`; no plan (or another plan than `planId`) is no change. */
export function endPlan(state: ModelState, role: RolloutRole, end: EndPlan, now = new Date()): StateChange {
  const current = state[role];
  if (!current || (end.planId !== undefined && current.id !== end.planId)) return { state, changed: false };
  const at = now.toISOString();
  const { [role]: _ended, ...rest } = state;
  const next = appendEvent(
    { ...rest, updated_at: at },
    {
      plan_id: current.id,
      role,
      version: current.version,
      action: end.action,
      by: end.by,
      at,
      reason: end.reason,
      ...(end.evidence ? { evidence: end.evidence } : {}),
    },
  );
  return { state: next, changed: true };
}

export interface Activation {
  by: string;
  /** 'promoted' when a plan's rules made the candidate active; otherwise plans of the version end. */
  action?: 'ended' | 'promoted';
  reason?: string;
  evidence?: Record<string, unknown>;
}

/**
 * Make `version` active. A canary or shadow of that same version has done its job and ends (the
 * event says so); plans of other versions keep running. Activating the active version with no
 * plan of it is no change.
 */
export function activateVersion(state: ModelState | undefined, version: number, act: Activation, now = new Date()): StateChange {
  const at = now.toISOString();
  let next: ModelState = state ? { ...state } : { active: version, updated_at: at };
  let changed = !state || state.active !== version;
  next.active = version;
  for (const role of ROLLOUT_ROLES) {
    const plan = next[role];
    if (!plan || plan.version !== version) continue;
    const ended = endPlan(next, role, { action: 'ended', by: act.by, reason: act.reason ?? `version ${version} was activated` }, now);
    next = ended.state;
    if (act.action === 'promoted') {
      const last = next.history!.at(-1)!;
      last.action = 'promoted';
      if (act.evidence) last.evidence = act.evidence;
    }
    changed = true;
  }
  if (changed) next.updated_at = at;
  return { state: next, changed };
}

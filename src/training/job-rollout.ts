/**
 * A job whose gate passed, with gate.rollout: the new version becomes a canary or shadow of the
 * active version (state.json, like an admin's PUT) instead of active, and its rules decide on
 * live evidence. Every API replica picks the plan up from the registry (the job's "published"
 * event makes them look at once). A model with no active version has nothing to compare with,
 * so its first version is activated as usual.
 */
import { updateModelState, writeModelState } from '../inference/registry/publish.js';
import { startPlan } from '../inference/rollout/plan.js';
import type { JobSpec } from './job-spec.js';
import type { GateDecision } from './quality-gate.js';

export interface JobRolloutOptions {
  modelDir: string;
  model: string;
  version: number;
  jobId: string;
  /** The gate's decision (passed, activated). */
  gate: GateDecision;
  rollout: NonNullable<JobSpec['gate']['rollout']>;
}

/** Start the plan and return the gate decision that says so (activated: false, rollout set). */
export async function startJobRollout(opts: JobRolloutOptions): Promise<GateDecision> {
  const by = `job:${opts.jobId}`;
  const { rollout } = opts;
  const request = {
    version: opts.version,
    // resolve-spec checked that a canary has its weight and a shadow its sample.
    ...(rollout.mode === 'canary' ? { weight: rollout.weight! } : { sample: rollout.sample! }),
    ...(rollout.rules ? { rules: rollout.rules } : {}),
  };
  let planId: string | undefined;
  const written = await updateModelState(opts.modelDir, opts.model, (current) => {
    if (!current) return { state: { active: opts.version, updated_at: new Date().toISOString() }, changed: false };
    const change = startPlan(current, rollout.mode, request, by);
    planId = change.state[rollout.mode]?.id;
    return change;
  });
  if (!written.previous) {
    await writeModelState(opts.modelDir, opts.model, opts.version, { by });
    return { ...opts.gate, reason: `${opts.gate.reason}; the model had no active version, so no ${rollout.mode} was started` };
  }
  const share = rollout.mode === 'canary' ? `weight ${rollout.weight}` : `sample ${rollout.sample}`;
  const rules = rollout.rules ? `, rules ${JSON.stringify(rollout.rules)}` : ', no rules (an operator promotes or ends it)';
  return {
    ...opts.gate,
    activated: false,
    reason: `${opts.gate.reason.replace(/; activated$/, '')}; published as a ${rollout.mode} of version ${written.previous.active} (${share}${rules})`,
    rollout: { mode: rollout.mode, plan_id: planId! },
  };
}

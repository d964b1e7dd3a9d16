/**
 * The quality gate of a job: activate the new INT8 student only when it is within `max_drop` of
 * its teacher on the task's headline metric (accuracy for classification, F1 for QA).
 */
import type { ModelMetrics, Task } from '../inference/registry/types.js';
import type { JobSpec } from './job-spec.js';

export interface GateDecision {
  passed: boolean;
  activated: boolean;
  reason: string;
  /** The roll-out the version was published into instead of activation (gate.rollout). */
  rollout?: { mode: 'canary' | 'shadow'; plan_id: string };
}

export function headlineMetric(task: Task): 'accuracy' | 'f1' {
  return task === 'qa' ? 'f1' : 'accuracy';
}

/** What the registry serves now, so a refusal says what keeps serving. */
export interface CurrentVersion {
  model: string;
  /** The active version, undefined when the model has none (e.g. its first version failed). */
  active: number | undefined;
}

export function decideGate(task: Task, gate: JobSpec['gate'], metrics: Record<string, ModelMetrics>, current?: CurrentVersion): GateDecision {
  const key = headlineMetric(task);
  const served = metrics.student_int8 ?? metrics.student_fp32;
  const servedName = metrics.student_int8 ? 'INT8 student' : 'FP32 student';
  const teacher = metrics.teacher?.[key];
  const student = served?.[key];
  if (teacher === undefined || student === undefined) {
    return { passed: false, activated: false, reason: `no ${key} for the teacher or the student; not activated` };
  }
  const drop = teacher - student;
  const fmt = (v: number): string => (100 * v).toFixed(2);
  const passed = drop <= gate.max_drop + 1e-12;
  const comparison = `${servedName} ${key} ${fmt(student)} vs teacher ${fmt(teacher)} (drop ${fmt(drop)} points, allowed ${fmt(gate.max_drop)})`;
  if (!passed) return { passed, activated: false, reason: `gate failed: ${comparison}; ${keptServing(current)}` };
  if (!gate.activate) return { passed, activated: false, reason: `gate passed: ${comparison}; not activated (gate.activate is false)` };
  return { passed, activated: true, reason: `gate passed: ${comparison}; activated` };
}

function keptServing(current: CurrentVersion | undefined): string {
  if (!current) return 'not activated';
  if (current.active === undefined) {
    return `not activated, and ${current.model} has no active version: it serves nothing until one is activated (POST /v1/models/${current.model}/activate)`;
  }
  return `version ${current.active} stays active`;
}

/** What the job API says about a job: BullMQ's states folded into the five users care about. */
import type { ModelMetrics } from '../inference/registry/types.js';
import type { GateDecision } from '../training/quality-gate.js';
import type { JobSpec } from '../training/job-spec.js';

export const JOB_STATES = ['queued', 'active', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface JobProgress {
  stage: string;
  epoch?: number;
  step?: number;
  total?: number;
  losses?: Record<string, number>;
  steps_per_sec?: number;
  eta_s?: number;
}

export interface JobResult {
  model: string;
  version: number;
  metrics: Record<string, ModelMetrics>;
  gate: GateDecision;
}

export interface JobView {
  id: string;
  state: JobState;
  model: string;
  task: string;
  progress: JobProgress | null;
  result: JobResult | null;
  error: string | null;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** One point of the run's history, kept for the report: a progress sample or an eval. */
export type HistoryPoint =
  | { kind: 'progress'; t: number; stage: string; step: number; total: number; epoch: number; losses: Record<string, number> }
  | { kind: 'eval'; t: number; stage: string; step: number; role: string; metrics: Record<string, number> }
  | { kind: 'stage'; t: number; stage: string; status: string };

/**
 * Data stored with each BullMQ job: the spec as the API validated it (defaults filled). The worker
 * validates it again on its side of Redis before running it.
 */
export interface DistillJobData {
  spec: JobSpec;
  submitted_at: string;
}

export const CANCELLED_REASON = 'cancelled by request';

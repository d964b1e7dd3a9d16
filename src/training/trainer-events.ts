/**
 * The trainer's stdout protocol (docs/trainer-protocol.md) as TypeScript types, and the parser
 * that turns one line into one typed event.
 */

export type StageName = 'mlm_pretrain' | 'teacher_finetune' | 'general_distill' | 'augment' | 'task_distill' | 'qat' | 'export';

export interface StartEvent {
  type: 'start';
  job_id: string;
  device: string;
  precision: string;
  torch: string;
  resumed_from: { stage: string; step: number } | null;
}
export interface StageEvent {
  type: 'stage';
  stage: StageName;
  status: 'started' | 'skipped' | 'completed';
  reason?: string;
}
export interface ProgressEvent {
  type: 'progress';
  stage: StageName;
  epoch: number;
  step: number;
  total: number;
  losses: Record<string, number>;
  lr: number;
  steps_per_sec: number;
  eta_s: number;
  /** fp16 steps the GradScaler skipped so far in the stage (their loss overflowed); absent from older trainers. */
  skipped_steps?: number;
}
export interface EvalEvent {
  type: 'eval';
  stage: StageName;
  role: string;
  metrics: Record<string, number>;
  step: number;
}
export interface CheckpointEvent {
  type: 'checkpoint';
  stage: StageName;
  step: number;
  path: string;
}
export interface ArtifactEvent {
  type: 'artifact';
  name: string;
  path: string;
  bytes: number;
}
export interface StoppedEvent {
  type: 'stopped';
  checkpoint?: string;
}
export interface DoneEvent {
  type: 'done';
  output_dir: string;
  summary: Record<string, unknown>;
}
export interface ErrorEvent {
  type: 'error';
  code: 'invalid_input' | 'internal';
  message: string;
  file?: string;
  line?: number;
  tensor?: string;
}

export type TrainerEvent = StartEvent | StageEvent | ProgressEvent | EvalEvent | CheckpointEvent | ArtifactEvent | StoppedEvent | DoneEvent | ErrorEvent;

const TYPES = new Set<TrainerEvent['type']>(['start', 'stage', 'progress', 'eval', 'checkpoint', 'artifact', 'stopped', 'done', 'error']);

/** Parses one stdout line; anything that is not a protocol event (stray prints) returns null. */
export function parseTrainerLine(line: string): TrainerEvent | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && TYPES.has(type as TrainerEvent['type']) ? (value as TrainerEvent) : null;
}

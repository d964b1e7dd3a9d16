/**
 * The on-disk model registry, as every part of Distillery reads and writes it.
 *
 *   MODEL_DIR/<model>/state.json          which version is active, the roll-out plans
 *                                          (canary, shadow) and their history
 *   MODEL_DIR/<model>/<version>/          one immutable version (version = 1, 2, 3 ...)
 *       model.onnx                        what the server runs (INT8 QDQ for distilled students)
 *       tokenizer.json                    Hugging Face tokenizers format (BERT WordPiece)
 *       vocab.txt                         the same vocabulary, one token per line
 *       config.json                       ServingConfig (below)
 *       manifest.json                     Manifest (below): hashes, lineage, metrics
 *       checkpoint/                       optional: Hugging Face checkpoint of the FP32 student
 *                                          (config.json, vocab.txt, tokenizer.json,
 *                                          model.safetensors) so it can teach or be fine-tuned
 *
 * A version folder is written under a temporary name and renamed into place, so a reader sees a
 * version whole or not at all. state.json is replaced by rename as well.
 */

export type Task = 'classification' | 'qa';

/** Names a model may have: also a directory name, so no path tricks. */
export const MODEL_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}[a-z0-9]$|^[a-z0-9]$';
export const MODEL_NAME_RE = new RegExp(MODEL_NAME_PATTERN);

/** config.json of a version: what the server needs to pre- and post-process for this model. */
export interface ServingConfig {
  task: Task;
  /** Classification only: label names in logit order. */
  labels?: string[];
  /** Longest sequence (special tokens included) the model was trained for. */
  max_length: number;
  /** QA only: overlap between windows of a long context, in tokens. */
  doc_stride?: number;
  /** QA only: questions are truncated to this many tokens. */
  max_query_length?: number;
  do_lower_case: boolean;
  /** ONNX input names, always input_ids, attention_mask, token_type_ids (int64, [batch, seq]). */
  inputs: string[];
  /** ONNX output names: ["logits"] or ["start_logits", "end_logits"]. */
  outputs: string[];
  /** "int8" for a QDQ-quantized graph, "fp32" otherwise. */
  precision: 'int8' | 'fp32';
}

export interface ModelMetrics {
  accuracy?: number;
  macro_f1?: number;
  exact_match?: number;
  f1?: number;
  /** Size of the ONNX file in bytes. */
  file_bytes?: number;
  parameters?: number;
  /** Median CPU latency (ONNX Runtime, batch 1, 128 tokens) in milliseconds. */
  latency_ms_b1_128?: number;
}

export interface Manifest {
  model: string;
  version: number;
  task: Task;
  created_at: string;
  /** sha256 (hex) of every file in the version folder except manifest.json, by relative path. */
  files: Record<string, string>;
  lineage: {
    job_id: string;
    teacher: string;
    /** sha256 of each data file used (train, eval, unlabeled), by role. */
    datasets: Record<string, string>;
    hyperparameters: Record<string, unknown>;
    /** Free-form provenance, e.g. the data generator's seed and hash for bundled models. */
    notes?: Record<string, unknown>;
  };
  shapes: Record<string, unknown>;
  /**
   * Metrics by model role: teacher, student_fp32, student_int8, and student_ptq_int8 (the
   * post-training INT8 baseline, not published) when model.onnx is the QAT student.
   */
  metrics: Record<string, ModelMetrics>;
  /** How the published student was chosen and quantized, from the trainer's training.json. */
  training?: TrainingRecord;
  /** Quality gate outcome, when the job had one. */
  gate?: { passed: boolean; activated: boolean; reason: string };
}

/** The task_distill evaluation whose weights were exported, and the last one's beside it. */
export interface BestCheckpointRecord {
  /** accuracy (classification) or f1 (QA), as the trainer measures it while training. */
  metric: string;
  best_step: number | null;
  best: number | null;
  last_step: number | null;
  last: number | null;
  evaluations: number;
  early_stopping_patience: number | null;
  /** The step early stopping ended the stage at; null when it ran to the end. */
  early_stopped_at: number | null;
}

export interface TrainingRecord {
  /** Absent when task_distill did not run. */
  best_checkpoint?: BestCheckpointRecord | null;
  /** qat, or ptq (post-training static INT8) when QAT was disabled. */
  int8_method?: 'qat' | 'ptq';
  /** The student's resolved shape and start: the job spec's "auto" fields chosen from the teacher. */
  student?: {
    layers: number;
    hidden: number;
    heads: number;
    intermediate: number;
    ffn_rank: number | null;
    /** The fields that were "auto" in the job spec. */
    auto: string[];
    init: { kind: 'random' | 'teacher' | 'checkpoint'; path: string | null };
  };
  /** task_distill's learning rate as used ("auto" resolved). */
  task_distill_lr?: number;
}

/** state.json of a model. */
export interface ModelState {
  active: number;
  updated_at: string;
  /** A share of the unpinned requests answered by another version. */
  canary?: RolloutPlan;
  /** A share of the active version's requests also run on another version and compared. */
  shadow?: RolloutPlan;
  /** Roll-out events, oldest first (at most ROLLOUT_HISTORY_LIMIT kept). */
  history?: RolloutEvent[];
}

export type RolloutRole = 'canary' | 'shadow';

/**
 * When a plan decides by itself. Once the candidate has `min_requests` (canary: requests it
 * answered; shadow: requests compared with the active version), every threshold given is
 * checked against the evidence since the plan started: all hold -> `on_pass`, any fails ->
 * `on_fail`. The decision is made once per plan, by one replica.
 */
export interface RolloutRules {
  min_requests: number;
  /** Shadow only: top-1 agreement (classification) or exact-match agreement (QA), 0..1. */
  min_agreement?: number;
  /** Errors / requests of the candidate, 0..1. */
  max_error_rate?: number;
  /** The candidate's p99 latency divided by the active version's, since the plan started. */
  max_p99_ratio?: number;
  on_pass: 'promote' | 'none';
  on_fail: 'abort' | 'none';
}

export interface RolloutPlan {
  /** New for every change of the plan; evidence and decisions belong to one id. */
  id: string;
  version: number;
  /** Canary: share of unpinned requests, 0 < weight < 1. */
  weight?: number;
  /** Shadow: share of the active version's requests run on the candidate too, 0 < sample <= 1. */
  sample?: number;
  rules?: RolloutRules;
  started_at: string;
  /** admin (an API key's role), job:<id>, or rules. */
  started_by: string;
}

export interface RolloutEvent {
  plan_id: string;
  role: RolloutRole;
  version: number;
  action: 'started' | 'replaced' | 'ended' | 'promoted' | 'aborted';
  by: string;
  at: string;
  reason?: string;
  /** The plan's evidence when the event happened (decisions and operator ends on this replica). */
  evidence?: Record<string, unknown>;
}

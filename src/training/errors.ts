/**
 * Errors of the training layer. `retryable` separates what a retry can fix (a crashed or killed
 * trainer resumes from its checkpoint) from what it cannot (bad spec, bad data): BullMQ's
 * UnrecoverableError is chosen from it, and the HTTP layer maps `code` to a status.
 */

export interface SpecIssue {
  /** JSON pointer into the spec, e.g. /student/heads */
  path: string;
  message: string;
}

/**
 * Every code a training error can carry. Only invalid_spec reaches HTTP (POST /v1/jobs); the
 * others end a job and are written into its error, yet the status table names them all.
 */
export type TrainingErrorCode = 'invalid_spec' | 'invalid_training_data' | 'trainer_failed' | 'stopped' | 'timeout';

export abstract class TrainingError extends Error {
  abstract readonly code: TrainingErrorCode;
  abstract readonly retryable: boolean;
}

/** The job spec is invalid: unknown field, path outside DATA_DIR, missing file, impossible shape. */
export class JobSpecError extends TrainingError {
  override name = 'JobSpecError';
  readonly code = 'invalid_spec';
  readonly retryable = false;
  constructor(readonly issues: SpecIssue[]) {
    super(`invalid job spec: ${issues.map((i) => `${i.path || '/'}: ${i.message}`).join('; ')}`);
  }
}

/** The trainer refused its input (exit 2): the message names the file and line or tensor. */
export class TrainerInputError extends TrainingError {
  override name = 'TrainerInputError';
  readonly code = 'invalid_training_data';
  readonly retryable = false;
  /** `message` is the trainer's own; the file and line (or tensor) are appended, as the CLI shows them. */
  constructor(
    message: string,
    readonly where: InputLocation = {},
  ) {
    super(`${message}${describeLocation(where)}`);
  }
}

/** Where the trainer found bad input: a data file and 1-based line, or a tensor name. */
export interface InputLocation {
  file?: string;
  line?: number;
  tensor?: string;
}

/** " (train.jsonl:3)", " (tensor x)", or "" when nothing is known. */
export function describeLocation(where: InputLocation): string {
  const file = where.file ? ` (${where.file}${where.line ? `:${where.line}` : ''})` : '';
  return `${file}${where.tensor ? ` (tensor ${where.tensor})` : ''}`;
}

/** The trainer crashed or failed internally (exit 1, signal, or no done event): worth a retry. */
export class TrainerFailedError extends TrainingError {
  override name = 'TrainerFailedError';
  readonly code = 'trainer_failed';
  readonly retryable = true;
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
  ) {
    super(message);
  }
}

/** The trainer was stopped (cancel or shutdown) after saving a checkpoint (exit 3). */
export class TrainerStoppedError extends TrainingError {
  override name = 'TrainerStoppedError';
  readonly code = 'stopped';
  readonly retryable = true;
  constructor(readonly checkpoint: string | undefined) {
    super(`trainer stopped${checkpoint ? `; checkpoint saved at ${checkpoint}` : ''}`);
  }
}

/** The trainer ran past the configured limit and was stopped. */
export class TrainerTimeoutError extends TrainingError {
  override name = 'TrainerTimeoutError';
  readonly code = 'timeout';
  readonly retryable = false;
  constructor(readonly timeoutS: number) {
    super(`trainer ran longer than ${timeoutS} s (TRAINER_TIMEOUT_S) and was stopped`);
  }
}

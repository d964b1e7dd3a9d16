/**
 * Errors of the inference layer: one class per failure kind, each with a stable `code` that the
 * HTTP layer maps to a status in a single table. `retryable` says whether the same request may
 * succeed later (capacity, loading) or never will (bad input, unknown model).
 */
/** Every code an inference error can carry; the HTTP status table must name each one. */
export type InferenceErrorCode =
  | 'model_not_found'
  | 'version_not_found'
  | 'model_not_ready'
  | 'no_active_version'
  | 'queue_full'
  | 'deadline_exceeded'
  | 'request_aborted'
  | 'model_load_failed'
  | 'invalid_input'
  | 'invalid_rollout'
  | 'inference_failed'
  | 'engine_closed';

export abstract class InferenceError extends Error {
  abstract readonly code: InferenceErrorCode;
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ModelNotFoundError extends InferenceError {
  readonly code = 'model_not_found';
  readonly retryable = false;
  constructor(readonly model: string) {
    super(`model ${JSON.stringify(model)} does not exist`);
  }
}

export class VersionNotFoundError extends InferenceError {
  readonly code = 'version_not_found';
  readonly retryable = false;
  constructor(
    readonly model: string,
    readonly version: number,
  ) {
    super(`model ${JSON.stringify(model)} has no version ${version}`);
  }
}

/** The model exists but no version of it is loaded yet (start-up, or every load failed). */
export class ModelNotReadyError extends InferenceError {
  readonly code = 'model_not_ready';
  readonly retryable = true;
  constructor(
    readonly model: string,
    detail = 'is not loaded yet',
    readonly retryAfterSeconds = 5,
  ) {
    super(`model ${JSON.stringify(model)} ${detail}`);
  }
}

/**
 * The model exists but has no active version (no state.json: e.g. its only version failed its
 * quality gate). Waiting does not help; activating a version or pinning one does.
 */
export class NoActiveVersionError extends InferenceError {
  readonly code = 'no_active_version';
  readonly retryable = false;
  constructor(
    readonly model: string,
    readonly versions: readonly number[],
  ) {
    super(
      versions.length
        ? `model ${JSON.stringify(model)} has no active version; activate one of its versions (${versions.join(', ')}) with POST /v1/models/${model}/activate, or pin one with "version"`
        : `model ${JSON.stringify(model)} has no versions yet`,
    );
  }
}

/** Admission control: too many rows waiting; refused before any work. */
export class QueueFullError extends InferenceError {
  readonly code = 'queue_full';
  readonly retryable = true;
  constructor(
    readonly model: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`the queue for ${JSON.stringify(model)} is full; retry in ${retryAfterSeconds}s`);
  }
}

export class DeadlineExceededError extends InferenceError {
  readonly code = 'deadline_exceeded';
  readonly retryable = true;
  constructor(readonly deadlineMs: number) {
    super(`the request did not finish within its deadline of ${deadlineMs} ms`);
  }
}

/** The caller went away (its AbortSignal fired); nothing is answered. */
export class RequestAbortedError extends InferenceError {
  readonly code = 'request_aborted';
  readonly retryable = false;
  constructor() {
    super('the request was aborted by the caller');
  }
}

/** A version could not be loaded: bad files, hash mismatch, bad graph, failed warm-up. */
export class ModelLoadError extends InferenceError {
  readonly code = 'model_load_failed';
  readonly retryable = false;
  constructor(
    readonly model: string,
    readonly version: number | undefined,
    readonly stage: LoadStage,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot load ${model}${version === undefined ? '' : `@${version}`} (${stage}): ${message}`, options);
  }
}

export type LoadStage = 'read' | 'verify' | 'tokenizer' | 'session' | 'warmup';

/** The request itself is wrong (empty inputs, wrong task, limits); never worth retrying. */
export class InvalidInputError extends InferenceError {
  readonly code = 'invalid_input';
  readonly retryable = false;
}

/**
 * A text of which the tokenizer keeps nothing: BERT's normaliser drops control and format
 * characters, U+FFFD and lone combining marks, so such a text passes the schema's "something to
 * read" pattern and still reaches the model as [CLS] [SEP], which answers it with confidence.
 * `what` names the field, e.g. "input 2" or "question 0".
 */
export function unreadableTextError(what: string): InvalidInputError {
  return new InvalidInputError(
    `the model's tokenizer keeps nothing of ${what} (it drops control and format characters, lone accents, U+FFFD and the like), so the model would see no text; send some text`,
  );
}

/**
 * A canary or shadow plan that cannot run against the model as it is: no active version, the
 * candidate is the active version, another task, or a rule that needs a shadow on a canary.
 */
export class InvalidRolloutError extends InferenceError {
  readonly code = 'invalid_rollout';
  readonly retryable = false;
}

/** The backend failed while running a batch (ONNX Runtime error). */
export class InferenceFailedError extends InferenceError {
  readonly code = 'inference_failed';
  readonly retryable = true;
}

/** The engine (or the model version) is shutting down and takes no new work. */
export class EngineClosedError extends InferenceError {
  readonly code = 'engine_closed';
  readonly retryable = true;
  constructor(message = 'the inference engine is closing') {
    super(message);
  }
}

/** Errors of the job layer; the server maps `code` to an HTTP status in its one table. */

/** Every code a job-layer error can carry; the HTTP status table must name each one. */
export type QueueErrorCode = 'job_not_found' | 'jobs_unavailable' | 'job_state_conflict';

export abstract class QueueError extends Error {
  abstract readonly code: QueueErrorCode;
}

export class JobNotFoundError extends QueueError {
  override name = 'JobNotFoundError';
  readonly code = 'job_not_found';
  constructor(readonly jobId: string) {
    super(`no job ${jobId}`);
  }
}

/** Redis is unreachable: the job routes are unavailable until it is back (503). */
export class JobsUnavailableError extends QueueError {
  override name = 'JobsUnavailableError';
  readonly code = 'jobs_unavailable';
  readonly retryAfterSeconds = 5;
  constructor(detail?: string) {
    super(`the job queue is unavailable: Redis cannot be reached${detail ? ` (${detail})` : ''}; inference still works, retry job requests later`);
  }
}

/** The job is in a state that does not allow the request (e.g. cancelling a completed job). */
export class JobStateError extends QueueError {
  override name = 'JobStateError';
  readonly code = 'job_state_conflict';
}

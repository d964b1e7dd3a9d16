/**
 * The one table from error kind to HTTP status. Its keys are every code of every layer's errors
 * (typed unions: a new code that is not here fails to compile, so a typo can never become a
 * silent 500) plus the kinds only HTTP knows (Fastify's own refusals, a missing route, the
 * readiness probe). The error handler answers from it, the OpenAPI document's error responses are
 * generated from it (description and one example per kind), and so is the README's status table
 * (a test keeps README.md in step).
 */
import type { InferenceErrorCode } from '../inference/errors.js';
import type { QueueErrorCode } from '../queue/errors.js';
import type { TrainingErrorCode } from '../training/errors.js';
import type { ServerErrorCode } from './problems.js';

/** Kinds raised by no layer's error class: Fastify's refusals, unknown routes, readiness. */
type HttpOnlyKind =
  | 'bad_request'
  | 'request_timeout'
  | 'route_not_found'
  | 'method_not_allowed'
  | 'body_too_large'
  | 'uri_too_long'
  | 'headers_too_large'
  | 'unsupported_media_type'
  | 'internal'
  | 'not_ready';

export type ErrorKind = InferenceErrorCode | QueueErrorCode | TrainingErrorCode | ServerErrorCode | HttpOnlyKind;

export interface KindEntry {
  status: number;
  title: string;
  /** When a client sees it, in one line (OpenAPI and README). */
  when: string;
  /** A typical detail, for the OpenAPI examples. */
  example: string;
  /** Send the error's own message as detail. False for 5xx of ours: internals go to the log only. */
  expose: boolean;
  /** Seconds for Retry-After when the error does not say (errors may carry retryAfterSeconds). */
  retryAfter?: number;
  /** Never answered over HTTP (a job's own failure, written into the job instead). */
  jobOnly?: boolean;
}

/** Nginx's "client closed request": logged and counted, never seen by anyone. */
export const CLIENT_CLOSED_REQUEST = 499;

const jobFailure = (title: string, when: string): KindEntry => ({ status: 500, title, when, example: when, expose: false, jobOnly: true });

export const KINDS: { readonly [K in ErrorKind]: KindEntry } = {
  validation: {
    status: 400,
    title: 'Invalid request',
    expose: true,
    when: 'a field, query parameter or header does not fit the schema; `errors` names it (the first one found: fix it and send again)',
    example: 'body/inputs has more than 64 items; send at most 64 (server setting MAX_INPUTS_PER_REQUEST)',
  },
  invalid_input: {
    status: 400,
    title: 'Invalid input',
    expose: true,
    when: 'the input does not suit the model: a model of the other task, a text its tokenizer keeps nothing of, a context needing more than MAX_QA_WINDOWS windows, a pinned version while MAX_PINNED_VERSIONS=0, activating a version of the other task',
    example: 'model support-qa is a qa model; send it to /v1/qa instead',
  },
  invalid_rollout: {
    status: 400,
    title: 'Invalid roll-out plan',
    expose: true,
    when: 'a canary or shadow plan that cannot run: no active version, the candidate is the active version or does another task, a rule only a shadow can check',
    example: 'version 1 is already active; a canary needs another version',
  },
  invalid_spec: {
    status: 400,
    title: 'Invalid job spec',
    expose: true,
    when: 'the job spec is wrong; `errors` lists the problems of its fields, or once they are right those of its files, shapes and target model; nothing is queued',
    example: 'invalid job spec: /task: must be one of "classification", "qa"; /data/train: train.jsonl does not exist in DATA_DIR',
  },
  bad_request: {
    status: 400,
    title: 'Bad request',
    expose: true,
    when: 'the request cannot be read (a wrong content-length, a path that is not valid percent-encoding, not HTTP at all)',
    example: 'Request body size did not match Content-Length',
  },
  forbidden_key: {
    status: 400,
    title: 'Forbidden key in the body',
    expose: true,
    when: 'the body holds a `__proto__` or `constructor.prototype` key (prototype poisoning)',
    example: 'the body may not hold a "__proto__" key (found at body/__proto__): it could alter object prototypes; rename or remove it',
  },
  invalid_json_body: {
    status: 400,
    title: 'Malformed JSON',
    expose: true,
    when: 'the body is not valid JSON, or its bytes are not UTF-8',
    example: 'the body is not valid JSON (Unexpected end of JSON input); send a JSON document',
  },
  unauthorized: {
    status: 401,
    title: 'Unauthorized',
    expose: true,
    when: 'no API key, or one the server does not know; send `Authorization: Bearer <key>`',
    example: 'this route needs an API key: send Authorization: Bearer <key> with a key from API_KEYS',
  },
  forbidden: {
    status: 403,
    title: 'Forbidden',
    expose: true,
    when: 'the key may not use this route (an inference key on an admin route, or ADMIN_API_KEYS unset)',
    example: 'this key may only call inference routes; use a key from ADMIN_API_KEYS',
  },
  model_not_found: { status: 404, title: 'Model not found', expose: true, when: 'no such model', example: 'model "support-intnet" does not exist' },
  version_not_found: {
    status: 404,
    title: 'Version not found',
    expose: true,
    when: 'the model has no such version',
    example: 'model "support-intent" has no version 9',
  },
  job_not_found: { status: 404, title: 'Job not found', expose: true, when: 'no such job', example: 'no job 3f1c0a52-5d1e-4c35-9a7b-0d0f3b1b2c44' },
  route_not_found: { status: 404, title: 'Not found', expose: true, when: 'no such route', example: 'no route GET /v1/clasify; see /docs for the API' },
  method_not_allowed: {
    status: 405,
    title: 'Method not allowed',
    expose: true,
    when: 'the path exists under other methods; the Allow header lists them',
    example: '/v1/classify takes POST, not GET; see /docs for the API',
  },
  request_timeout: {
    status: 408,
    title: 'Request timeout',
    expose: true,
    when: 'the request did not arrive in full within REQUEST_TIMEOUT_MS; send it again',
    example: 'the request did not arrive in full in time; send it again',
  },
  job_state_conflict: {
    status: 409,
    title: 'Conflict with the job state',
    expose: true,
    when: 'the job has ended (completed, failed or cancelled) and cannot be cancelled',
    example: 'job 3f1c0a52-5d1e-4c35-9a7b-0d0f3b1b2c44 is already completed; only queued or active jobs can be cancelled',
  },
  no_active_version: {
    status: 409,
    title: 'No active version',
    expose: true,
    when: 'the model has versions but none is active (e.g. its only version failed its quality gate); activate one, or pin one with `version`',
    example:
      'model "support-intent" has no active version; activate one of its versions (1) with POST /v1/models/support-intent/activate, or pin one with "version"',
  },
  body_too_large: {
    status: 413,
    title: 'Request body too large',
    expose: true,
    when: 'the body is larger than BODY_LIMIT_BYTES',
    example: 'the request body is larger than 1048576 bytes (server setting BODY_LIMIT_BYTES); send fewer or shorter inputs',
  },
  uri_too_long: {
    status: 414,
    title: 'URI too long',
    expose: true,
    when: 'a path parameter is longer than 100 characters (no model name or job id is)',
    example: 'a path parameter of /v1/models/xxxx… is longer than 100 characters; no model name or job id is that long',
  },
  headers_too_large: {
    status: 431,
    title: 'Request headers too large',
    expose: true,
    when: 'the request headers are larger than 16 KiB in all (e.g. a very long x-routing-key)',
    example: 'the request headers are larger than 16384 bytes in all; shorten them (x-routing-key takes at most 256 characters)',
  },
  unsupported_media_type: {
    status: 415,
    title: 'Unsupported media type',
    expose: true,
    when: 'the body is not sent as application/json',
    example: 'content-type "text/plain" is not supported; send application/json',
  },
  unsupported_charset: {
    status: 415,
    title: 'Unsupported charset',
    expose: true,
    when: 'the content-type names a charset other than UTF-8 (JSON is UTF-8, RFC 8259)',
    example: 'the body is declared as charset=iso-8859-1; JSON must be UTF-8 (RFC 8259): encode it as UTF-8 and send charset=utf-8 or no charset',
  },
  unsupported_content_encoding: {
    status: 415,
    title: 'Unsupported content encoding',
    expose: true,
    when: 'the body is sent with a Content-Encoding (gzip, br, ...): the API reads it uncompressed only',
    example: 'the body is sent with content-encoding gzip, which this API does not decode; send it uncompressed (no Content-Encoding header)',
  },
  model_load_failed: {
    status: 422,
    title: 'Version cannot be loaded',
    expose: true,
    when: 'the version exists but cannot be loaded (bad files, hash mismatch); the active version keeps serving',
    example: 'cannot load support-intent@3 (verify): sha256 of model.onnx does not match the manifest',
  },
  queue_full: {
    status: 429,
    title: 'Too many requests',
    expose: true,
    retryAfter: 1,
    when: 'too many rows queued for the model (MAX_QUEUED_ROWS); retry after Retry-After seconds',
    example: 'the queue for "support-intent" is full; retry in 1s',
  },
  request_aborted: {
    status: CLIENT_CLOSED_REQUEST,
    title: 'Client closed request',
    expose: false,
    when: 'the client hung up; logged and counted, never answered',
    example: 'the request was aborted by the caller',
  },
  internal: {
    status: 500,
    title: 'Internal error',
    expose: false,
    when: 'a fault of the server; the details are in its log under the request id',
    example: 'internal error; quote 0f8e4a0c-1c1b-4f5e-8d8e-6b0a3c2d1e0f when reporting it',
  },
  inference_failed: {
    status: 500,
    title: 'Inference failed',
    expose: false,
    when: 'ONNX Runtime failed on a batch; the details are in the log',
    example: 'inference failed; quote 0f8e4a0c-1c1b-4f5e-8d8e-6b0a3c2d1e0f when reporting it',
  },
  model_not_ready: {
    status: 503,
    title: 'Model not ready',
    expose: true,
    retryAfter: 5,
    when: 'the model is still loading; retry after Retry-After seconds',
    example: 'model "support-intent" is not loaded yet',
  },
  not_ready: {
    status: 503,
    title: 'Not ready',
    expose: true,
    retryAfter: 5,
    when: 'readiness: a model is still loading or failed',
    example: 'not ready: support-intent is loading',
  },
  engine_closed: {
    status: 503,
    title: 'Shutting down',
    expose: true,
    retryAfter: 5,
    when: 'the server is shutting down; retry on another replica',
    example: 'the inference engine is closing',
  },
  jobs_unavailable: {
    status: 503,
    title: 'Job queue unavailable',
    expose: true,
    retryAfter: 5,
    when: 'Redis cannot be reached; inference still works, retry job requests later',
    example: 'the job queue is unavailable: Redis cannot be reached (status reconnecting); inference still works, retry job requests later',
  },
  deadline_exceeded: {
    status: 504,
    title: 'Deadline exceeded',
    expose: true,
    when: 'the request deadline (x-request-deadline-ms or REQUEST_DEADLINE_MS) passed before the work finished',
    example: 'the request did not finish within its deadline of 2000 ms',
  },
  invalid_training_data: jobFailure('Invalid training data', 'the trainer refused a data file; the job error names the file and line'),
  trainer_failed: jobFailure('Trainer failed', 'the trainer crashed; the job is retried from its checkpoint'),
  stopped: jobFailure('Trainer stopped', 'the trainer was stopped after a checkpoint (cancel or shutdown)'),
  timeout: jobFailure('Trainer timed out', 'the trainer ran past TRAINER_TIMEOUT_S'),
};

/** True when `code` names a kind of the table. */
export function isErrorKind(code: string): code is ErrorKind {
  return Object.hasOwn(KINDS, code);
}

/** The problem type URI of a kind, e.g. urn:distillery:problem:queue-full. */
export function problemType(kind: ErrorKind): string {
  return `urn:distillery:problem:${kind.replaceAll('_', '-')}`;
}

/** The kinds a client can be answered with, by status (the README's table is this, rendered). */
export function kindsByStatus(): Map<number, ErrorKind[]> {
  const out = new Map<number, ErrorKind[]>();
  for (const kind of Object.keys(KINDS) as ErrorKind[]) {
    const entry = KINDS[kind];
    if (entry.jobOnly || entry.status === CLIENT_CLOSED_REQUEST) continue;
    out.set(entry.status, [...(out.get(entry.status) ?? []), kind]);
  }
  return new Map([...out].sort(([a], [b]) => a - b));
}

/** The README's status table (markdown), generated from KINDS. */
export function statusTableMarkdown(): string {
  const rows = ['| status | problem type | when |', '|---|---|---|'];
  for (const [status, kinds] of kindsByStatus()) {
    for (const kind of kinds) rows.push(`| ${status} | \`${kind.replaceAll('_', '-')}\` | ${KINDS[kind].when} |`);
  }
  return rows.join('\n');
}

const TABLE_START = '<!-- status-table:start -->';
const TABLE_END = '<!-- status-table:end -->';

/** `markdown` with the generated status table between its markers (README.md). */
export function withStatusTable(markdown: string): string {
  const start = markdown.indexOf(TABLE_START);
  const end = markdown.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`the document has no ${TABLE_START} ... ${TABLE_END} markers`);
  return `${markdown.slice(0, start + TABLE_START.length)}\n${statusTableMarkdown()}\n${markdown.slice(end)}`;
}

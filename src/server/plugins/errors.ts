/**
 * The one table from error kind to HTTP status, and the handler that answers every error as
 * application/problem+json. Engine errors are keyed by their stable `code`, server errors by
 * theirs, Fastify's own errors by FST_* code; anything unknown is a 500 whose details stay in the
 * log.
 */
import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE } from '../schemas/common.js';
import { RequestValidationError, type FieldError } from '../problems.js';
import { fieldErrors } from '../validation.js';
import { JobSpecError } from '../../training/errors.js';

interface Kind {
  status: number;
  title: string;
  /** Send the error's own message as detail. False for 5xx: internals go to the log only. */
  expose: boolean;
  /** Seconds for Retry-After when the error does not say (errors may carry retryAfterSeconds). */
  retryAfter?: number;
}

/** Nginx's "client closed request": logged and counted, never seen by anyone. */
export const CLIENT_CLOSED_REQUEST = 499;

const KINDS = {
  validation: { status: 400, title: 'Invalid request', expose: true },
  invalid_input: { status: 400, title: 'Invalid input', expose: true },
  invalid_spec: { status: 400, title: 'Invalid job spec', expose: true },
  bad_request: { status: 400, title: 'Bad request', expose: true },
  unauthorized: { status: 401, title: 'Unauthorized', expose: true },
  forbidden: { status: 403, title: 'Forbidden', expose: true },
  model_not_found: { status: 404, title: 'Model not found', expose: true },
  version_not_found: { status: 404, title: 'Version not found', expose: true },
  job_not_found: { status: 404, title: 'Job not found', expose: true },
  route_not_found: { status: 404, title: 'Not found', expose: true },
  method_not_allowed: { status: 405, title: 'Method not allowed', expose: true },
  job_state_conflict: { status: 409, title: 'Conflict with the job state', expose: true },
  body_too_large: { status: 413, title: 'Request body too large', expose: true },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', expose: true },
  model_load_failed: { status: 422, title: 'Version cannot be loaded', expose: true },
  queue_full: { status: 429, title: 'Too many requests', expose: true, retryAfter: 1 },
  request_aborted: { status: CLIENT_CLOSED_REQUEST, title: 'Client closed request', expose: false },
  internal: { status: 500, title: 'Internal error', expose: false },
  inference_failed: { status: 500, title: 'Inference failed', expose: false },
  model_not_ready: { status: 503, title: 'Model not ready', expose: true, retryAfter: 5 },
  not_ready: { status: 503, title: 'Not ready', expose: true, retryAfter: 5 },
  engine_closed: { status: 503, title: 'Shutting down', expose: true, retryAfter: 5 },
  jobs_unavailable: { status: 503, title: 'Job queue unavailable', expose: true, retryAfter: 5 },
  deadline_exceeded: { status: 504, title: 'Deadline exceeded', expose: true },
} satisfies Record<string, Kind>;

export type ErrorKind = keyof typeof KINDS;

/** Fastify's own client errors, by code. */
const FASTIFY_CODES: Record<string, ErrorKind> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
};

/** Details that help more than Fastify's default text. */
const FRIENDLIER_DETAIL: Partial<Record<ErrorKind, (req: FastifyRequest, limit: number) => string>> = {
  body_too_large: (_req, limit) => `the request body is larger than ${limit} bytes (server setting BODY_LIMIT_BYTES); send fewer or shorter inputs`,
  unsupported_media_type: (req) => `content-type ${JSON.stringify(req.headers['content-type'] ?? '')} is not supported; send application/json`,
};

export function kindOf(error: unknown): ErrorKind {
  const err = error as Partial<FastifyError> & { code?: unknown };
  if (err.validation) return 'validation';
  if (typeof err.code === 'string') {
    if (err.code in KINDS) return err.code as ErrorKind;
    const fastifyKind = FASTIFY_CODES[err.code];
    if (fastifyKind) return fastifyKind;
  }
  // Any other error Fastify marked as the client's fault (malformed request line, etc.).
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return 'bad_request';
  return 'internal';
}

export function statusOf(kind: ErrorKind): number {
  return KINDS[kind].status;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
}

export function problemFor(kind: ErrorKind, detail: string, request: FastifyRequest, errors?: FieldError[]): Problem {
  const { status, title } = KINDS[kind];
  return {
    type: `urn:distillery:problem:${kind.replaceAll('_', '-')}`,
    title,
    status,
    detail,
    instance: request.id,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

export function sendProblem(reply: FastifyReply, problem: Problem, retryAfterSeconds?: number): FastifyReply {
  if (retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterSeconds))));
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

export interface ErrorsPluginOptions {
  bodyLimitBytes: number;
}

async function errorsPlugin(app: FastifyInstance, opts: ErrorsPluginOptions): Promise<void> {
  app.setErrorHandler(async (error, request, reply) => {
    const kind = kindOf(error);
    const def: Kind = KINDS[kind];
    const err = error as FastifyError;

    if (def.status === CLIENT_CLOSED_REQUEST) {
      // Nobody is listening any more; record it for logs and metrics only.
      request.log.info({ code: err.code }, 'client closed the request before it was answered');
      return reply.code(CLIENT_CLOSED_REQUEST).send();
    }
    if (!def.expose) {
      // A fault of ours: the full error and stack go to the log, the client gets the request id.
      request.log.error({ err }, 'request failed');
    } else if (def.status >= 500) {
      // Expected under load or during swaps (503, 504): worth a warning, not a stack trace.
      request.log.warn({ code: err.code ?? kind, detail: err.message }, 'request not served');
    } else {
      request.log.info({ code: err.code ?? kind, detail: err.message }, 'request refused');
    }

    let errors: FieldError[] | undefined;
    let detail: string;
    if (kind === 'validation' && err.validation) {
      errors = fieldErrors(err.validationContext ?? 'request', err.validation);
      detail = errors.map((e) => `${e.field} ${e.message}`).join('; ');
    } else if (err instanceof RequestValidationError) {
      errors = err.errors;
      detail = err.message;
    } else if (err instanceof JobSpecError) {
      errors = err.issues.map((i) => ({ field: `body${i.path}`, message: i.message }));
      detail = err.message;
    } else {
      detail =
        FRIENDLIER_DETAIL[kind]?.(request, opts.bodyLimitBytes) ??
        (def.expose ? err.message : `${def.title.toLowerCase()}; quote ${request.id} when reporting it`);
    }

    const carried = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    const retryAfter = typeof carried === 'number' ? carried : def.retryAfter;
    return sendProblem(reply, problemFor(kind, detail, request, errors), retryAfter);
  });

  app.setNotFoundHandler(async (request, reply) =>
    sendProblem(reply, problemFor('route_not_found', `no route ${request.method} ${request.url.split('?')[0]}; see /docs for the API`, request)),
  );
}

export default fp(errorsPlugin, { name: 'distillery-errors', fastify: '5.x' });

/**
 * The handler that answers every error as application/problem+json, by the one status table
 * (../status-table.ts). Errors of every layer are keyed by their typed `code`, Fastify's own
 * errors by FST_* code; anything unknown is a 500 whose details stay in the log.
 */
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import fp from 'fastify-plugin';
import FindMyWay from 'find-my-way';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, REQUEST_ID_HEADER } from '../schemas/common.js';
import { RequestValidationError, type FieldError } from '../problems.js';
import { fieldErrors } from '../validation.js';
import { JobSpecError } from '../../training/errors.js';
import { CLIENT_CLOSED_REQUEST, type ErrorKind, isErrorKind, KINDS, type KindEntry, problemType } from '../status-table.js';

export { CLIENT_CLOSED_REQUEST, type ErrorKind };

/** Fastify's own client errors, by code. */
const FASTIFY_CODES: Record<string, ErrorKind> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json_body',
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
    if (isErrorKind(err.code)) return err.code;
    const fastifyKind = FASTIFY_CODES[err.code];
    if (fastifyKind) return fastifyKind;
  }
  // Any other error Fastify marked as the client's fault (malformed request line, etc.).
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return 'bad_request';
  return 'internal';
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
    type: problemType(kind),
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

/** Longest path parameter the router reads (Fastify's maxParamLength); names and ids are far shorter. */
export const MAX_PARAM_LENGTH = 100;

/**
 * Fastify's `frameworkErrors`: requests its router refuses before any route or error handler
 * runs (a path that is not valid percent-encoding, a path parameter over MAX_PARAM_LENGTH), answered
 * as problems like every other error.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.raw.url?.split('?')[0] ?? '';
  const shown = path.length > 120 ? `${path.slice(0, 120)}…` : path;
  const [kind, detail]: [ErrorKind, string] =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? ['uri_too_long', `a path parameter of ${shown} is longer than ${MAX_PARAM_LENGTH} characters; no model name or job id is that long`]
      : ['bad_request', `the path ${shown} is not valid percent-encoding; encode "%" as %25`];
  request.log.info({ code: error.code }, 'request refused');
  // No route means no onSend hook: echo the request id here.
  reply.header(REQUEST_ID_HEADER, request.id);
  return sendProblem(reply, problemFor(kind, detail, request));
}

/** What Node's HTTP parser refuses, by its error code, before there is a request to answer. */
function clientErrorProblem(code: string | undefined): Problem {
  const [kind, detail]: [ErrorKind, string] =
    code === 'HPE_HEADER_OVERFLOW'
      ? ['headers_too_large', `the request headers are larger than ${maxHeaderSize} bytes in all; shorten them (x-routing-key takes at most 256 characters)`]
      : code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['request_timeout', 'the request did not arrive in full in time; send it again']
        : ['bad_request', 'the request is not a valid HTTP/1.1 request; check the request line and headers'];
  const { status, title } = KINDS[kind];
  return { type: problemType(kind), title, status, detail };
}

/**
 * Fastify's `clientErrorHandler`: answers what Node's HTTP parser refused (headers too large, a
 * malformed request, a timeout) with a problem, then closes the socket, as Node does.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const problem = clientErrorProblem(error.code);
    const body = JSON.stringify(problem);
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\n` +
        `content-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

export interface ErrorsPluginOptions {
  bodyLimitBytes: number;
}

async function errorsPlugin(app: FastifyInstance, opts: ErrorsPluginOptions): Promise<void> {
  app.setErrorHandler(async (error, request, reply) => {
    const kind = kindOf(error);
    const def: KindEntry = KINDS[kind];
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

  const allowed = allowedMethodsOf(app);
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allow = allowed(path);
    if (allow && !allow.includes(request.method)) {
      // The path exists under other methods: 405 with Allow (RFC 9110 section 15.5.6), not a 404
      // that would send the client looking for a typo in the path.
      reply.header('allow', allow.join(', '));
      return sendProblem(reply, problemFor('method_not_allowed', `${path} takes ${allow.join(' or ')}, not ${request.method}; see /docs for the API`, request));
    }
    return sendProblem(reply, problemFor('route_not_found', `no route ${request.method} ${path}; see /docs for the API`, request));
  });
}

/**
 * The methods each route path of `app` takes, as Fastify registers them (onRoute), looked up by a
 * concrete path: a router of our own over the same patterns, since Fastify's routes by method
 * and only answers whether a method matches. Undefined for a path no route has.
 */
function allowedMethodsOf(app: FastifyInstance): (path: string) => string[] | undefined {
  const methodsAt = new Map<string, Set<string>>();
  let router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1> | undefined;
  app.addHook('onRoute', (route) => {
    const set = methodsAt.get(route.url) ?? new Set<string>();
    for (const m of Array.isArray(route.method) ? route.method : [route.method]) set.add(m);
    methodsAt.set(route.url, set);
    router = undefined; // built again at the next miss
  });
  return (path) => {
    if (!router) {
      // Matched as the app's router matches (a trailing slash, the parameter length), so that a
      // path the app would route under another method gets its 405, with or without a slash.
      const { ignoreTrailingSlash, ignoreDuplicateSlashes, maxParamLength } = app.initialConfig.routerOptions ?? {};
      router = FindMyWay({ ignoreTrailingSlash, ignoreDuplicateSlashes, maxParamLength });
      for (const [url, methods] of methodsAt) {
        try {
          // Every pattern under one method: the lookup is by path alone, the store is the answer.
          router.on('GET', url, () => undefined, [...methods].sort());
        } catch {
          // Two methods' patterns that only Fastify's per-method trees tell apart: left out.
        }
      }
    }
    return (router.find('GET', path)?.store as string[] | undefined) ?? undefined;
  };
}

export default fp(errorsPlugin, { name: 'distillery-errors', fastify: '5.x' });

/**
 * Bull Board, the operators' view of the job queue, at /admin/queues, for admin keys only (it
 * renders job data and can retry or remove jobs). Its routes here are marked auth 'none' for the
 * shared auth hook, and this plugin answers non-admins itself with the same problem documents.
 *
 * The board is built on the first admin request, in a Fastify instance of its own that every
 * request under the base path is handed to (inject): Bull Board, its static file and template
 * plugins and BullMQ then load only in a replica whose dashboard is opened (Bull Board alone
 * is about 5 MiB of resident memory and 4 MiB of V8 heap; docs/benchmarks.md, memory), and its
 * own error handler stays in that instance. Requests are handed on only once the checks here
 * (admin key, a plain path, Redis reachable for its API) have passed.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { REQUEST_ID_HEADER } from '../schemas/common.js';
import errorsPlugin, { answerFrameworkError, MAX_PARAM_LENGTH, problemFor, sendProblem } from './errors.js';

export type DashboardQueue = Queue;

export interface QueueDashboardOptions {
  /** The queue to show, created on the dashboard's first request. */
  queue: () => Promise<DashboardQueue>;
  basePath: string;
  /** False when ADMIN_API_KEYS is empty: the dashboard is then refused to everyone. */
  adminEnabled: boolean;
  /** Whether the queue's Redis answers now; without it every dashboard call is a clear 503. */
  available?: () => boolean;
  /** The server's BODY_LIMIT_BYTES, for the board's own error documents. */
  bodyLimitBytes: number;
}

/** Seconds the dashboard's API asks a caller to wait while Redis is unreachable. */
const REDIS_RETRY_AFTER_S = 5;

/**
 * An error body in Bull Board's own shape ({error: {key}, message}): its UI shows the key's
 * translation as the toast's title and `message` below it.
 */
function boardError(key: string, message: string): string {
  return JSON.stringify({ error: { key }, message });
}

export default async function queueDashboard(app: FastifyInstance, opts: QueueDashboardOptions): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    if (request.role === 'admin') return;
    if (!opts.adminEnabled || request.role === 'inference') {
      const why = opts.adminEnabled
        ? 'this key may only call inference routes; use a key from ADMIN_API_KEYS'
        : 'admin routes are disabled because ADMIN_API_KEYS is not set on the server';
      return sendProblem(reply, problemFor('forbidden', why, request));
    }
    reply.header('www-authenticate', 'Bearer realm="distillery"');
    const detail =
      request.headers.authorization === undefined
        ? 'the queue dashboard needs an admin key: send Authorization: Bearer <key> with a key from ADMIN_API_KEYS'
        : 'the key sent is not an admin key of this server: check the Authorization header (Bearer <key>, a key from ADMIN_API_KEYS)';
    return sendProblem(reply, problemFor('unauthorized', detail, request));
  });
  // The board's instance resolves dot segments (and backslashes) before it routes, so a path
  // such as /admin/queues/%2e%2e/queues/api/queues would reach its API past the checks below,
  // which read the path as sent. Only paths that are already plain are handed on.
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '';
    if (new URL(path, 'http://localhost').pathname === path) return;
    return sendProblem(
      reply,
      problemFor(
        'bad_request',
        `the path ${JSON.stringify(path)} is not plain: dot segments (. and .., also percent-encoded), backslashes and characters that need percent-encoding are refused under ${opts.basePath}`,
        request,
      ),
    );
  });
  const api = `${opts.basePath}/api/`;
  const redisDown = `the job queue's Redis cannot be reached; the dashboard fills in again by itself once it is back (jobs and inference are unaffected otherwise: see /readyz and the API logs)`;
  // Redis down: answer the board's API at once with one clear message instead of letting each
  // call fail with a raw connection error that the UI would show as a toast.
  app.addHook('preHandler', async (request, reply) => {
    if (!request.url.startsWith(api) || !opts.available || opts.available()) return;
    return reply.code(503).header('retry-after', String(REDIS_RETRY_AFTER_S)).type('application/json').send(boardError('ERRORS.REDIS_UNAVAILABLE', redisDown));
  });
  // A failure inside the board (Redis lost mid-call, or a bug) carries the raw error text; it
  // goes to the log, and the caller gets a message meant for them.
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode < 500 || !request.url.startsWith(api) || reply.statusCode === 503) return payload;
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
    request.log.error({ status: reply.statusCode, body: body?.slice(0, 2000) }, 'queue dashboard call failed');
    if (opts.available && !opts.available()) {
      reply.code(503).header('retry-after', String(REDIS_RETRY_AFTER_S));
      return boardError('ERRORS.REDIS_UNAVAILABLE', redisDown);
    }
    return boardError('ERRORS.INTERNAL_SERVER_ERROR', `the dashboard call failed; the details are in the API log under request id ${request.id}`);
  });
  let board: Promise<FastifyInstance> | undefined;
  const forward = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    // A failed build (an import, or the queue's creation) is tried again by the next request.
    board ??= buildBoard(opts).catch((err: unknown) => {
      board = undefined;
      throw err;
    });
    const res = await (await board).inject({
      // HEAD is asked as GET: Fastify's HEAD route here measures the body it then drops.
      method: (request.method === 'HEAD' ? 'GET' : request.method) as HTTPMethods,
      url: request.url,
      headers: { ...forwardedHeaders(request.headers, request.body !== undefined), [REQUEST_ID_HEADER]: request.id },
      ...(request.body !== undefined ? { payload: JSON.stringify(request.body) } : {}),
    });
    reply.code(res.statusCode);
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined && !NOT_FORWARDED.has(name)) reply.header(name, value);
    }
    // Nothing to send (204, 304): no body, so no content type is made up for it.
    return res.rawPayload.length === 0 ? reply.send() : reply.send(res.rawPayload);
  };
  // Kept out of the public API document: the board's API is its own.
  const route = {
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] satisfies HTTPMethods[],
    config: { auth: 'none' as const },
    schema: { hide: true },
    handler: forward,
  };
  app.route({ ...route, url: opts.basePath });
  app.route({ ...route, url: `${opts.basePath}/*` });
}

/** Headers that describe one hop or a body this plugin re-encodes, not the board's answer. */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);

function forwardedHeaders(headers: IncomingHttpHeaders, reencodedBody: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || NOT_FORWARDED.has(name) || name === 'host' || name === 'content-type') continue;
    out[name] = value;
  }
  // A JSON body was parsed by this server and is sent on as JSON; without a body (an empty one
  // counts as none here) no content type is claimed.
  if (reencodedBody) out['content-type'] = 'application/json';
  return out;
}

/**
 * The board's own body limit. What reaches it has passed this server's BODY_LIMIT_BYTES already;
 * re-encoding can lengthen it (1e20 is written out in 21 characters), so the inner limit is not
 * a second, tighter check.
 */
const BOARD_BODY_LIMIT = 1_073_741_824;

async function buildBoard(opts: QueueDashboardOptions): Promise<FastifyInstance> {
  const [{ default: Fastify }, { createBullBoard }, { BullMQAdapter }, { FastifyAdapter }, queue] = await Promise.all([
    import('fastify'),
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/fastify'),
    opts.queue(),
  ]);
  // The same router limit and problem documents as the API (a path the board does not know is a
  // route_not_found problem, a long parameter a uri_too_long one), with the outer request id.
  const board = Fastify({
    logger: false,
    bodyLimit: BOARD_BODY_LIMIT,
    genReqId: (req) => {
      const id = req.headers[REQUEST_ID_HEADER];
      return typeof id === 'string' ? id : randomUUID();
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: answerFrameworkError,
  });
  await board.register(errorsPlugin, { bodyLimitBytes: opts.bodyLimitBytes });
  const adapter = new FastifyAdapter();
  adapter.setBasePath(opts.basePath);
  createBullBoard({ queues: [new BullMQAdapter(queue, { readOnlyMode: false })], serverAdapter: adapter });
  await board.register(adapter.registerPlugin(), { prefix: opts.basePath });
  await board.ready();
  return board;
}

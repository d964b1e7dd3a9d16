/**
 * Bull Board, the operators' view of the job queue, at /admin/queues, for admin keys only (it
 * renders job data and can retry or remove jobs). Bull Board installs its own error handler in
 * its scope, so an error thrown by the shared auth hook would come out as its 500: its routes
 * are therefore marked auth 'none' for that hook, and this plugin answers non-admins itself with
 * the same problem documents.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { problemFor, sendProblem } from './errors.js';

export type DashboardQueue = Queue;

export interface QueueDashboardOptions {
  queue: DashboardQueue;
  basePath: string;
  /** False when ADMIN_API_KEYS is empty: the dashboard is then refused to everyone. */
  adminEnabled: boolean;
  /** Whether the queue's Redis answers now; without it every dashboard call is a clear 503. */
  available?: () => boolean;
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
    request.log.error({ status: reply.statusCode, body: typeof payload === 'string' ? payload.slice(0, 2000) : undefined }, 'queue dashboard call failed');
    if (opts.available && !opts.available()) {
      reply.code(503).header('retry-after', String(REDIS_RETRY_AFTER_S));
      return boardError('ERRORS.REDIS_UNAVAILABLE', redisDown);
    }
    return boardError('ERRORS.INTERNAL_SERVER_ERROR', `the dashboard call failed; the details are in the API log under request id ${request.id}`);
  });
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), auth: 'none' };
    // Keep the dashboard's internal routes out of the public API document.
    route.schema = { ...(route.schema ?? {}), hide: true };
  });
  const adapter = new FastifyAdapter();
  adapter.setBasePath(opts.basePath);
  createBullBoard({ queues: [new BullMQAdapter(opts.queue, { readOnlyMode: false })], serverAdapter: adapter });
  await app.register(adapter.registerPlugin(), { prefix: opts.basePath });
}

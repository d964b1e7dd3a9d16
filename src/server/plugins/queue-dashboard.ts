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
    return sendProblem(
      reply,
      problemFor('unauthorized', 'the queue dashboard needs an admin key: send Authorization: Bearer <key> with a key from ADMIN_API_KEYS', request),
    );
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

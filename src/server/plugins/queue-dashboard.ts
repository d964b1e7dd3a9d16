/**
 * Bull Board, the operators' view of the job queue, at /admin/queues. Every route it adds is
 * marked admin-only before it is registered, so the auth plugin guards it like our own admin
 * routes (it renders job data and can retry or remove jobs).
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';

export type DashboardQueue = Queue;

export interface QueueDashboardOptions {
  queue: DashboardQueue;
  basePath: string;
}

export default async function queueDashboard(app: FastifyInstance, opts: QueueDashboardOptions): Promise<void> {
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), auth: 'admin' };
    // Keep the dashboard's internal routes out of the public API document.
    route.schema = { ...(route.schema ?? {}), hide: true };
  });
  const adapter = new FastifyAdapter();
  adapter.setBasePath(opts.basePath);
  createBullBoard({ queues: [new BullMQAdapter(opts.queue, { readOnlyMode: false })], serverAdapter: adapter });
  await app.register(adapter.registerPlugin(), { prefix: opts.basePath });
}

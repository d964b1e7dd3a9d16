/**
 * Records every request in distillery_http_request_duration_seconds. The route label is the
 * route pattern (/v1/models/:name), never the URL, and unknown URLs share one label, so a
 * scanner cannot blow up the series count.
 *
 * Answered requests are recorded in onResponse. Fastify never runs onResponse for a request
 * whose client hung up first, so those are recorded when the socket closes, as status 499.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../../metrics.js';
import { CLIENT_CLOSED_REQUEST } from './errors.js';

export interface HttpMetricsOptions {
  metrics: Pick<Metrics, 'httpRequestDuration'>;
}

export const UNMATCHED_ROUTE = 'unmatched';

async function httpMetricsPlugin(app: FastifyInstance, { metrics }: HttpMetricsOptions): Promise<void> {
  const recorded = new WeakSet<FastifyRequest>();
  const record = (request: FastifyRequest, reply: FastifyReply, status: number) => {
    if (recorded.has(request)) return;
    recorded.add(request);
    const route = request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE);
    metrics.httpRequestDuration.observe({ route, method: request.method, status: String(status) }, reply.elapsedTime / 1000);
  };

  app.addHook('onRequest', async (request, reply) => {
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) record(request, reply, CLIENT_CLOSED_REQUEST);
    });
  });
  app.addHook('onResponse', async (request, reply) => {
    record(request, reply, reply.statusCode);
  });
}

export default fp(httpMetricsPlugin, { name: 'distillery-http-metrics', fastify: '5.x' });

/**
 * Records every response in distillery_http_request_duration_seconds. The route label is the
 * route pattern (/v1/models/:name), never the URL, and unknown URLs share one label, so a
 * scanner cannot blow up the series count.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics.js';

export interface HttpMetricsOptions {
  metrics: Pick<Metrics, 'httpRequestDuration'>;
}

export const UNMATCHED_ROUTE = 'unmatched';

async function httpMetricsPlugin(app: FastifyInstance, { metrics }: HttpMetricsOptions): Promise<void> {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE);
    metrics.httpRequestDuration.observe(
      { route, method: request.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}

export default fp(httpMetricsPlugin, { name: 'distillery-http-metrics', fastify: '5.x' });

/** Liveness, readiness and Prometheus metrics: open routes for orchestrators and scrapers. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import type { ServerEngine } from '../engine.js';
import { HealthSchema, ReadinessSchema } from '../schemas/health.js';
import { problemResponses } from '../schemas/common.js';
import { problemFor, sendProblem } from '../plugins/errors.js';

export interface HealthRouteOptions {
  engine: Pick<ServerEngine, 'readiness'>;
  registry: Registry;
}

/** Seconds a load balancer should wait before asking /readyz again. */
const READY_RETRY_AFTER_S = 5;

export default async function healthRoutes(app: FastifyInstance, { engine, registry }: HealthRouteOptions): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/healthz',
    {
      config: { auth: 'none' },
      schema: { tags: ['operations'], summary: 'Liveness: the process answers', response: { 200: HealthSchema, ...problemResponses() } },
    },
    async () => ({ status: 'ok' as const }),
  );

  r.get(
    '/readyz',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['operations'],
        summary: 'Readiness: every active model is loaded and warmed',
        response: { 200: ReadinessSchema, ...problemResponses('not_ready') },
      },
    },
    async (request, reply) => {
      const state = engine.readiness();
      const models = Object.entries(state.models).map(([name, m]) => ({
        name,
        status: m.status,
        version: m.version ?? null,
        ...(m.error ? { error: m.error } : {}),
      }));
      if (state.ready) return { ready: true, models };
      // Say what is missing: models still loading or failed, or none at all.
      const errors = models
        .filter((m) => m.status !== 'ready')
        .map((m) => ({ field: `models/${m.name}`, message: m.status === 'failed' ? `failed to load: ${m.error ?? 'unknown error'}` : `is ${m.status}` }));
      const detail =
        errors.length > 0
          ? `not ready: ${errors.map((e) => `${e.field.slice('models/'.length)} ${e.message}`).join('; ')}`
          : 'not ready: no model is loaded (is MODEL_DIR right, and does each model have a state.json?)';
      return sendProblem(reply, problemFor('not_ready', detail, request, errors), READY_RETRY_AFTER_S);
    },
  );

  r.get(
    '/metrics',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text exposition format)',
        produces: ['text/plain'],
        response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...problemResponses() },
      },
    },
    async (_request, reply) => {
      const body = await registry.metrics();
      return reply.type(registry.contentType).send(body);
    },
  );
}

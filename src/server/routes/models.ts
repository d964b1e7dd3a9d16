/** The models in the registry, and the admin route that promotes or rolls back a version. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ModelInfo, ServerEngine } from '../engine.js';
import {
  ActivateBodySchema,
  ActivateResponseSchema,
  ModelListSchema,
  ModelParamsSchema,
  ModelSchema,
  activateErrorResponses,
  modelErrorResponses,
  type ModelView,
} from '../schemas/models.js';

export interface ModelRouteOptions {
  engine: ServerEngine;
}

/** The engine's description of a model, in the API's snake_case shape. */
export function modelView(info: ModelInfo): ModelView {
  return {
    name: info.name,
    ...(info.task ? { task: info.task } : {}),
    status: info.status,
    ...(info.error ? { error: info.error } : {}),
    active_version: info.active,
    serving_version: info.serving,
    ...(info.maxLength !== undefined ? { max_length: info.maxLength } : {}),
    ...(info.labels ? { labels: info.labels } : {}),
    versions: info.versions.map((v) => ({
      version: v.version,
      active: v.version === info.active,
      serving: v.version === info.serving,
      readable: v.readable,
      ...(v.created_at ? { created_at: v.created_at } : {}),
      metrics: v.metrics ?? {},
      ...(v.gate ? { gate: v.gate } : {}),
    })),
  };
}

export default async function modelRoutes(app: FastifyInstance, { engine }: ModelRouteOptions): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/v1/models',
    {
      config: { auth: 'inference' },
      schema: {
        tags: ['models'],
        summary: 'List served models with their versions',
        security: [{ bearerAuth: [] }],
        response: { 200: ModelListSchema, ...modelErrorResponses },
      },
    },
    async () => ({ models: (await engine.listModels()).map(modelView) }),
  );

  r.get(
    '/v1/models/:name',
    {
      config: { auth: 'inference' },
      schema: {
        tags: ['models'],
        summary: 'One model: versions, active version, task, labels, manifest metrics',
        security: [{ bearerAuth: [] }],
        params: ModelParamsSchema,
        response: { 200: ModelSchema, ...modelErrorResponses },
      },
    },
    async (request) => modelView(await engine.getModel(request.params.name)),
  );

  r.post(
    '/v1/models/:name/activate',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Make a version active: load and warm it, then swap it in (promote or roll back)',
        description: 'The old version keeps serving until the new one is warm; a version that fails to load is answered 422 and never replaces the active one.',
        security: [{ bearerAuth: [] }],
        params: ModelParamsSchema,
        body: ActivateBodySchema,
        response: { 200: ActivateResponseSchema, ...activateErrorResponses },
      },
    },
    async (request) => {
      const { name } = request.params;
      const previous = (await engine.getModel(name)).active;
      const state = await engine.activate(name, request.body.version);
      request.log.info({ model: name, from: previous, to: state.active, role: request.role }, 'model version activated');
      return { model: name, previous_version: previous, active_version: state.active };
    },
  );
}

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

export function modelView(info: ModelInfo): ModelView {
  return {
    name: info.name,
    task: info.task,
    active_version: info.activeVersion,
    ...(info.labels ? { labels: info.labels } : {}),
    versions: info.versions.map((v) => ({
      version: v.version,
      active: v.active,
      loaded: v.loaded,
      ...(v.createdAt ? { created_at: v.createdAt } : {}),
      metrics: v.metrics,
      ...(v.gate ? { gate: v.gate } : {}),
    })),
  };
}

export default async function modelRoutes(app: FastifyInstance, { engine }: ModelRouteOptions): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get('/v1/models', {
    config: { auth: 'inference' },
    schema: {
      tags: ['models'],
      summary: 'List served models with their versions',
      security: [{ bearerAuth: [] }],
      response: { 200: ModelListSchema, ...modelErrorResponses },
    },
  }, async () => ({ models: (await engine.listModels()).map(modelView) }));

  r.get('/v1/models/:name', {
    config: { auth: 'inference' },
    schema: {
      tags: ['models'],
      summary: 'One model: versions, active version, task, labels, manifest metrics',
      security: [{ bearerAuth: [] }],
      params: ModelParamsSchema,
      response: { 200: ModelSchema, ...modelErrorResponses },
    },
  }, async (request) => modelView(await engine.getModel(request.params.name)));

  r.post('/v1/models/:name/activate', {
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
  }, async (request) => {
    const result = await engine.activate(request.params.name, request.body.version);
    request.log.info({ model: result.model, from: result.previousVersion, to: result.activeVersion, role: request.role }, 'model version activated');
    return { model: result.model, previous_version: result.previousVersion, active_version: result.activeVersion };
  });
}

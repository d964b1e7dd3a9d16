/** The models in the registry, and the admin routes that promote, roll back, or roll out a version (canary, shadow). */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ModelInfo, ServerEngine } from '../engine.js';
import type { RolloutRules } from '../../inference/registry/types.js';
import {
  ActivateBodySchema,
  ActivateResponseSchema,
  ModelListSchema,
  ModelParamsSchema,
  ModelSchema,
  activateErrorResponses,
  CanaryBodySchema,
  modelErrorResponses,
  RolloutChangeSchema,
  rolloutEndErrorResponses,
  rolloutErrorResponses,
  ShadowBodySchema,
  modelListErrorResponses,
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
    rollout: info.rollout,
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
        response: { 200: ModelListSchema, ...modelListErrorResponses },
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
        description:
          'The old version keeps serving until the new one is warm; a version that fails to load is answered 422 and never replaces the active one. ' +
          'Activations and roll-out changes of one model take turns: activating the version that is already active succeeds with `changed: false`. ' +
          'A canary or shadow of the activated version ends (recorded in the roll-out history).',
        security: [{ bearerAuth: [] }],
        params: ModelParamsSchema,
        body: ActivateBodySchema,
        response: { 200: ActivateResponseSchema, ...activateErrorResponses },
      },
    },
    async (request) => {
      const { name } = request.params;
      const result = await engine.activate(name, request.body.version, { by: request.role });
      request.log.info({ model: name, from: result.previous, to: result.state.active, changed: result.changed, role: request.role }, 'model version activated');
      return { model: name, previous_version: result.previous, active_version: result.state.active, changed: result.changed };
    },
  );

  const roles = [
    { role: 'canary', body: CanaryBodySchema, put: 'Start or change a canary: a share of the unpinned requests is answered by another version' },
    {
      role: 'shadow',
      body: ShadowBodySchema,
      put: "Start or change a shadow: a share of the active version's requests is replayed on another version and compared",
    },
  ] as const;
  for (const { role, body, put } of roles) {
    r.put(
      `/v1/models/:name/${role}`,
      {
        config: { auth: 'admin' },
        schema: {
          tags: ['admin'],
          summary: put,
          description:
            "The candidate is loaded and warmed first (422 and no change if it cannot). The plan is written to the model's state.json, so every replica follows it. " +
            'An identical plan already running is answered 200 with changed: false. With rules, the plan promotes or aborts itself once the evidence is in.',
          security: [{ bearerAuth: [] }],
          params: ModelParamsSchema,
          body,
          response: { 200: RolloutChangeSchema, ...rolloutErrorResponses },
        },
      },
      async (request) => {
        const { name } = request.params;
        const b = request.body as { version: number; weight?: number; sample?: number; rules?: RolloutRules };
        const change = await engine.putRollout(name, role, b, request.role);
        request.log.info({ model: name, role, plan: change.plan?.id, version: b.version, changed: change.changed, by: request.role }, `${role} plan set`);
        return { model: name, role, ...change };
      },
    );

    r.delete(
      `/v1/models/:name/${role}`,
      {
        config: { auth: 'admin' },
        schema: {
          tags: ['admin'],
          summary: `End the ${role} (the active version keeps serving); 200 with changed: false when none runs`,
          security: [{ bearerAuth: [] }],
          params: ModelParamsSchema,
          response: { 200: RolloutChangeSchema, ...rolloutEndErrorResponses },
        },
      },
      async (request) => {
        const { name } = request.params;
        const change = await engine.endRollout(name, role, request.role);
        request.log.info({ model: name, role, plan: change.previous?.id, changed: change.changed, by: request.role }, `${role} plan ended`);
        return { model: name, role, ...change };
      },
    );
  }
}

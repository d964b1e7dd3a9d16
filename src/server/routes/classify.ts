/** POST /v1/classify: intent classification of texts or text pairs. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ServerEngine } from '../engine.js';
import type { RequestLimits } from '../schemas/limits.js';
import { ClassifyResponseSchema, classifyBodySchema, classifyErrorResponses } from '../schemas/classify.js';
import { workHeadersSchema } from '../schemas/work.js';
import { answeredBy, workOptions } from '../request-work.js';

export interface InferenceRouteOptions {
  engine: ServerEngine;
  limits: RequestLimits;
}

export default async function classifyRoutes(app: FastifyInstance, { engine, limits }: InferenceRouteOptions): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/v1/classify',
    {
      config: { auth: 'inference' },
      schema: {
        tags: ['inference'],
        summary: 'Classify texts (or text pairs) with an intent model',
        security: [{ bearerAuth: [] }],
        headers: workHeadersSchema(limits),
        body: classifyBodySchema(limits),
        response: { 200: ClassifyResponseSchema, ...classifyErrorResponses },
      },
    },
    async (request, reply) => {
      const { model, version, inputs, top_k: topK = 1 } = request.body;
      return answeredBy(reply, engine.classify({ model, version, inputs, topK, ...workOptions(request, reply, limits) }));
    },
  );
}

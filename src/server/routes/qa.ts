/** POST /v1/qa: extractive question answering; answers are character spans of the context. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { QaResponseSchema, qaBodySchema, qaErrorResponses } from '../schemas/qa.js';
import { workHeadersSchema } from '../schemas/work.js';
import { answeredBy, workOptions } from '../request-work.js';
import type { InferenceRouteOptions } from './classify.js';

export default async function qaRoutes(app: FastifyInstance, { engine, limits }: InferenceRouteOptions): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/v1/qa',
    {
      config: { auth: 'inference' },
      schema: {
        tags: ['inference'],
        summary: 'Answer questions from a context passage',
        security: [{ bearerAuth: [] }],
        headers: workHeadersSchema(limits),
        body: qaBodySchema(limits),
        response: { 200: QaResponseSchema, ...qaErrorResponses },
      },
    },
    async (request, reply) => {
      const { model, version, inputs, top_k: topK = 1, max_answer_length: maxAnswerLength = 30, allow_no_answer: allowNoAnswer = true } = request.body;
      return answeredBy(reply, engine.answer({ model, version, inputs, topK, maxAnswerLength, allowNoAnswer, ...workOptions(request, reply, limits) }));
    },
  );
}

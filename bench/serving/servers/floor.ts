/**
 * The floor of any Fastify server: the same route and JSON body, answered with a constant result
 * at once: no tokenizing, no queue, no model. What it costs per request (server and load
 * generator, which share the machine) is spent by every HTTP contender before any inference.
 */
import Fastify from 'fastify';
import { serveContender } from '../child.js';

const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
app.post('/v1/classify', async (request) => {
  const body = request.body as { model: string; inputs: unknown[] };
  return { model: body.model, version: 1, results: body.inputs.map(() => [{ label: 'greeting', score: 1 }]) };
});
await serveContender(app);

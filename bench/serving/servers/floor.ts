/**
 * The floor of any Fastify server: the same route and JSON body, answered with a constant result
 * at once: no tokenizing, no queue, no model. What it costs per request (server and load
 * generator, which share the machine) is spent by every HTTP contender before any inference.
 */
import Fastify from 'fastify';
import { announceReady, closeOnSignal } from '../child.js';

const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
app.post('/v1/classify', async (request) => {
  const body = request.body as { model: string; inputs: unknown[] };
  return { model: body.model, version: 1, results: body.inputs.map(() => [{ label: 'greeting', score: 1 }]) };
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (!address || typeof address === 'string') throw new Error('no TCP address');
closeOnSignal(() => app.close());
announceReady({ port: address.port });

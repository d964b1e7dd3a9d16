/**
 * Contender (d): a server built on @huggingface/transformers' text-classification pipeline, one
 * pipeline call per request, loading our model from a local folder (remote models disabled) with
 * the same ONNX Runtime session options as ours.
 */
import Fastify from 'fastify';
import { env, pipeline, type TextClassificationPipeline } from '@huggingface/transformers';
import { childSpec, serveContender } from '../child.js';
import { inferenceSettings, ortSessionOptions } from '../ort-options.js';

export interface TransformersServerSpec {
  /** env.localModelPath: holds <model>/config.json, tokenizer*.json, onnx/model_quantized.onnx. */
  hfRoot: string;
  model: string;
}

const spec = childSpec<TransformersServerSpec>();
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = spec.hfRoot;

const { executionProviders: _ignored, ...sessionOptions } = ortSessionOptions(inferenceSettings());
const classify = (await pipeline('text-classification', spec.model, {
  dtype: 'q8',
  device: 'cpu',
  session_options: sessionOptions,
})) as TextClassificationPipeline;
for (const text of ['warm up', 'where is my order? it was due last week and nothing has arrived yet']) await classify(text);

const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
app.post('/v1/classify', async (request) => {
  const body = request.body as { model: string; inputs: string[]; top_k?: number };
  const results = [];
  for (const text of body.inputs) results.push(await classify(text, { top_k: body.top_k ?? 1 }));
  return { model: body.model, results };
});
await serveContender(app, { release: () => classify.dispose() });

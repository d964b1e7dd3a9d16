/**
 * Contender (c): the naive server. Fastify, the same tokenizer wrapper and ONNX Runtime session
 * options as ours, and one session.run per request (batch of one, no queue, no padding), all
 * requests sharing one session.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import ort from 'onnxruntime-node';
import { padBatch, type PaddedBatch } from '../../../src/inference/backend.js';
import { validateServingConfig } from '../../../src/inference/registry/model-registry.js';
import { buildClassificationRows, type ClassifyInput, topLabels } from '../../../src/inference/tasks/classification.js';
import { TextTokenizer } from '../../../src/inference/tokenizer.js';
import { childSpec, serveContender } from '../child.js';
import { inferenceSettings, ortSessionOptions } from '../ort-options.js';

export interface NaiveServerSpec {
  versionDir: string;
}

const spec = childSpec<NaiveServerSpec>();
const config = validateServingConfig(JSON.parse(readFileSync(path.join(spec.versionDir, 'config.json'), 'utf8')), 'config.json');
const labels = config.labels!;
const tokenizer = await TextTokenizer.load(path.join(spec.versionDir, 'tokenizer.json'));
const inference = inferenceSettings();
const session = await ort.InferenceSession.create(path.join(spec.versionDir, 'model.onnx'), ortSessionOptions(inference));

async function logitsOf(batch: PaddedBatch): Promise<Float32Array> {
  const dims = [batch.rows, batch.length];
  const out = await session.run(
    {
      input_ids: new ort.Tensor('int64', batch.inputIds, dims),
      attention_mask: new ort.Tensor('int64', batch.attentionMask, dims),
      token_type_ids: new ort.Tensor('int64', batch.tokenTypeIds, dims),
    },
    ['logits'],
  );
  return out.logits!.data as Float32Array;
}

// Warm up at a few lengths, as our engine does before it serves.
for (const length of [8, 16, 32, config.max_length]) {
  await logitsOf(padBatch([tokenizer.assemble(new Array<number>(length - 2).fill(5))], tokenizer.padId));
}

const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
app.post('/v1/classify', async (request) => {
  const body = request.body as { model: string; inputs: ClassifyInput[]; top_k?: number };
  const rows = await buildClassificationRows(tokenizer, body.inputs, { maxLength: config.max_length });
  const results = [];
  for (const row of rows) results.push(topLabels(await logitsOf(padBatch([row], tokenizer.padId)), labels, body.top_k ?? 1));
  return { model: body.model, results };
});
await serveContender(app, { release: () => session.release() });

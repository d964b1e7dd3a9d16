/**
 * The model under test, laid out for each contender: a one-model registry for our server (so
 * nothing else loads or warms beside it), the version folder for the naive server and the
 * in-process limit, and a Hugging Face style folder that @huggingface/transformers accepts,
 * built from the same files (nothing is downloaded).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelRegistry } from '../../src/inference/registry/model-registry.js';
import type { ServingConfig } from '../../src/inference/registry/types.js';

export interface ModelFiles {
  model: string;
  version: number;
  /** The registry version folder (model.onnx, tokenizer.json, config.json). */
  versionDir: string;
  config: ServingConfig;
  /** A registry holding only this model (copied): MODEL_DIR of our server. */
  registryDir: string;
  /** env.localModelPath of transformers.js; the model id is `model`. */
  hfRoot: string;
}

export async function prepareModelFiles(modelDir: string, model: string, workDir: string): Promise<ModelFiles> {
  const registry = new ModelRegistry(path.resolve(modelDir));
  const state = await registry.readState(model);
  if (!state) throw new Error(`${modelDir}/${model} has no state.json: is the model built (npm run models:build) and MODEL_DIR right?`);
  const versionDir = registry.versionDir(model, state.active);
  const config = await registry.readServingConfig(model, state.active);
  if (config.task !== 'classification') throw new Error(`${model} is a ${config.task} model; this benchmark drives /v1/classify`);

  const registryDir = path.join(workDir, 'registry');
  await fs.mkdir(path.join(registryDir, model), { recursive: true });
  await fs.copyFile(path.join(registry.modelDir(model), 'state.json'), path.join(registryDir, model, 'state.json'));
  await fs.cp(versionDir, path.join(registryDir, model, String(state.active)), { recursive: true });

  const hfRoot = path.join(workDir, 'hf');
  await writeTransformersFolder(path.join(hfRoot, model), versionDir, config);
  return { model, version: state.active, versionDir, config, registryDir, hfRoot };
}

/**
 * config.json (bert + id2label), tokenizer.json, tokenizer_config.json (BERT special tokens and
 * model_max_length, so the pipeline truncates where our server does) and onnx/model_quantized.onnx
 * (loaded with dtype q8; the file is our INT8 model.onnx as is).
 */
async function writeTransformersFolder(dir: string, versionDir: string, config: ServingConfig): Promise<void> {
  await fs.mkdir(path.join(dir, 'onnx'), { recursive: true });
  const labels = config.labels ?? [];
  const hfConfig = {
    model_type: 'bert',
    architectures: ['BertForSequenceClassification'],
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    problem_type: 'single_label_classification',
  };
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: config.do_lower_case,
    model_max_length: config.max_length,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[MASK]',
  };
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(hfConfig, null, 2));
  await fs.writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2));
  await fs.copyFile(path.join(versionDir, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  await fs.copyFile(path.join(versionDir, 'model.onnx'), path.join(dir, 'onnx', 'model_quantized.onnx'));
}

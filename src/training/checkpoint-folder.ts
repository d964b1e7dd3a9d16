/**
 * What a job needs to know of a checkpoint folder (the teacher, the general teacher, the masked LM,
 * the student's init) before it is queued: its shape
 * (config.json) and that it holds the files the trainer reads (trainer/distillery_trainer/
 * checkpoint.py and weight_files.py): a BERT config.json, PyTorch weights in one file or in shards
 * named by an index, and a tokenizer. Every problem is reported, each saying what would do.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** The fields of a Hugging Face config.json a job's resolution needs. */
export interface CheckpointShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocabSize: number;
  maxPositions: number;
  typeVocabSize: number;
}

/** Weight files in the order transformers' from_pretrained (and the trainer) looks for them. */
export const WEIGHT_FILES = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json'] as const;
const TOKENIZER_FILES = ['tokenizer.json', 'vocab.txt'] as const;
/** Weights transformers can convert (from_tf / from_flax) but the trainer cannot read. */
const OTHER_FRAMEWORKS: Record<string, string> = {
  'tf_model.h5': 'TensorFlow 2',
  'model.ckpt.index': 'TensorFlow 1',
  'flax_model.msgpack': 'Flax',
  'model.onnx': 'ONNX',
};

export interface CheckpointFolder {
  /** Absent when config.json cannot give it. */
  shape?: CheckpointShape;
  /** One message per problem; empty when the folder can teach. */
  problems: string[];
}

async function isFile(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** A JSON file's value; a UTF-8 byte order mark is accepted, as the trainer accepts it. */
async function readJson(file: string): Promise<unknown> {
  return JSON.parse((await fs.readFile(file, 'utf8')).replace(/^\uFEFF/, '')) as unknown;
}

async function readShape(dir: string, role: string, problems: string[]): Promise<CheckpointShape | undefined> {
  const file = path.join(dir, 'config.json');
  if (!(await isFile(file))) {
    problems.push(`${role} folder has no config.json (a Hugging Face BERT checkpoint folder has one)`);
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = await readJson(file);
  } catch (err) {
    problems.push(`${role}'s config.json is not valid JSON: ${(err as Error).message}`);
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    problems.push(`${role}'s config.json must be a JSON object of BERT settings (as save_pretrained writes it), not ${JSON.stringify(parsed)?.slice(0, 40)}`);
    return undefined;
  }
  const raw = parsed as Record<string, unknown>;
  const modelType = raw.model_type ?? 'bert';
  if (modelType !== 'bert') {
    problems.push(`${role}'s config.json says model_type ${JSON.stringify(modelType)}: only BERT checkpoints (model_type "bert") can be read`);
  }
  const missing: string[] = [];
  const wrong: string[] = [];
  const count = (key: string, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (v === undefined) missing.push(key);
    else if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) wrong.push(`${key} (${JSON.stringify(v)})`);
    return v as number;
  };
  const shape = {
    hidden: count('hidden_size'),
    heads: count('num_attention_heads'),
    layers: count('num_hidden_layers'),
    // transformers' BertConfig defaults, as the trainer's modeling.py reads them.
    intermediate: count('intermediate_size', 3072),
    vocabSize: count('vocab_size'),
    maxPositions: count('max_position_embeddings', 512),
    typeVocabSize: count('type_vocab_size', 2),
  };
  if (missing.length > 0) problems.push(`${role}'s config.json has no ${missing.join(', ')}`);
  if (wrong.length > 0) problems.push(`${role}'s config.json needs a positive integer for ${wrong.join(', ')}`);
  if (missing.length > 0 || wrong.length > 0) return undefined;
  if (shape.hidden % shape.heads !== 0) {
    problems.push(`${role}'s config.json hidden_size ${shape.hidden} is not divisible by num_attention_heads ${shape.heads}: no BERT has that shape`);
    return undefined;
  }
  return shape;
}

/** Problems of a shard index: it must map tensor names to shard files that lie beside it. */
async function checkShards(dir: string, role: string, index: string, problems: string[]): Promise<void> {
  let weightMap: unknown;
  try {
    weightMap = ((await readJson(path.join(dir, index))) as { weight_map?: unknown })?.weight_map;
  } catch (err) {
    problems.push(`${role}'s ${index} is not valid JSON: ${(err as Error).message}`);
    return;
  }
  const shards = weightMap !== null && typeof weightMap === 'object' ? Object.values(weightMap) : [];
  if (shards.length === 0 || !shards.every((s) => typeof s === 'string')) {
    problems.push(`${role}'s ${index} needs a non-empty "weight_map" object of tensor name -> shard file name`);
    return;
  }
  const suffix = index.startsWith('model.safetensors') ? '.safetensors' : '.bin';
  for (const shard of new Set(shards as string[])) {
    // By name, not by resolving links: in a Hugging Face hub cache every file is a symlink into blobs/.
    if (path.basename(shard) !== shard || shard === '..' || shard === '.' || shard.includes('\\')) {
      problems.push(`${role}'s ${index} names shard ${JSON.stringify(shard)}, which is not a file in the checkpoint folder`);
    } else if (!shard.endsWith(suffix)) {
      problems.push(`${role}'s ${index} names shard ${JSON.stringify(shard)}; its shards must be ${suffix} files`);
    } else if (!(await isFile(path.join(dir, shard)))) {
      problems.push(`shard ${shard} named in ${role}'s ${index} is missing`);
    }
  }
}

async function checkWeights(dir: string, role: string, problems: string[]): Promise<void> {
  for (const name of WEIGHT_FILES) {
    if (await isFile(path.join(dir, name))) {
      if (name.endsWith('.index.json')) await checkShards(dir, role, name, problems);
      return;
    }
  }
  const others: string[] = [];
  for (const [name, framework] of Object.entries(OTHER_FRAMEWORKS)) {
    if (await isFile(path.join(dir, name))) others.push(`${name} (${framework})`);
  }
  problems.push(
    `${role} folder has no PyTorch weights: expected model.safetensors, pytorch_model.bin or a sharded model.safetensors.index.json / pytorch_model.bin.index.json${
      others.length > 0
        ? `; it has ${others.join(', ')}: load it in transformers (from_pretrained with from_tf=True or from_flax=True) and save_pretrained it to get model.safetensors`
        : ''
    }`,
  );
}

/**
 * Reads a checkpoint folder's shape and lists what keeps the trainer from reading it; `role`
 * names it in the messages ("the teacher", "the init checkpoint", ...).
 */
export async function readCheckpointFolder(dir: string, role = 'the teacher'): Promise<CheckpointFolder> {
  const problems: string[] = [];
  const shape = await readShape(dir, role, problems);
  await checkWeights(dir, role, problems);
  let tokenizer = false;
  for (const name of TOKENIZER_FILES) tokenizer ||= await isFile(path.join(dir, name));
  if (!tokenizer) problems.push(`${role} folder has no tokenizer: expected tokenizer.json or vocab.txt`);
  return shape === undefined ? { problems } : { shape, problems };
}

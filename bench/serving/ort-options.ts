/**
 * ONNX Runtime session options of the contenders that do not go through our SessionPool (naive
 * server, transformers.js): the same ones src/inference/session-pool.ts uses, from the same
 * settings (INTRA_OP_THREADS, INTER_OP_THREADS, INTRA_OP_SPINNING), so only the serving strategy differs.
 */
import type ort from 'onnxruntime-node';
import { ortSessionOptions as poolSessionOptions } from '../../src/inference/session-pool.js';
import { EnvReader, type InferenceConfig, loadInferenceConfig } from '../../src/config.js';

export function inferenceSettings(): InferenceConfig {
  return loadInferenceConfig(new EnvReader(process.env));
}

export function ortSessionOptions(inference: InferenceConfig): ort.InferenceSession.SessionOptions {
  return poolSessionOptions({ ...inference, executionProviders: ['cpu'] });
}

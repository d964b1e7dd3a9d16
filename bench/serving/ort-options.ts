/**
 * ONNX Runtime session options of the contenders that do not go through our SessionPool (naive
 * server, transformers.js): the same ones src/inference/session-pool.ts uses, from the same
 * settings (INTRA_OP_THREADS, INTER_OP_THREADS), so only the serving strategy differs.
 */
import type ort from 'onnxruntime-node';
import { EnvReader, type InferenceConfig, loadInferenceConfig } from '../../src/config.js';

export function inferenceSettings(): InferenceConfig {
  return loadInferenceConfig(new EnvReader(process.env));
}

export function ortSessionOptions(inference: InferenceConfig): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: inference.intraOpThreads,
    interOpNumThreads: inference.interOpThreads,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
}

/** Session options of the compression benches: the server's (src/inference/session-pool.ts, default memory settings), on `threads` intra-op threads. */
import type ort from 'onnxruntime-node';
import { EnvReader, loadInferenceConfig } from '../../src/config.js';
import { ortSessionOptions } from '../../src/inference/session-pool.js';

export function benchSessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  const defaults = loadInferenceConfig(new EnvReader({}));
  return ortSessionOptions({ executionProviders: ['cpu'], intraOpThreads: threads, interOpThreads: 1, intraOpSpinning: false, ortMemory: defaults.ortMemory });
}

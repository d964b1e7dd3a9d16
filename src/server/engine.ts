/**
 * What the HTTP layer needs from the inference engine: the engine's own API, narrowed to the
 * calls routes make. Tests of route plumbing can stand in for it without ONNX Runtime.
 */
import type { InferenceEngine } from '../inference/index.js';

export type ServerEngine = Pick<InferenceEngine, 'classify' | 'answer' | 'listModels' | 'getModel' | 'activate' | 'putRollout' | 'endRollout' | 'readiness'>;

export type { ModelInfo, PlanChange, Readiness, RolloutView, WorkOptions } from '../inference/index.js';

/**
 * What the HTTP layer needs from the inference engine, and nothing more.
 *
 * Routes depend on this narrow interface rather than on the engine's module so that the server
 * can be read (and its plumbing unit-tested) without ONNX Runtime. The real engine from
 * src/inference satisfies it; app.ts checks that at compile time.
 */
import type { Task } from '../inference/registry/types.js';

/** Cancellation and time limit of one request, passed through to the engine. */
export interface WorkOptions {
  /** Milliseconds this request may still take before the engine gives up (504). */
  deadlineMs?: number;
  /** Aborted when the client goes away, so queued work is dropped before it costs compute. */
  signal?: AbortSignal;
}

export type ClassifyInput = string | { text: string; text_pair?: string };

export interface ClassifyParams extends WorkOptions {
  model: string;
  version?: number;
  inputs: ClassifyInput[];
  topK: number;
}

export interface ClassifyOutput {
  model: string;
  version: number;
  results: { label: string; score: number }[][];
}

export interface AnswerParams extends WorkOptions {
  model: string;
  version?: number;
  inputs: { question: string; context: string }[];
  topK: number;
  maxAnswerLength: number;
}

export interface AnswerOutput {
  model: string;
  version: number;
  results: { answer: string; score: number; start: number; end: number }[][];
}

/** One model as the models routes show it (mapped from the engine's own description). */
export interface ModelVersionInfo {
  version: number;
  active: boolean;
  loaded: boolean;
  createdAt?: string;
  metrics: Record<string, Record<string, number | undefined>>;
  gate?: { passed: boolean; activated: boolean; reason: string };
}

export interface ModelInfo {
  name: string;
  task: Task;
  activeVersion: number | null;
  labels?: string[];
  versions: ModelVersionInfo[];
}

export interface ModelReadiness {
  name: string;
  version: number | null;
  ready: boolean;
  detail?: string;
}

export interface Readiness {
  ready: boolean;
  models: ModelReadiness[];
  detail?: string;
}

export interface ActivateResult {
  model: string;
  previousVersion: number | null;
  activeVersion: number;
}

export interface ServerEngine {
  classify(params: ClassifyParams): Promise<ClassifyOutput>;
  answer(params: AnswerParams): Promise<AnswerOutput>;
  listModels(): Promise<ModelInfo[]>;
  getModel(name: string): Promise<ModelInfo>;
  activate(name: string, version: number): Promise<ActivateResult>;
  readiness(): Readiness;
}

export type { Task };

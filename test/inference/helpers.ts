/** Shared helpers of the inference tests: the tiny model registry and a fake backend. */
import { EnvReader, type InferenceConfig, loadInferenceConfig } from '../../src/config.js';
import type { BatchOutputs, InferenceBackend, PaddedBatch } from '../../src/inference/backend.js';

import { tinyRegistry } from '../fixtures/tiny-registry.js';

export { tinyRegistry };

export function testConfig(env: Record<string, string> = {}): InferenceConfig {
  return loadInferenceConfig(new EnvReader({ INTRA_OP_THREADS: '1', REGISTRY_WATCH: 'false', REGISTRY_POLL_MS: '0', ...env }), 2);
}

export interface FakeBackend extends InferenceBackend {
  batches: PaddedBatch[];
  /** Resolve the oldest running batch (when manual). */
  release(): void;
  running: number;
}

/**
 * A backend that records every batch and answers logits = [sum of ids, length, 0] per row.
 * With `manual`, each batch waits until release() is called, so tests control timing.
 */
export function fakeBackend(opts: { concurrency?: number; manual?: boolean; delayMs?: number } = {}): FakeBackend {
  const pending: Array<() => void> = [];
  const backend: FakeBackend = {
    concurrency: opts.concurrency ?? 1,
    batches: [],
    running: 0,
    async run(batch: PaddedBatch): Promise<BatchOutputs> {
      backend.batches.push(batch);
      backend.running++;
      if (opts.manual) await new Promise<void>((r) => pending.push(r));
      else if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      backend.running--;
      const data = new Float32Array(batch.rows * 3);
      for (let r = 0; r < batch.rows; r++) {
        let sum = 0;
        let len = 0;
        for (let i = 0; i < batch.length; i++) {
          if (batch.attentionMask[r * batch.length + i] === 1n) {
            sum += Number(batch.inputIds[r * batch.length + i]);
            len++;
          }
        }
        data.set([sum, len, 0], r * 3);
      }
      return { logits: { data, dims: [batch.rows, 3] } };
    },
    release() {
      pending.shift()?.();
    },
    async close() {},
  };
  return backend;
}

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

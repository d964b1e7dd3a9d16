/**
 * The real backend: N ONNX Runtime sessions over one model file, each running one batch at a
 * time. session.run executes on ORT's own threads, so the event loop stays free while a batch
 * computes; N > 1 lets batches overlap on machines with cores to spare.
 */
import ort from 'onnxruntime-node';
import type { BatchOutputs, InferenceBackend, PaddedBatch } from './backend.js';

export interface SessionPoolOptions {
  modelPath: string;
  sessions: number;
  intraOpThreads: number;
  interOpThreads: number;
  executionProviders: ReadonlyArray<'cpu' | 'cuda'>;
  /** Names of the graph's inputs, checked against the file: input_ids, attention_mask, token_type_ids. */
  inputs: readonly string[];
  /** Outputs to fetch, checked against the file. */
  outputs: readonly string[];
}

const REQUIRED_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'];

export class SessionPool implements InferenceBackend {
  private readonly free: ort.InferenceSession[];
  private readonly waiters: Array<(s: ort.InferenceSession) => void> = [];
  private closed = false;

  private constructor(
    private readonly sessions: ort.InferenceSession[],
    private readonly outputs: readonly string[],
  ) {
    this.free = [...sessions];
  }

  static async create(opts: SessionPoolOptions): Promise<SessionPool> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [...opts.executionProviders],
      intraOpNumThreads: opts.intraOpThreads,
      interOpNumThreads: opts.interOpThreads,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    };
    const sessions: ort.InferenceSession[] = [];
    try {
      for (let i = 0; i < opts.sessions; i++) sessions.push(await ort.InferenceSession.create(opts.modelPath, sessionOptions));
      const first = sessions[0]!;
      for (const name of REQUIRED_INPUTS) {
        if (!first.inputNames.includes(name)) throw new Error(`graph has no input ${name} (inputs: ${first.inputNames.join(', ')})`);
      }
      for (const name of opts.inputs) {
        if (!REQUIRED_INPUTS.includes(name)) throw new Error(`config.json names input ${name}; only ${REQUIRED_INPUTS.join(', ')} are fed`);
      }
      for (const name of opts.outputs) {
        if (!first.outputNames.includes(name)) throw new Error(`graph has no output ${name} (outputs: ${first.outputNames.join(', ')})`);
      }
    } catch (err) {
      await Promise.allSettled(sessions.map((s) => s.release()));
      throw err;
    }
    return new SessionPool(sessions, opts.outputs);
  }

  get concurrency(): number {
    return this.sessions.length;
  }

  async run(batch: PaddedBatch): Promise<BatchOutputs> {
    if (this.closed) throw new Error('session pool is closed');
    const session = this.free.pop() ?? (await new Promise<ort.InferenceSession>((r) => this.waiters.push(r)));
    try {
      const dims = [batch.rows, batch.length];
      const feeds = {
        input_ids: new ort.Tensor('int64', batch.inputIds, dims),
        attention_mask: new ort.Tensor('int64', batch.attentionMask, dims),
        token_type_ids: new ort.Tensor('int64', batch.tokenTypeIds, dims),
      };
      const result = await session.run(feeds, [...this.outputs]);
      const out: BatchOutputs = {};
      for (const name of this.outputs) {
        const t = result[name]!;
        if (t.type !== 'float32') throw new Error(`output ${name} is ${t.type}, expected float32`);
        out[name] = { data: t.data as Float32Array, dims: t.dims };
      }
      return out;
    } finally {
      const next = this.waiters.shift();
      if (next) next(session);
      else this.free.push(session);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sessions) {
      try {
        await s.release();
      } catch {
        // Releasing is best effort: one failure must not keep the others alive.
      }
    }
  }
}

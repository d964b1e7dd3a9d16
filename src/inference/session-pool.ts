/**
 * The real backend: N ONNX Runtime sessions over one model file, each in its own worker thread
 * (session-worker.mjs) and each running one batch at a time. onnxruntime-node computes
 * session.run synchronously on the calling thread, so sessions on the main thread would stall
 * the event loop for every batch; in workers the main thread keeps reading, tokenizing and
 * queueing while a batch computes, and N > 1 sessions really overlap.
 */
import { Worker } from 'node:worker_threads';
import type ort from 'onnxruntime-node';
import type { BatchOutputs, InferenceBackend, PaddedBatch } from './backend.js';

export interface SessionPoolOptions {
  modelPath: string;
  sessions: number;
  intraOpThreads: number;
  interOpThreads: number;
  /** Intra-op threads busy-wait between operators (see InferenceConfig.intraOpSpinning). */
  intraOpSpinning: boolean;
  /** Nice value for the session threads, 0 = unchanged (see InferenceConfig.sessionThreadNiceness). */
  niceness: number;
  executionProviders: ReadonlyArray<'cpu' | 'cuda'>;
  /** Names of the graph's inputs, checked against the file: input_ids, attention_mask, token_type_ids. */
  inputs: readonly string[];
  /** Outputs to fetch, checked against the file. */
  outputs: readonly string[];
}

/** The session options every session of a pool gets (also what bench contenders use). */
export function ortSessionOptions(
  opts: Pick<SessionPoolOptions, 'executionProviders' | 'intraOpThreads' | 'interOpThreads' | 'intraOpSpinning'>,
): ort.InferenceSession.SessionOptions {
  const spin = opts.intraOpSpinning ? '1' : '0';
  return {
    executionProviders: [...opts.executionProviders],
    intraOpNumThreads: opts.intraOpThreads,
    interOpNumThreads: opts.interOpThreads,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // Session config entries (onnxruntime_session_options_config_keys.h), passed as strings.
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
}

const REQUIRED_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'];
const WORKER_URL = new URL('./session-worker.mjs', import.meta.url);

type WorkerReply =
  | { type: 'ready'; inputNames: string[]; outputNames: string[] }
  | { type: 'result'; id: number; outputs: Record<string, { data: ArrayBuffer; dims: number[] }> }
  | { type: 'error'; id?: number; message: string }
  | { type: 'released' };

/** One session in one worker thread; the pool hands it one batch at a time. */
class WorkerSession {
  private readonly pending = new Map<number, { resolve: (o: BatchOutputs) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: Error | undefined;
  private onReady: { resolve: (names: { inputNames: string[]; outputNames: string[] }) => void; reject: (e: Error) => void } | undefined;
  private onReleased: (() => void) | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msg: WorkerReply) => this.receive(msg));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`ONNX Runtime worker exited (code ${code})`)));
  }

  static async start(
    opts: SessionPoolOptions,
    sessionOptions: ort.InferenceSession.SessionOptions,
  ): Promise<{ session: WorkerSession; inputNames: string[]; outputNames: string[] }> {
    const session = new WorkerSession(new Worker(WORKER_URL));
    const names = await new Promise<{ inputNames: string[]; outputNames: string[] }>((resolve, reject) => {
      session.onReady = { resolve, reject };
      session.worker.postMessage({ type: 'init', modelPath: opts.modelPath, sessionOptions, outputs: [...opts.outputs], niceness: opts.niceness });
    }).catch(async (err: Error) => {
      await session.worker.terminate();
      throw err;
    });
    return { session, ...names };
  }

  run(batch: PaddedBatch): Promise<BatchOutputs> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<BatchOutputs>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Copied, not transferred: the caller keeps its batch intact (a few tens of KB at most).
      this.worker.postMessage({
        type: 'run',
        id,
        rows: batch.rows,
        length: batch.length,
        inputIds: batch.inputIds,
        attentionMask: batch.attentionMask,
        tokenTypeIds: batch.tokenTypeIds,
      });
    });
  }

  async release(): Promise<void> {
    if (!this.failure) {
      await new Promise<void>((resolve) => {
        this.onReleased = resolve;
        this.worker.postMessage({ type: 'release' });
        setTimeout(resolve, 5000).unref(); // a wedged worker is terminated below anyway
      });
    }
    this.failure ??= new Error('session released');
    await this.worker.terminate();
  }

  private receive(msg: WorkerReply): void {
    switch (msg.type) {
      case 'ready':
        this.onReady?.resolve({ inputNames: msg.inputNames, outputNames: msg.outputNames });
        this.onReady = undefined;
        return;
      case 'result': {
        const waiter = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        const out: BatchOutputs = {};
        for (const [name, t] of Object.entries(msg.outputs)) out[name] = { data: new Float32Array(t.data), dims: t.dims };
        waiter?.resolve(out);
        return;
      }
      case 'error': {
        const err = new Error(msg.message);
        if (msg.id === undefined) {
          this.onReady?.reject(err);
          this.onReady = undefined;
          return;
        }
        const waiter = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        waiter?.reject(err);
        return;
      }
      case 'released':
        this.onReleased?.();
        return;
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.onReady?.reject(err);
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}

export class SessionPool implements InferenceBackend {
  private readonly free: WorkerSession[];
  private readonly waiters: Array<(s: WorkerSession) => void> = [];
  private closed = false;

  private constructor(private readonly sessions: WorkerSession[]) {
    this.free = [...sessions];
  }

  static async create(opts: SessionPoolOptions): Promise<SessionPool> {
    const sessionOptions = ortSessionOptions(opts);
    for (const name of opts.inputs) {
      if (!REQUIRED_INPUTS.includes(name)) throw new Error(`config.json names input ${name}; only ${REQUIRED_INPUTS.join(', ')} are fed`);
    }
    const sessions: WorkerSession[] = [];
    try {
      for (let i = 0; i < opts.sessions; i++) {
        const { session, inputNames, outputNames } = await WorkerSession.start(opts, sessionOptions);
        sessions.push(session);
        if (i > 0) continue;
        for (const name of REQUIRED_INPUTS) {
          if (!inputNames.includes(name)) throw new Error(`graph has no input ${name} (inputs: ${inputNames.join(', ')})`);
        }
        for (const name of opts.outputs) {
          if (!outputNames.includes(name)) throw new Error(`graph has no output ${name} (outputs: ${outputNames.join(', ')})`);
        }
      }
    } catch (err) {
      await Promise.allSettled(sessions.map((s) => s.release()));
      throw err;
    }
    return new SessionPool(sessions);
  }

  get concurrency(): number {
    return this.sessions.length;
  }

  async run(batch: PaddedBatch): Promise<BatchOutputs> {
    if (this.closed) throw new Error('session pool is closed');
    const session = this.free.pop() ?? (await new Promise<WorkerSession>((r) => this.waiters.push(r)));
    try {
      return await session.run(batch);
    } finally {
      const next = this.waiters.shift();
      if (next) next(session);
      else this.free.push(session);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Releasing is best effort: one failure must not keep the others alive.
    await Promise.allSettled(this.sessions.map((s) => s.release()));
  }
}

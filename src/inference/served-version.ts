/**
 * One model version ready to serve: its tokenizer, its sessions (backend), its scheduler, and the
 * task's pre- and post-processing. The host swaps these in and out; the evaluator opens one
 * directly from a folder. Requests count themselves in and out so that a retired version closes
 * only after its last request is answered.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { InferenceConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import { type InferenceBackend, padBatch } from './backend.js';
import { type CancelSignal, RequestControl } from './batching/request-control.js';
import type { Reservation } from './batching/batch-queue.js';
import { Scheduler } from './batching/scheduler.js';
import { DeadlineExceededError, EngineClosedError, InferenceError, InvalidInputError, ModelLoadError, RequestAbortedError } from './errors.js';
import type { Manifest, ServingConfig } from './registry/types.js';
import { SessionPool } from './session-pool.js';
import { buildClassificationRows, type ClassifyInput, type LabelScore, topLabels } from './tasks/classification.js';
import { type Answer, findAnswers, prepareQa, type QaInput } from './tasks/qa.js';
import { type RowInput, TextTokenizer } from './tokenizer.js';

export interface WorkOptions {
  /** Milliseconds this request may take; default REQUEST_DEADLINE_MS. */
  deadlineMs?: number;
  /** Aborted when the caller goes away: queued rows are dropped before they cost compute. */
  signal?: CancelSignal;
  /**
   * true: a text the tokenizer keeps nothing of runs as [CLS] [SEP] instead of being refused
   * (InvalidInputError); for evaluation, which scores every example of a data set as it is.
   */
  allowEmptyText?: boolean;
}

export interface ClassifyOptions extends WorkOptions {
  topK: number;
}

export interface AnswerOptions extends WorkOptions {
  topK: number;
  /** Longest answer, in tokens. */
  maxAnswerLength: number;
  /** false: always the best spans, never "no answer" (tasks/qa.ts AnswerOptions); default true. */
  allowNoAnswer?: boolean;
}

export interface OpenVersionOptions {
  model: string;
  version: number;
  dir: string;
  /** ONNX file inside `dir` (model.onnx in the registry; model-fp32.onnx etc. for evaluation). */
  onnxFile: string;
  config: ServingConfig;
  manifest?: Manifest;
  inference: InferenceConfig;
  metrics?: Metrics;
  logger?: Logger;
  /** Replaces the ONNX Runtime session pool (tests). */
  backend?: InferenceBackend;
}

export class ServedVersion {
  private inflight = 0;
  private closing: Promise<void> | undefined;
  private retired = false;
  private idleWaiters: Array<() => void> = [];

  private constructor(
    readonly model: string,
    readonly version: number,
    readonly config: ServingConfig,
    readonly manifest: Manifest | undefined,
    private readonly tokenizer: TextTokenizer,
    private readonly backend: InferenceBackend,
    private readonly scheduler: Scheduler,
    private readonly opts: OpenVersionOptions,
  ) {}

  /** Tokenizer, sessions, optional warm-up. Throws ModelLoadError naming the failing stage. */
  static async open(opts: OpenVersionOptions): Promise<ServedVersion> {
    const fail = (stage: ModelLoadError['stage'], err: unknown) =>
      new ModelLoadError(opts.model, opts.version, stage, (err as Error)?.message ?? String(err), { cause: err });
    let tokenizer: TextTokenizer;
    try {
      tokenizer = await TextTokenizer.load(path.join(opts.dir, 'tokenizer.json'));
    } catch (err) {
      throw fail('tokenizer', err);
    }
    const check = tokenizer.fastPathCheck;
    if (check?.mismatch !== undefined) {
      opts.logger?.warn(
        { model: opts.model, version: opts.version, text: check.mismatch },
        'the tokenizer fast path disagreed with the tokenizers binding on this text and is off: every text goes to the binding (slower, same ids)',
      );
    } else if (check && check.excluded.length > 0) {
      opts.logger?.info(
        { model: opts.model, version: opts.version, characters: check.excluded.map((c) => `U+${c.toString(16).toUpperCase().padStart(4, '0')}`) },
        'the tokenizer fast path leaves these characters to the binding (it read them otherwise, or could not check them): texts holding them go to the binding (slower, same ids)',
      );
    }
    const inf = opts.inference;
    let backend: InferenceBackend;
    try {
      backend =
        opts.backend ??
        (await SessionPool.create({
          modelPath: path.join(opts.dir, opts.onnxFile),
          sessions: inf.sessionsPerModel,
          intraOpThreads: inf.intraOpThreads,
          interOpThreads: inf.interOpThreads,
          intraOpSpinning: inf.intraOpSpinning,
          ortMemory: inf.ortMemory,
          niceness: inf.sessionThreadNiceness,
          executionProviders: inf.executionProviders,
          inputs: opts.config.inputs,
          outputs: opts.config.outputs,
        }));
    } catch (err) {
      throw fail('session', err);
    }
    const scheduler = new Scheduler({
      model: opts.model,
      backend,
      padId: tokenizer.padId,
      buckets: inf.buckets,
      maxBatchTokens: inf.maxBatchTokens,
      maxBatchRows: inf.maxBatchRows,
      maxBatchDelayMs: inf.maxBatchDelayMs,
      maxQueuedRows: inf.maxQueuedRows,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    const served = new ServedVersion(opts.model, opts.version, opts.config, opts.manifest, tokenizer, backend, scheduler, opts);
    if (inf.warmup) {
      try {
        await served.warmup();
      } catch (err) {
        await served.close();
        throw fail('warmup', err);
      }
    }
    if (opts.metrics) {
      const labels = { model: opts.model, version: String(opts.version) };
      const bytes = await stat(path.join(opts.dir, opts.onnxFile)).then(
        (s) => s.size,
        () => 0,
      );
      opts.metrics.modelFileBytes.set(labels, bytes);
      opts.metrics.modelSessions.set(labels, backend.concurrency);
    }
    return served;
  }

  get task(): ServingConfig['task'] {
    return this.config.task;
  }

  /** Rows admitted and waiting for a batch: live work that shadow replays make way for. */
  get queuedRows(): number {
    return this.scheduler.depth;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Real forward passes at every bucket length the model can take (and its max_length), each at
   * the largest batch the budget allows there, on every session at once; outputs are checked
   * for shape and finiteness. A broken graph fails here, not on a user's request.
   */
  async warmup(): Promise<void> {
    const inf = this.opts.inference;
    const max = this.config.max_length;
    const lengths = [...new Set([...inf.buckets.filter((b) => b < max), max])];
    const filler = Math.min(5, this.tokenizer.vocabSize - 1);
    for (const length of lengths) {
      const rows = Math.max(1, Math.min(inf.maxBatchRows, Math.floor(inf.maxBatchTokens / length)));
      const row: RowInput = this.tokenizer.assemble(new Array<number>(Math.max(0, length - 2)).fill(filler));
      const batch = padBatch(new Array(rows).fill(row), this.tokenizer.padId);
      const results = await Promise.all(Array.from({ length: this.backend.concurrency }, () => this.backend.run(batch)));
      for (const outputs of results) {
        for (const name of this.config.outputs) {
          const t = outputs[name];
          if (!t) throw new Error(`warm-up at length ${length}: no output ${name}`);
          const expected = this.task === 'classification' ? [rows, this.config.labels!.length] : [rows, length];
          if (t.dims.length !== 2 || t.dims[0] !== expected[0] || t.dims[1] !== expected[1]) {
            throw new Error(`warm-up at length ${length}: ${name} has shape [${t.dims.join(', ')}], expected [${expected.join(', ')}]`);
          }
          if (!t.data.every(Number.isFinite)) throw new Error(`warm-up at length ${length}: ${name} holds NaN or infinity`);
        }
      }
    }
  }

  async classify(inputs: readonly ClassifyInput[], options: ClassifyOptions): Promise<LabelScore[][]> {
    this.expectTask('classification');
    for (const [i, input] of inputs.entries()) {
      const ok = typeof input === 'string' || (typeof input?.text === 'string' && (input.text_pair === undefined || typeof input.text_pair === 'string'));
      if (!ok) throw new InvalidInputError(`input ${i} must be a string or {text, text_pair?}`);
    }
    return this.work('classification', inputs.length, options, async (control, reservation) => {
      const rows = await buildClassificationRows(this.tokenizer, inputs, {
        maxLength: this.config.max_length,
        allowEmptyText: options.allowEmptyText ?? false,
      });
      control.throwIfCancelled();
      const outputs = await this.scheduler.submit(reservation, control, rows);
      return outputs.map((o) => topLabels(o.logits!.data, this.config.labels!, options.topK));
    });
  }

  async answer(inputs: readonly QaInput[], options: AnswerOptions): Promise<Answer[][]> {
    this.expectTask('qa');
    for (const [i, input] of inputs.entries()) {
      if (typeof input?.question !== 'string' || typeof input?.context !== 'string') {
        throw new InvalidInputError(`input ${i} must be {question, context} with string values`);
      }
    }
    if (!Number.isInteger(options.maxAnswerLength) || options.maxAnswerLength < 1) {
      throw new InvalidInputError('maxAnswerLength must be a positive integer (tokens)');
    }
    return this.work('qa', inputs.length, options, async (control, reservation) => {
      const prepared = await prepareQa(this.tokenizer, inputs, {
        maxLength: this.config.max_length,
        docStride: this.config.doc_stride ?? 128,
        maxQueryLength: this.config.max_query_length ?? 64,
        maxWindows: this.opts.inference.maxQaWindows,
        allowEmptyText: options.allowEmptyText ?? false,
      });
      control.throwIfCancelled();
      const outputs = await this.scheduler.submit(
        reservation,
        control,
        prepared.flatMap((p) => p.windows.map((w) => w.row)),
      );
      let k = 0;
      return prepared.map((p) => {
        const logits = p.windows.map(() => {
          const o = outputs[k++]!;
          return { start: o.start_logits!.data, end: o.end_logits!.data };
        });
        return findAnswers(p, logits, {
          topK: options.topK,
          maxAnswerLength: options.maxAnswerLength,
          ...(options.allowNoAnswer === undefined ? {} : { allowNoAnswer: options.allowNoAnswer }),
        });
      });
    });
  }

  /** Admission, deadline/abort, accounting and metrics shared by both tasks. */
  private async work<T>(task: string, rows: number, options: WorkOptions, body: (control: RequestControl, reservation: Reservation) => Promise<T>): Promise<T> {
    if (this.closing) throw new EngineClosedError(`${this.model}@${this.version} is closed`);
    if (rows === 0) throw new InvalidInputError('inputs must not be empty');
    const deadlineMs = options.deadlineMs ?? this.opts.inference.requestDeadlineMs;
    if (!Number.isFinite(deadlineMs) || deadlineMs <= 0) throw new InvalidInputError('deadlineMs must be a positive number');
    const labels = { model: this.model, task };
    const control = new RequestControl(deadlineMs, options.signal);
    let reservation: Reservation | undefined;
    this.inflight++;
    try {
      control.throwIfCancelled();
      reservation = this.scheduler.admit(rows);
      // Race the work against cancellation: the caller hears about a deadline at once, while
      // the queue drops the request's rows before they reach a session.
      const cancelled = new Promise<never>((_, reject) => control.onCancel(reject));
      cancelled.catch(() => {});
      const work = body(control, reservation);
      work.catch(() => {}); // if cancellation wins the race, the work's own rejection is expected
      const result = await Promise.race([work, cancelled]);
      this.opts.metrics?.inferenceRequests.inc({ ...labels, outcome: 'ok' });
      return result;
    } catch (err) {
      const code = err instanceof InferenceError ? err.code : 'internal';
      this.opts.metrics?.inferenceRequests.inc({ ...labels, outcome: code });
      if (err instanceof DeadlineExceededError) this.opts.metrics?.requestsDropped.inc({ model: this.model, reason: 'deadline' });
      if (err instanceof RequestAbortedError) this.opts.metrics?.requestsDropped.inc({ model: this.model, reason: 'aborted' });
      throw err;
    } finally {
      reservation?.release();
      control.dispose();
      if (--this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private expectTask(task: ServingConfig['task']): void {
    if (this.task !== task) {
      throw new InvalidInputError(`model ${this.model} is a ${this.task} model; send it to ${this.task === 'qa' ? '/v1/qa' : '/v1/classify'} instead`);
    }
  }

  /** Close once every request that reached this version is answered (hot swap, eviction). */
  retire(): Promise<void> {
    this.retired = true;
    return this.whenIdle().then(() => this.close());
  }

  private whenIdle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuse new requests, finish queued ones, release the sessions. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.scheduler.close();
      } catch (err) {
        this.opts.logger?.warn({ err, model: this.model }, 'scheduler close failed');
      }
      try {
        await this.whenIdle();
      } catch {
        // whenIdle never rejects; kept symmetrical with the other steps.
      }
      try {
        await this.backend.close();
      } catch (err) {
        this.opts.logger?.warn({ err, model: this.model }, 'session release failed');
      }
      const labels = { model: this.model, version: String(this.version) };
      this.opts.metrics?.modelFileBytes.remove(labels);
      this.opts.metrics?.modelSessions.remove(labels);
    })();
    return this.closing;
  }

  get isRetired(): boolean {
    return this.retired;
  }
}

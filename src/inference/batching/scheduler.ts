/**
 * The scheduler of one model version: admits rows (or refuses them before any work), queues them
 * by length, and whenever a session is free runs the next batch the queue gives it. It owns the
 * queue; nothing else touches it.
 *
 * Accounting: `pending` counts rows admitted and not yet in a running batch (reserved while the
 * request tokenizes, then queued). MAX_QUEUED_ROWS bounds it, which bounds memory and, with the
 * measured throughput, the time a new row would wait: that estimate is the Retry-After we give.
 */
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import { type BatchOutputs, type InferenceBackend, padBatch, sliceRow } from '../backend.js';
import { EngineClosedError, InferenceError, InferenceFailedError, InvalidInputError, QueueFullError } from '../errors.js';
import type { RowInput } from '../tokenizer.js';
import { BatchQueue, type QueueEntry, type TakenBatch } from './batch-queue.js';
import type { RequestControl } from './request-control.js';

const HAND_OVER = Symbol('hand over');

export interface SchedulerOptions {
  /** Model name, the metrics label. */
  model: string;
  backend: InferenceBackend;
  padId: number;
  buckets: readonly number[];
  maxBatchTokens: number;
  maxBatchRows: number;
  maxBatchDelayMs: number;
  maxQueuedRows: number;
  metrics?: Metrics;
  logger?: Logger;
}

/** Rows reserved for one request before it tokenizes; resized once its real row count is known. */
export interface Admission {
  readonly rows: number;
  /** Give back the reservation (the request failed before submitting); safe to call twice. */
  release(): void;
}

export class Scheduler {
  private readonly queue: BatchQueue;
  private pending = 0;
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private idleWaiters: Array<() => void> = [];
  /** Rows per second per session, smoothed; 0 until the first batch. */
  private rowsPerSecond = 0;

  constructor(private readonly opts: SchedulerOptions) {
    this.queue = new BatchQueue({
      edges: opts.buckets,
      budget: { maxTokens: opts.maxBatchTokens, maxRows: opts.maxBatchRows },
      maxDelayMs: opts.maxBatchDelayMs,
      onDrop: () => {
        this.pending--;
      },
    });
  }

  /** Rows admitted and not yet running. */
  get depth(): number {
    return this.pending;
  }

  get idle(): boolean {
    return this.pending === 0 && this.running === 0;
  }

  /** Reserve `rows` or refuse at once with QueueFullError (before the request costs anything). */
  admit(rows: number): Admission {
    if (this.closing) throw new EngineClosedError(`${this.opts.model} is shutting down`);
    this.reserve(rows);
    let held = rows;
    const admission: Admission & { [HAND_OVER](): number } = {
      get rows() {
        return held;
      },
      release: () => {
        this.pending -= held;
        held = 0;
        this.afterChange();
      },
      // submit() takes the rows over: from then on the queue's accounting owns them.
      [HAND_OVER]: () => {
        const n = held;
        held = 0;
        return n;
      },
    };
    return admission;
  }

  /**
   * Queue the rows of one request (its admission becomes theirs) and resolve with each row's
   * outputs, or reject with the request's cancellation reason or the backend's error.
   */
  submit(admission: Admission, control: RequestControl, rows: readonly RowInput[]): Promise<BatchOutputs[]> {
    if (control.cancelled) {
      admission.release();
      return Promise.reject(control.cancelled);
    }
    const held = (admission as Admission & { [HAND_OVER](): number })[HAND_OVER]();
    // QA windows are known only after tokenizing: grow (or shrink) the reservation to match.
    const extra = rows.length - held;
    if (extra > 0) {
      try {
        this.reserve(extra);
      } catch (err) {
        this.pending -= held;
        this.afterChange();
        return Promise.reject(err);
      }
    } else {
      this.pending += extra;
    }
    return new Promise<BatchOutputs[]>((resolve, reject) => {
      const results = new Array<BatchOutputs>(rows.length);
      const entries = new Set<QueueEntry>();
      let left = rows.length;
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        if (error) {
          this.pending -= this.queue.remove(entries);
          this.afterChange();
          reject(error);
        } else {
          resolve(results);
        }
      };
      const now = performance.now();
      rows.forEach((row, i) => {
        entries.add({
          ...row,
          tokens: row.inputIds.length,
          enqueuedAt: now,
          control,
          deliver: (out) => {
            results[i] = out;
            if (--left === 0) finish();
          },
          fail: finish,
        });
      });
      control.onCancel(finish);
      if (settled) return;
      if (rows.length === 0) return finish();
      this.queue.append([...entries]);
      this.pump();
    });
  }

  /** Resolves once nothing waits and nothing runs. */
  drain(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuse new work, run what is queued without waiting for fuller batches, resolve when idle. */
  async close(): Promise<void> {
    this.closing = true;
    this.pump();
    await this.drain();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private reserve(rows: number): void {
    if (rows > this.opts.maxQueuedRows) {
      // No amount of waiting makes this fit: it is the request that must change, not the timing.
      throw new InvalidInputError(
        `the request needs ${rows} rows (inputs, or QA windows) but at most ${this.opts.maxQueuedRows} can queue (server setting MAX_QUEUED_ROWS); send fewer or shorter inputs`,
      );
    }
    if (this.pending + rows > this.opts.maxQueuedRows) {
      this.opts.metrics?.requestsDropped.inc({ model: this.opts.model, reason: 'queue_full' });
      throw new QueueFullError(this.opts.model, this.retryAfterSeconds());
    }
    this.pending += rows;
    this.afterChange();
  }

  private retryAfterSeconds(): number {
    if (this.rowsPerSecond <= 0) return 1;
    const perSecond = this.rowsPerSecond * this.opts.backend.concurrency;
    return Math.min(60, Math.max(1, Math.ceil(this.pending / perSecond)));
  }

  private readonly pump = (): void => {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running < this.opts.backend.concurrency) {
      // Waiting for fuller batches only pays while another batch computes: with every session
      // idle, a wait is pure latency (rows pile up anyway while a batch runs).
      const next = this.queue.nextBatch(performance.now(), this.closing || this.running === 0);
      if (!next) break;
      if ('waitMs' in next) {
        this.timer = setTimeout(this.pump, Math.max(1, Math.ceil(next.waitMs)));
        break;
      }
      this.pending -= next.batch.entries.length;
      void this.run(next.batch);
    }
    this.afterChange();
  };

  private async run({ entries, plan }: TakenBatch): Promise<void> {
    this.running++;
    const { model } = this.opts;
    const m = this.opts.metrics;
    const bucket = String(this.opts.buckets[plan.bucket] ?? plan.paddedLength);
    const start = performance.now();
    for (const e of entries) m?.queueWait.observe({ model }, (start - e.enqueuedAt) / 1000);
    try {
      const batch = padBatch(entries, this.opts.padId);
      const realTokens = entries.reduce((s, e) => s + e.tokens, 0);
      m?.batchRows.observe({ model }, batch.rows);
      m?.batchTokens.observe({ model }, batch.rows * batch.length);
      m?.paddingRatio.observe({ model, bucket }, realTokens / (batch.rows * batch.length));
      const outputs = await this.opts.backend.run(batch);
      const seconds = (performance.now() - start) / 1000;
      m?.batchDuration.observe({ model, bucket }, seconds);
      const rate = batch.rows / Math.max(seconds, 1e-6);
      this.rowsPerSecond = this.rowsPerSecond === 0 ? rate : 0.8 * this.rowsPerSecond + 0.2 * rate;
      for (const [i, e] of entries.entries()) e.deliver(sliceRow(outputs, i));
    } catch (err) {
      this.opts.logger?.error({ err, model, rows: entries.length }, 'batch failed');
      const error =
        err instanceof InferenceError ? err : new InferenceFailedError(`inference failed for ${model}: ${(err as Error)?.message ?? err}`, { cause: err });
      for (const e of entries) e.fail(error);
    } finally {
      this.running--;
      this.pump();
    }
  }

  private afterChange(): void {
    this.opts.metrics?.queueDepth.set({ model: this.opts.model }, this.pending);
    if (this.idle && this.idleWaiters.length > 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}

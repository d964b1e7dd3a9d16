/**
 * The scheduler of one model version: admits requests through its batch queue (which refuses
 * them before any work when full), and whenever a session is free runs the next batch the queue
 * forms. The queue owns the rows and their count; the scheduler owns the sessions' turn-taking,
 * the throughput estimate behind Retry-After, and the batch metrics.
 *
 * MAX_QUEUED_ROWS bounds the queue's depth, which bounds memory and, with the measured
 * throughput, the time a new row would wait: that estimate is the Retry-After we give.
 */
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import { type BatchOutputs, type InferenceBackend, padBatch, sliceRow } from '../backend.js';
import { EngineClosedError, InferenceError, InferenceFailedError, QueueFullError } from '../errors.js';
import type { RowInput } from '../tokenizer.js';
import { BatchQueue, type QueueRow, type Reservation, type TakenBatch } from './batch-queue.js';
import type { RequestControl } from './request-control.js';

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

export class Scheduler {
  private readonly queue: BatchQueue;
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private idleWaiters: Array<() => void> = [];
  /** Rows per second per session, smoothed; 0 until the first batch. */
  private rowsPerSecond = 0;

  constructor(private readonly opts: SchedulerOptions) {
    this.queue = new BatchQueue({
      model: opts.model,
      edges: opts.buckets,
      budget: { maxTokens: opts.maxBatchTokens, maxRows: opts.maxBatchRows },
      maxDelayMs: opts.maxBatchDelayMs,
      maxQueuedRows: opts.maxQueuedRows,
      retryAfterSeconds: () => this.retryAfterSeconds(),
      onDepthChange: () => this.afterChange(),
    });
  }

  /** Rows admitted and not yet running (the queue's count). */
  get depth(): number {
    return this.queue.depth;
  }

  get idle(): boolean {
    return this.queue.depth === 0 && this.running === 0;
  }

  /** Reserve `rows` or refuse at once (QueueFullError, InvalidInputError) before the request costs anything. */
  admit(rows: number): Reservation {
    if (this.closing) throw new EngineClosedError(`${this.opts.model} is shutting down`);
    return this.counted(() => this.queue.reserve(rows));
  }

  /**
   * Queue the rows of one request in place of its reservation and resolve with each row's
   * outputs, or reject with the request's cancellation reason or the backend's error.
   */
  submit(reservation: Reservation, control: RequestControl, rows: readonly RowInput[]): Promise<BatchOutputs[]> {
    if (control.cancelled) {
      reservation.release();
      return Promise.reject(control.cancelled);
    }
    if (rows.length === 0) {
      reservation.release();
      return Promise.resolve([]);
    }
    return new Promise<BatchOutputs[]>((resolve, reject) => {
      const results = new Array<BatchOutputs>(rows.length);
      let left = rows.length;
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve(results);
      };
      const queued: QueueRow[] = rows.map((row, i) => ({
        ...row,
        deliver: (out) => {
          results[i] = out;
          if (--left === 0) finish();
        },
        fail: finish,
      }));
      control.onCancel(finish);
      try {
        this.counted(() => this.queue.enqueue(reservation, control, queued));
      } catch (err) {
        finish(err as Error);
        return;
      }
      this.pump();
    });
  }

  /** Runs an admission step, counting a refusal for a full queue. */
  private counted<T>(step: () => T): T {
    try {
      return step();
    } catch (err) {
      if (err instanceof QueueFullError) this.opts.metrics?.requestsDropped.inc({ model: this.opts.model, reason: 'queue_full' });
      throw err;
    }
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

  private retryAfterSeconds(): number {
    if (this.rowsPerSecond <= 0) return 1;
    const perSecond = this.rowsPerSecond * this.opts.backend.concurrency;
    return Math.min(60, Math.max(1, Math.ceil(this.queue.depth / perSecond)));
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
    this.opts.metrics?.queueDepth.set({ model: this.opts.model }, this.queue.depth);
    if (this.idle && this.idleWaiters.length > 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}

/**
 * The batch queue of one model version: one owner (the scheduler) and two verbs, append and
 * nextBatch. Rows wait in length buckets; nextBatch applies formBatch and the max-delay rule and
 * drops rows whose request was cancelled or ran out of time, so they never reach a session.
 */
import type { BatchOutputs } from '../backend.js';
import type { RowInput } from '../tokenizer.js';
import { type BatchBudget, type BatchPlan, bucketIndex, formBatch, type Waiting } from './form-batch.js';
import type { RequestControl } from './request-control.js';

export interface QueueEntry extends Waiting, RowInput {
  readonly control: RequestControl;
  deliver(outputs: BatchOutputs): void;
  fail(error: Error): void;
}

export interface TakenBatch {
  entries: QueueEntry[];
  plan: BatchPlan;
}

export type NextBatch = { batch: TakenBatch } | { waitMs: number } | undefined;

export interface BatchQueueOptions {
  edges: readonly number[];
  budget: BatchBudget;
  maxDelayMs: number;
  /** Called with each entry dropped because its request was cancelled or expired. */
  onDrop?: (entry: QueueEntry, reason: Error) => void;
}

export class BatchQueue {
  private readonly buckets: QueueEntry[][];
  private rows = 0;

  constructor(private readonly opts: BatchQueueOptions) {
    this.buckets = opts.edges.map(() => []);
  }

  get size(): number {
    return this.rows;
  }

  append(entries: readonly QueueEntry[]): void {
    for (const e of entries) this.buckets[bucketIndex(e.tokens, this.opts.edges)]!.push(e);
    this.rows += entries.length;
  }

  /** Take rows out early (their request was cancelled); entries not in the queue are ignored. */
  remove(entries: ReadonlySet<QueueEntry>): number {
    let removed = 0;
    for (let b = 0; b < this.buckets.length; b++) {
      const before = this.buckets[b]!.length;
      this.buckets[b] = this.buckets[b]!.filter((e) => !entries.has(e));
      removed += before - this.buckets[b]!.length;
    }
    this.rows -= removed;
    return removed;
  }

  /**
   * The next batch to run now, or how long to wait for more rows (max-delay), or undefined when
   * nothing waits. `flush` skips the wait (draining on close).
   */
  nextBatch(now: number, flush = false): NextBatch {
    this.dropExpired(now);
    const plan = formBatch(this.buckets, this.opts.edges, this.opts.budget);
    if (!plan) return undefined;
    const waited = now - plan.oldestAt;
    if (!plan.full && !flush && waited < this.opts.maxDelayMs) return { waitMs: this.opts.maxDelayMs - waited };
    const entries = this.buckets[plan.bucket]!.splice(0, plan.count);
    this.rows -= entries.length;
    return { batch: { entries, plan } };
  }

  private dropExpired(now: number): void {
    const dropped: QueueEntry[] = [];
    for (let b = 0; b < this.buckets.length; b++) {
      const keep: QueueEntry[] = [];
      for (const e of this.buckets[b]!) (e.control.cancelled || now >= e.control.deadlineAt ? dropped : keep).push(e);
      this.buckets[b] = keep;
    }
    this.rows -= dropped.length;
    // Cancel only after the buckets are consistent: cancel listeners call remove() re-entrantly.
    for (const e of dropped) {
      e.control.expired(now);
      this.opts.onDrop?.(e, e.control.cancelled!);
    }
  }
}

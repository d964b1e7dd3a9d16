/**
 * The batch queue of one model version, the one owner of its rows and of their count (as in
 * text-embeddings-inference's queue). Three verbs:
 * - reserve(rows): admission before any work; a typed Reservation, or QueueFullError (429) /
 *   InvalidInputError (a request that could never fit) at once;
 * - enqueue(reservation, rows): the request's rows join the length buckets; the reservation
 *   becomes them (resized: QA windows are known only after tokenizing);
 * - nextBatch(now): formBatch over the live rows, under the max-delay rule.
 * Rows whose request was cancelled or ran out of time stay where they are and are skipped when
 * the next batch is formed; they stop counting the moment their request is cancelled. `depth`
 * (reserved + queued live rows) is the one count: MAX_QUEUED_ROWS bounds it, the metric shows it.
 */
import { InvalidInputError, QueueFullError } from '../errors.js';
import type { BatchOutputs } from '../backend.js';
import type { RowInput } from '../tokenizer.js';
import { type BatchBudget, type BatchPlan, bucketIndex, formBatch, type Waiting } from './form-batch.js';
import type { RequestControl } from './request-control.js';

/** One row of a request, with where its result goes. */
export interface QueueRow extends RowInput {
  deliver(outputs: BatchOutputs): void;
  fail(error: Error): void;
}

export interface QueueEntry extends Waiting, QueueRow {
  readonly control: RequestControl;
  /** The rows of the same request still waiting and counted. */
  readonly request: { waiting: number };
}

export interface TakenBatch {
  entries: QueueEntry[];
  plan: BatchPlan;
}

export type NextBatch = { batch: TakenBatch } | { waitMs: number } | undefined;

/**
 * Rows held for one request from admission until they are queued (enqueue) or given back
 * (release). Spent once: enqueue or release, never both.
 */
export class Reservation {
  private spent = false;

  constructor(
    readonly rows: number,
    private readonly settle: (rows: number) => void,
  ) {}

  /** Give the rows back (the request failed before it queued). Safe to call twice. */
  release(): void {
    if (this.spent) return;
    this.spent = true;
    this.settle(this.rows);
  }

  /** For the queue that made it: the rows, once, as the request queues. */
  spend(): number {
    if (this.spent) throw new Error('this reservation was already used or released');
    this.spent = true;
    return this.rows;
  }
}

export interface BatchQueueOptions {
  /** Model name, for error messages. */
  model: string;
  edges: readonly number[];
  budget: BatchBudget;
  maxDelayMs: number;
  /** MAX_QUEUED_ROWS: the bound on depth. */
  maxQueuedRows: number;
  /** Seconds until a new row would likely fit, for Retry-After. */
  retryAfterSeconds: () => number;
  /** Called after depth changed (metrics, idle waiters). */
  onDepthChange?: (depth: number) => void;
}

export class BatchQueue {
  private readonly buckets: QueueEntry[][];
  private reserved = 0;
  private queued = 0;

  constructor(private readonly opts: BatchQueueOptions) {
    this.buckets = opts.edges.map(() => []);
  }

  /** Rows admitted and not yet in a running batch: reserved, or queued and still wanted. */
  get depth(): number {
    return this.reserved + this.queued;
  }

  /** Admission: holds `rows` or throws (InvalidInputError if it can never fit, else QueueFullError). */
  reserve(rows: number): Reservation {
    this.checkRoom(rows);
    this.reserved += rows;
    this.changed();
    return new Reservation(rows, (n) => {
      this.reserved -= n;
      this.changed();
    });
  }

  /**
   * Queues the rows of one request in place of its reservation. When the request needs more rows
   * than it reserved and they do not fit, the reservation is given back and the error thrown.
   */
  enqueue(reservation: Reservation, control: RequestControl, rows: readonly QueueRow[], now = performance.now()): void {
    const held = reservation.spend();
    this.reserved -= held;
    if (rows.length > held) {
      try {
        this.checkRoom(rows.length);
      } catch (err) {
        this.changed();
        throw err;
      }
    }
    const request = { waiting: rows.length };
    this.queued += rows.length;
    for (const row of rows) {
      const entry: QueueEntry = { ...row, tokens: row.inputIds.length, enqueuedAt: now, control, request };
      this.buckets[bucketIndex(entry.tokens, this.opts.edges)]!.push(entry);
    }
    // A cancelled request's rows stop counting at once; they are skipped when a batch is formed.
    control.onCancel(() => {
      this.queued -= request.waiting;
      request.waiting = 0;
      this.changed();
    });
    this.changed();
  }

  /**
   * The next batch to run now, or how long to wait for more rows (max-delay), or undefined when
   * nothing waits. `flush` skips the wait (draining on close, or with every session idle).
   */
  nextBatch(now: number, flush = false): NextBatch {
    this.skipCancelled(now);
    const plan = formBatch(this.buckets, this.opts.edges, this.opts.budget);
    if (!plan) return undefined;
    const waited = now - plan.oldestAt;
    if (!plan.full && !flush && waited < this.opts.maxDelayMs) return { waitMs: this.opts.maxDelayMs - waited };
    const entries = this.buckets[plan.bucket]!.splice(0, plan.count);
    for (const e of entries) e.request.waiting--;
    this.queued -= entries.length;
    this.changed();
    return { batch: { entries, plan } };
  }

  /** Leaves out rows whose request was cancelled or whose deadline passed (which cancels it). */
  private skipCancelled(now: number): void {
    for (let b = 0; b < this.buckets.length; b++) this.buckets[b] = this.buckets[b]!.filter((e) => !e.control.expired(now));
  }

  /** Throws when `rows` more cannot be admitted. */
  private checkRoom(rows: number): void {
    const max = this.opts.maxQueuedRows;
    if (rows > max) {
      // No amount of waiting makes this fit: it is the request that must change, not the timing.
      throw new InvalidInputError(
        `the request needs ${rows} rows (inputs, or QA windows) but at most ${max} can queue (server setting MAX_QUEUED_ROWS); send fewer or shorter inputs`,
      );
    }
    if (this.depth + rows > max) throw new QueueFullError(this.opts.model, this.opts.retryAfterSeconds());
  }

  private changed(): void {
    this.opts.onDepthChange?.(this.depth);
  }
}

/**
 * The batch queue as the one owner of its rows: admission gives a typed reservation, the depth
 * is one count (reserved + queued live rows), cancelled rows stop counting at once and are skipped
 * when the next batch is formed, never removed from outside.
 */
import { describe, expect, it } from 'vitest';
import { BatchQueue, type QueueRow } from '../../src/inference/batching/batch-queue.js';
import { RequestControl } from '../../src/inference/batching/request-control.js';
import { InvalidInputError, QueueFullError, RequestAbortedError } from '../../src/inference/errors.js';

const rowOf = (len: number): QueueRow => ({ inputIds: new Array(len).fill(5), typeIds: new Array(len).fill(0), deliver: () => {}, fail: () => {} });

function make(maxQueuedRows = 8): BatchQueue {
  return new BatchQueue({
    model: 'm',
    edges: [16, 32],
    budget: { maxTokens: 256, maxRows: 8 },
    maxDelayMs: 0,
    maxQueuedRows,
    retryAfterSeconds: () => 3,
  });
}

describe('BatchQueue', () => {
  it('counts reserved and queued rows once, and frees them as batches are taken', () => {
    const q = make();
    const r = q.reserve(3);
    expect(q.depth).toBe(3);
    const control = new RequestControl(10_000);
    q.enqueue(r, control, [rowOf(4), rowOf(4), rowOf(4)], 0);
    expect(q.depth).toBe(3);
    const next = q.nextBatch(1, true);
    expect(next && 'batch' in next ? next.batch.entries.length : 0).toBe(3);
    expect(q.depth).toBe(0);
    control.dispose();
  });

  it('a reservation is spent once: released or queued, never both', () => {
    const q = make();
    const r = q.reserve(2);
    r.release();
    r.release();
    expect(q.depth).toBe(0);
    expect(() => q.enqueue(r, new RequestControl(1000), [rowOf(4)])).toThrow(/already used or released/);
  });

  it('refuses beyond MAX_QUEUED_ROWS: 429 when it may fit later, invalid input when it never can', () => {
    const q = make(4);
    q.reserve(3);
    expect(() => q.reserve(2)).toThrow(QueueFullError);
    expect(() => q.reserve(5)).toThrow(InvalidInputError);
  });

  it('a request that grows past the room left gives its reservation back', () => {
    const q = make(4);
    const r = q.reserve(1);
    q.reserve(2);
    expect(() => q.enqueue(r, new RequestControl(1000), [rowOf(4), rowOf(4), rowOf(4)])).toThrow(QueueFullError);
    expect(q.depth).toBe(2);
  });

  it('rows of a cancelled request stop counting at once and are skipped when the next batch forms', () => {
    const q = make();
    const gone = new RequestControl(10_000);
    const kept = new RequestControl(10_000);
    q.enqueue(q.reserve(2), gone, [rowOf(4), rowOf(4)], 0);
    q.enqueue(q.reserve(1), kept, [rowOf(4)], 1);
    gone.cancel(new RequestAbortedError());
    expect(q.depth).toBe(1);
    const next = q.nextBatch(2, true);
    expect(next && 'batch' in next ? next.batch.entries.map((e) => e.control) : []).toEqual([kept]);
    expect(q.nextBatch(3, true)).toBeUndefined();
    expect(q.depth).toBe(0);
    kept.dispose();
  });
});

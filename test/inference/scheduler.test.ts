import { afterEach, describe, expect, it } from 'vitest';
import { RequestControl } from '../../src/inference/batching/request-control.js';
import { Scheduler, type SchedulerOptions } from '../../src/inference/batching/scheduler.js';
import { DeadlineExceededError, InvalidInputError, QueueFullError, RequestAbortedError } from '../../src/inference/errors.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { type FakeBackend, fakeBackend, tick } from './helpers.js';

const row = (len: number, id = 7) => ({ inputIds: [2, ...new Array(Math.max(0, len - 2)).fill(id), 3], typeIds: new Array(len).fill(0) });

let metrics: Metrics;
afterEach(() => metrics?.close());

function make(backend: FakeBackend, over: Partial<SchedulerOptions> = {}): Scheduler {
  metrics = createMetrics({ defaultMetrics: false });
  return new Scheduler({
    model: 'm',
    backend,
    padId: 0,
    buckets: [16, 32, 64],
    maxBatchTokens: 256,
    maxBatchRows: 4,
    maxBatchDelayMs: 0,
    maxQueuedRows: 16,
    metrics,
    ...over,
  });
}

function submit(s: Scheduler, rows: ReturnType<typeof row>[], opts: { deadlineMs?: number; signal?: AbortSignal } = {}) {
  const control = new RequestControl(opts.deadlineMs ?? 10_000, opts.signal);
  const p = s.submit(s.admit(rows.length), control, rows).finally(() => control.dispose());
  p.catch(() => {});
  return p;
}

describe('Scheduler', () => {
  it('batches waiting rows, padded to the longest row, and returns each row its own outputs', async () => {
    const backend = fakeBackend({ manual: true });
    const s = make(backend);
    const first = submit(s, [row(5)]); // starts at once, holds the only session
    await tick();
    const a = submit(s, [row(10, 1)]);
    const b = submit(s, [row(12, 1)]);
    backend.release();
    await first;
    await tick();
    expect(backend.batches[1]).toMatchObject({ rows: 2, length: 12 });
    backend.release();
    const [ra, rb] = [await a, await b];
    expect(Array.from(ra[0]!.logits!.data)).toEqual([2 + 8 * 1 + 3, 10, 0]);
    expect(Array.from(rb[0]!.logits!.data)).toEqual([2 + 10 * 1 + 3, 12, 0]);
    await s.close();
  });

  it('runs at once when every session is idle: a wait would be pure latency', async () => {
    const backend = fakeBackend();
    const s = make(backend, { maxBatchDelayMs: 500 });
    const t0 = performance.now();
    await submit(s, [row(5)]);
    expect(performance.now() - t0).toBeLessThan(250);
    await s.close();
  });

  it('while a batch computes, a free session waits at most max-delay for more rows', async () => {
    const backend = fakeBackend({ concurrency: 2, manual: true });
    const s = make(backend, { maxBatchDelayMs: 40 });
    const first = submit(s, [row(5)]); // runs at once on one session and holds it
    await tick(1);
    const t0 = performance.now();
    const a = submit(s, [row(5)]);
    await tick(10);
    const b = submit(s, [row(6)]);
    await tick(60);
    expect(backend.batches).toHaveLength(2);
    expect(backend.batches[1]!.rows).toBe(2); // a and b rode the same batch
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
    backend.release();
    backend.release();
    await Promise.all([first, a, b]);
    await s.close();
  });

  it('does not wait when the batch is already full', async () => {
    const backend = fakeBackend();
    const s = make(backend, { maxBatchDelayMs: 5000 });
    const t0 = performance.now();
    await submit(s, [row(5), row(5), row(5), row(5)]);
    expect(performance.now() - t0).toBeLessThan(1000);
    await s.close();
  });

  it('refuses at admission when the queue is full, with a retry-after', async () => {
    const backend = fakeBackend({ manual: true });
    const s = make(backend, { maxQueuedRows: 4 });
    const busy = submit(s, [row(5)]);
    await tick();
    const queued = submit(s, [row(5), row(5), row(5), row(5)]);
    let err: unknown;
    try {
      s.admit(1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    const text = await metrics.registry.getSingleMetricAsString('distillery_requests_dropped_total');
    expect(text).toContain('reason="queue_full"');
    backend.release();
    await busy;
    await tick();
    backend.release();
    await queued;
    await s.close();
  });

  it('refuses a request larger than the whole queue as invalid input, not as a retry-later', () => {
    const s = make(fakeBackend({ manual: true }));
    expect(() => s.admit(17)).toThrow(InvalidInputError);
    expect(() => s.admit(17)).toThrow(/MAX_QUEUED_ROWS/);
  });

  it('drops rows whose deadline passed before they cost compute', async () => {
    const backend = fakeBackend({ manual: true });
    const s = make(backend);
    const busy = submit(s, [row(5)]);
    await tick();
    const late = submit(s, [row(20, 9), row(21, 9)], { deadlineMs: 20 });
    await expect(late).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(s.depth).toBe(0);
    backend.release();
    await busy;
    await tick(5);
    expect(backend.batches).toHaveLength(1); // the expired rows never reached the backend
    await s.close();
  });

  it('drops rows of an aborted request before compute, and refuses an already-aborted one', async () => {
    const backend = fakeBackend({ manual: true });
    const s = make(backend);
    const busy = submit(s, [row(5)]);
    await tick();
    const ac = new AbortController();
    const gone = submit(s, [row(20, 9)], { signal: ac.signal });
    ac.abort();
    await expect(gone).rejects.toBeInstanceOf(RequestAbortedError);
    const pre = new AbortController();
    pre.abort();
    await expect(submit(s, [row(5)], { signal: pre.signal })).rejects.toBeInstanceOf(RequestAbortedError);
    backend.release();
    await busy;
    await tick(5);
    expect(backend.batches).toHaveLength(1);
    expect(s.depth).toBe(0);
    await s.close();
  });

  it('does not starve a bucket under a stream of rows in another', async () => {
    const backend = fakeBackend({ manual: true });
    const s = make(backend, { maxBatchRows: 2 });
    const done: string[] = [];
    const track = (p: Promise<unknown>, name: string) => p.then(() => done.push(name));
    const first = track(submit(s, [row(5)]), 'first');
    await tick();
    const shorts = [0, 1, 2, 3].map((i) => track(submit(s, [row(5)]), `short${i}`));
    await tick(2);
    const long = track(submit(s, [row(60)]), 'long');
    await tick(2);
    const more = [4, 5, 6, 7].map((i) => track(submit(s, [row(5)]), `short${i}`));
    for (let i = 0; i < 8 && backend.batches.length < 10; i++) {
      backend.release();
      await tick(2);
    }
    await Promise.all([first, ...shorts, long, ...more]);
    // The long row arrived after short0-3 and before short4-7: it runs before the later shorts.
    expect(done.indexOf('long')).toBeLessThan(done.indexOf('short4'));
    await s.close();
  });

  it('records queue wait, batch rows, tokens and padding ratio', async () => {
    const backend = fakeBackend();
    const s = make(backend);
    await submit(s, [row(4), row(8)]);
    const pad = await metrics.registry.getSingleMetricAsString('distillery_batch_padding_ratio');
    // 12 real tokens in 2 x 8 padded.
    expect(pad).toContain('distillery_batch_padding_ratio_sum{model="m",bucket="16"} 0.75');
    expect(await metrics.registry.getSingleMetricAsString('distillery_batch_tokens')).toContain('distillery_batch_tokens_sum{model="m"} 16');
    await s.close();
  });
});

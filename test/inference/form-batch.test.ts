import { describe, expect, it } from 'vitest';
import { bucketIndex, formBatch, type Waiting } from '../../src/inference/batching/form-batch.js';

const EDGES = [16, 32, 64, 128];
const rows = (tokens: number[], t0 = 0): Waiting[] => tokens.map((t, i) => ({ tokens: t, enqueuedAt: t0 + i }));

describe('bucketIndex', () => {
  it('picks the smallest edge that holds the row, the last for anything longer', () => {
    expect(bucketIndex(1, EDGES)).toBe(0);
    expect(bucketIndex(16, EDGES)).toBe(0);
    expect(bucketIndex(17, EDGES)).toBe(1);
    expect(bucketIndex(128, EDGES)).toBe(3);
    expect(bucketIndex(600, EDGES)).toBe(3);
  });
});

describe('formBatch', () => {
  it('returns nothing when nothing waits', () => {
    expect(formBatch([[], [], [], []], EDGES, { maxTokens: 1024, maxRows: 8 })).toBeUndefined();
  });

  it('stops at the row limit and says the batch is full', () => {
    const plan = formBatch([rows([5, 6, 7, 8, 9]), [], [], []], EDGES, { maxTokens: 1024, maxRows: 3 })!;
    expect(plan).toMatchObject({ bucket: 0, count: 3, paddedLength: 7, full: true });
  });

  it('stops at the token budget, counting padded length x rows', () => {
    // 40, 50, 60 tokens: padded 50*2 = 100 fits 128, 60*3 = 180 does not.
    const plan = formBatch([[], [], rows([40, 50, 60]), []], EDGES, { maxTokens: 128, maxRows: 32 })!;
    expect(plan).toMatchObject({ bucket: 2, count: 2, paddedLength: 50, full: true });
  });

  it('pads only to the longest row taken, not to the bucket edge', () => {
    const plan = formBatch([[], [], rows([33, 35]), []], EDGES, { maxTokens: 4096, maxRows: 32 })!;
    expect(plan.paddedLength).toBe(35);
    expect(plan.full).toBe(false); // room for more rows: the scheduler may wait max-delay
  });

  it('serves the bucket whose head waited longest, so no bucket starves', () => {
    const short = rows([5, 5, 5, 5], 10); // many, newer
    const long = rows([100], 3); // one, older
    const plan = formBatch([short, [], [], long], EDGES, { maxTokens: 4096, maxRows: 32 })!;
    expect(plan.bucket).toBe(3);
  });

  it('runs a row longer than the budget alone rather than never', () => {
    const plan = formBatch([[], [], [], rows([128])], EDGES, { maxTokens: 100, maxRows: 8 })!;
    expect(plan).toMatchObject({ count: 1, paddedLength: 128 });
  });

  it('is full when another row as long as the bucket edge would not fit', () => {
    const plan = formBatch([[], [], [], rows([100])], EDGES, { maxTokens: 200, maxRows: 8 })!;
    expect(plan.full).toBe(true);
  });
});

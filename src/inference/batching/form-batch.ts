/**
 * Forming a batch is a pure function of the waiting rows and the budget, so the policy can be
 * unit-tested without timers, sessions or models.
 *
 * Policy: take the bucket whose head row has waited longest (no bucket starves: any bucket's head
 * becomes the oldest eventually), then take rows from it in arrival order while the padded cost
 * (longest row so far x rows) fits the token budget and the row limit. Rows are padded only to
 * the longest row taken, not to the bucket edge.
 */
export interface Waiting {
  /** Sequence length in tokens, special tokens included. */
  readonly tokens: number;
  /** When it joined the queue (ms, any monotonic clock). */
  readonly enqueuedAt: number;
}

export interface BatchBudget {
  maxTokens: number;
  maxRows: number;
}

export interface BatchPlan {
  bucket: number;
  /** How many rows to take from the head of that bucket. */
  count: number;
  paddedLength: number;
  /** Arrival time of the oldest row in the plan. */
  oldestAt: number;
  /** True when waiting could not make this batch any bigger (row limit, budget, or bucket edge). */
  full: boolean;
}

/** Index of the smallest bucket edge >= tokens; the last bucket takes anything longer. */
export function bucketIndex(tokens: number, edges: readonly number[]): number {
  for (let i = 0; i < edges.length; i++) if (tokens <= edges[i]!) return i;
  return edges.length - 1;
}

export function formBatch(buckets: ReadonlyArray<ReadonlyArray<Waiting>>, edges: readonly number[], budget: BatchBudget): BatchPlan | undefined {
  let chosen = -1;
  for (let b = 0; b < buckets.length; b++) {
    const head = buckets[b]![0];
    if (head && (chosen < 0 || head.enqueuedAt < buckets[chosen]![0]!.enqueuedAt)) chosen = b;
  }
  if (chosen < 0) return undefined;
  const rows = buckets[chosen]!;
  let count = 0;
  let padded = 0;
  for (const row of rows) {
    const next = Math.max(padded, row.tokens);
    if (count + 1 > budget.maxRows || next * (count + 1) > budget.maxTokens) break;
    padded = next;
    count++;
  }
  if (count === 0) {
    // A row longer than the budget allows still runs, alone: refusing it forever would be worse.
    count = 1;
    padded = rows[0]!.tokens;
  }
  const edge = Math.max(edges[chosen] ?? padded, padded);
  // Full: more rows of this bucket are already waiting but did not fit, or even a row as long as
  // the bucket edge could not be added.
  const full = count < rows.length || count >= budget.maxRows || edge * (count + 1) > budget.maxTokens;
  return { bucket: chosen, count, paddedLength: padded, oldestAt: rows[0]!.enqueuedAt, full };
}

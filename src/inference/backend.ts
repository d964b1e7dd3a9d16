/**
 * What the scheduler needs from an engine: run one padded batch, return its output tensors.
 * The real backend is a pool of ONNX Runtime sessions (session-pool.ts); tests slot in a fake.
 */
export interface PaddedBatch {
  rows: number;
  /** Padded sequence length: the longest row of this batch (not the bucket edge). */
  length: number;
  /** [rows, length] row-major, as ONNX int64. */
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
}

export interface OutputTensor {
  data: Float32Array;
  /** First dimension is rows. */
  dims: readonly number[];
}

export type BatchOutputs = Record<string, OutputTensor>;

export interface InferenceBackend {
  /** Batches it can run at the same time (sessions); the scheduler never runs more. */
  readonly concurrency: number;
  run(batch: PaddedBatch): Promise<BatchOutputs>;
  /** Releases native resources; safe to call twice. */
  close(): Promise<void>;
}

/** Build the int64 tensors of a batch, right-padded with `padId` to the longest row. */
export function padBatch(rows: ReadonlyArray<{ inputIds: readonly number[]; typeIds: readonly number[] }>, padId: number): PaddedBatch {
  const length = rows.reduce((m, r) => Math.max(m, r.inputIds.length), 0);
  const n = rows.length;
  const inputIds = new BigInt64Array(n * length).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(n * length);
  const tokenTypeIds = new BigInt64Array(n * length);
  rows.forEach((row, r) => {
    const base = r * length;
    for (let i = 0; i < row.inputIds.length; i++) {
      inputIds[base + i] = BigInt(row.inputIds[i]!);
      attentionMask[base + i] = 1n;
      tokenTypeIds[base + i] = BigInt(row.typeIds[i] ?? 0);
    }
  });
  return { rows: n, length, inputIds, attentionMask, tokenTypeIds };
}

/** The slice of every output that belongs to row `r` (views, no copy). */
export function sliceRow(outputs: BatchOutputs, r: number): BatchOutputs {
  const out: BatchOutputs = {};
  for (const [name, t] of Object.entries(outputs)) {
    const stride = t.dims.slice(1).reduce((a, b) => a * b, 1);
    out[name] = { data: t.data.subarray(r * stride, (r + 1) * stride), dims: t.dims.slice(1) };
  }
  return out;
}

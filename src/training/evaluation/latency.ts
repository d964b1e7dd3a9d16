/**
 * CPU latency of an ONNX model as the manifest reports it: ONNX Runtime, batch 1, 128 tokens,
 * one intra-op thread (so the number does not depend on what else the machine runs), median of
 * repeated runs after warm-up.
 */
import ort from 'onnxruntime-node';

export interface LatencyOptions {
  onnxFile: string;
  sequenceLength?: number;
  runs?: number;
  warmup?: number;
  vocabSize?: number;
}

export async function measureLatencyMs(opts: LatencyOptions): Promise<number> {
  const { onnxFile, sequenceLength = 128, runs = 30, warmup = 5, vocabSize = 1000 } = opts;
  const session = await ort.InferenceSession.create(onnxFile, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
  try {
    const ids = new BigInt64Array(sequenceLength);
    for (let i = 0; i < sequenceLength; i += 1) ids[i] = BigInt(5 + ((i * 7919) % Math.max(1, vocabSize - 5)));
    ids[0] = 2n; // [CLS]
    ids[sequenceLength - 1] = 3n; // [SEP]
    const feeds = {
      input_ids: new ort.Tensor('int64', ids, [1, sequenceLength]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(sequenceLength).fill(1n), [1, sequenceLength]),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(sequenceLength), [1, sequenceLength]),
    };
    for (let i = 0; i < warmup; i += 1) await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)] as number;
  } finally {
    await session.release();
  }
}

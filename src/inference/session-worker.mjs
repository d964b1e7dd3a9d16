// @ts-check
/**
 * One ONNX Runtime session in its own worker thread. onnxruntime-node's session.run computes
 * synchronously on the calling thread (its promise only defers the start), so a session on the
 * main thread would freeze the event loop for the whole batch: no reading, tokenizing or
 * answering meanwhile, and batches that cannot fill. Here the main thread only posts the padded
 * int64 arrays (copied: small) and receives the float32 outputs (transferred).
 *
 * Messages in:  {type:'init', modelPath, sessionOptions, outputs, niceness} | {type:'run', id, rows, length,
 *               inputIds, attentionMask, tokenTypeIds} | {type:'release'}
 * Messages out: {type:'ready', inputNames, outputNames} | {type:'result', id, outputs} |
 *               {type:'error', id?, message} | {type:'released'}
 * Plain JavaScript so it loads in any runtime (tsx, vitest, a compiled image) without a loader.
 */
import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';

if (!parentPort) throw new Error('session-worker.mjs must run in a worker thread');
const port = parentPort;

/**
 * Lower this thread's CPU priority (Linux: a thread id is a valid setpriority target). Done
 * before the session exists, so ONNX Runtime's own pool threads inherit it. Best effort: where
 * it is not possible the session runs at normal priority.
 * @param {number} niceness
 */
function lowerPriority(niceness) {
  if (!niceness || process.platform !== 'linux') return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    os.setPriority(tid, niceness);
  } catch {
    // not permitted here (or no /proc): normal priority
  }
}

/** @type {import('onnxruntime-node').InferenceSession | undefined} */
let session;
/** @type {string[]} */
let outputs = [];

port.on('message', async (msg) => {
  try {
    if (msg.type === 'init') {
      lowerPriority(msg.niceness);
      session = await ort.InferenceSession.create(msg.modelPath, msg.sessionOptions);
      outputs = msg.outputs;
      port.postMessage({ type: 'ready', inputNames: [...session.inputNames], outputNames: [...session.outputNames] });
    } else if (msg.type === 'run') {
      if (!session) throw new Error('session not initialised');
      const dims = [msg.rows, msg.length];
      const result = await session.run(
        {
          input_ids: new ort.Tensor('int64', msg.inputIds, dims),
          attention_mask: new ort.Tensor('int64', msg.attentionMask, dims),
          token_type_ids: new ort.Tensor('int64', msg.tokenTypeIds, dims),
        },
        outputs,
      );
      /** @type {Record<string, {data: ArrayBuffer, dims: readonly number[]}>} */
      const out = {};
      /** @type {ArrayBuffer[]} */
      const transfer = [];
      for (const name of outputs) {
        const t = result[name];
        if (t?.type !== 'float32') throw new Error(`output ${name} is ${t ? t.type : 'missing'}, expected float32`);
        // A copy into a buffer we own, so it can be transferred rather than cloned.
        const data = new Float32Array(/** @type {Float32Array} */ (t.data));
        out[name] = { data: data.buffer, dims: t.dims };
        transfer.push(data.buffer);
      }
      port.postMessage({ type: 'result', id: msg.id, outputs: out }, transfer);
    } else if (msg.type === 'release') {
      await session?.release();
      session = undefined;
      port.postMessage({ type: 'released' });
    }
  } catch (err) {
    port.postMessage({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
  }
});

/**
 * Tokenizer speed (npm run bench:tokenizer): the serving tokenizer (Hugging Face tokenizers,
 * native, over the bundled model's tokenizer.json) on the support-chatbot texts and help-center
 * passages, batched vs one call per text, and how much it blocks the event loop while it works.
 * Correctness is a test: test/tokenizer-parity.test.ts (identical ids to the trainer's tokenizer).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { TextTokenizer } from '../src/inference/tokenizer.js';
import { buildDatasets } from '../tools/datagen/generate.js';

const MODEL_DIR = process.env.MODEL_DIR ?? 'models';

async function main(): Promise<void> {
  const state = JSON.parse(readFileSync(path.resolve(MODEL_DIR, 'support-intent', 'state.json'), 'utf8')) as { active: number };
  const tok = await TextTokenizer.load(path.resolve(MODEL_DIR, 'support-intent', String(state.active), 'tokenizer.json'));
  const { intents, qa } = buildDatasets(1234);
  const short = intents.train.map((e) => e.text);
  const long = qa.train.map((p) => p.context);

  for (const [name, texts] of [
    ['chatbot utterances', short],
    ['help-center passages', long],
  ] as const) {
    await tok.encodeSegments(texts.slice(0, 64)); // warm the native pool

    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    let t0 = performance.now();
    let tokens = 0;
    for (let i = 0; i < texts.length; i += 64) {
      for (const s of await tok.encodeSegments(texts.slice(i, i + 64))) tokens += s.ids.length;
    }
    const batchedMs = performance.now() - t0;
    lag.disable();

    t0 = performance.now();
    for (const text of texts) await tok.encodeSegments([text]);
    const singleMs = performance.now() - t0;

    console.log(
      `${name}: ${texts.length} texts, ${(tokens / texts.length).toFixed(1)} tokens each | ` +
        `batched (64): ${((texts.length / batchedMs) * 1000).toFixed(0)} texts/s, ${(((tokens / batchedMs) * 1000) / 1e6).toFixed(2)} M tokens/s | ` +
        `one per call: ${((texts.length / singleMs) * 1000).toFixed(0)} texts/s | batched/single ${(singleMs / batchedMs).toFixed(2)}x | ` +
        `event-loop delay while batching: p99 ${(lag.percentile(99) / 1e6).toFixed(2)} ms, max ${(lag.max / 1e6).toFixed(2)} ms`,
    );
  }
}

await main();

/**
 * Tokenizer speed (npm run bench:tokenizer): the serving tokenizer (Hugging Face tokenizers,
 * native, over the bundled model's tokenizer.json) on the support-chatbot texts and help-center
 * passages, batched vs one call per text, and how much it blocks the event loop while it works;
 * then the process CPU per chatbot message as the server tokenizes it (one request's texts per
 * call), side by side: the binding one call at a time and 64 calls in flight, the fast path
 * (src/inference/fast-wordpiece.ts), and Hugging Face's pure-JavaScript tokenizers.
 * Correctness is a test: test/tokenizer-parity.test.ts (identical ids to the trainer's tokenizer),
 * test/inference/fast-wordpiece.test.ts (the fast path's ids are the binding's).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Tokenizer as JsTokenizer } from '@huggingface/tokenizers';
import tokenizers from 'tokenizers';
import { FastWordPiece } from '../src/inference/fast-wordpiece.js';
import { TextTokenizer } from '../src/inference/tokenizer.js';
import { buildDatasets } from '../tools/datagen/generate.js';

const MODEL_DIR = process.env.MODEL_DIR ?? 'models';

async function main(): Promise<void> {
  const state = JSON.parse(readFileSync(path.resolve(MODEL_DIR, 'support-intent', 'state.json'), 'utf8')) as { active: number };
  const file = path.resolve(MODEL_DIR, 'support-intent', String(state.active), 'tokenizer.json');
  const tok = await TextTokenizer.load(file);
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

  await cpuPerMessage(file, short);
}

/** Process CPU (µs, user + system, all threads) per text over `rounds` passes, after one unmeasured pass. */
async function cpuPerText(texts: readonly string[], pass: () => Promise<void>, rounds = 3): Promise<number> {
  await pass();
  const before = process.cpuUsage();
  for (let r = 0; r < rounds; r++) await pass();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / (rounds * texts.length);
}

async function cpuPerMessage(file: string, texts: readonly string[]): Promise<void> {
  const binding = tokenizers.Tokenizer.fromFile(file);
  binding.disableTruncation();
  binding.disablePadding();
  const json: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const fast = FastWordPiece.fromTokenizerJson(json);
  if (!fast) throw new Error(`${file} is not a BERT WordPiece tokenizer: no fast path to measure`);
  const js = new JsTokenizer(json as object, {});
  const taken = texts.filter((t) => fast.encode(t) !== undefined).length;
  const one = (t: string) => binding.encodeBatch([t], { addSpecialTokens: false }).then((e) => e[0]!.getIds());
  const rows: Array<[string, number]> = [
    [
      'binding, one call at a time',
      await cpuPerText(texts, async () => {
        for (const t of texts) await one(t);
      }),
    ],
    [
      'binding, 64 calls in flight',
      await cpuPerText(texts, async () => {
        for (let i = 0; i < texts.length; i += 64) await Promise.all(texts.slice(i, i + 64).map(one));
      }),
    ],
    [
      'fast path (FastWordPiece)',
      await cpuPerText(texts, async () => {
        for (const t of texts) fast.encode(t);
      }),
    ],
    [
      '@huggingface/tokenizers (pure JavaScript; other ids where a word holds an unknown character)',
      await cpuPerText(texts, async () => {
        for (const t of texts) js.encode(t, { add_special_tokens: false });
      }),
    ],
  ];
  console.log(`\nprocess CPU per chatbot message (${texts.length} messages, ${taken} of them in the fast path's characters):`);
  for (const [name, us] of rows) console.log(`  ${us.toFixed(1).padStart(6)} µs  ${name}`);
  console.log(`  binding (64 in flight) / fast path: ${(rows[1]![1] / rows[2]![1]).toFixed(1)}x`);
}

await main();

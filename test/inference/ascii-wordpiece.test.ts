/**
 * The ASCII fast path must give the native tokenizers binding's ids for every text it takes, and
 * hand back every text it cannot be sure of. Compared on the bundled tokenizer (uncased, a vocabulary
 * without several ASCII characters), a cased copy of it, and texts built to stress each step:
 * seeded random ASCII with control characters, the support generator's utterances and passages,
 * words around max_input_chars_per_word, every printable character inside words.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tokenizers from 'tokenizers';
import { afterAll, describe, expect, it } from 'vitest';
import { AsciiWordPiece, MAX_FAST_CHARS } from '../../src/inference/ascii-wordpiece.js';
import { fastPathMismatch, TextTokenizer } from '../../src/inference/tokenizer.js';
import { buildDatasets } from '../../tools/datagen/generate.js';
import { Rng } from '../../tools/datagen/prng.js';

const BUNDLED = path.resolve('models/support-intent/1/tokenizer.json');
const dir = mkdtempSync(path.join(tmpdir(), 'ascii-wp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = Record<string, Record<string, unknown>>;
const bundledJson = (): Json => JSON.parse(readFileSync(BUNDLED, 'utf8')) as Json;

/** A tokenizer.json variant of the bundled one, written to the temp folder. */
function variant(name: string, edit: (json: Json) => void): string {
  const json = bundledJson();
  edit(json);
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(json));
  return file;
}

function stressTexts(): string[] {
  const rng = Rng.fromSeed(9107);
  const texts: string[] = [];
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ';
  for (let i = 0; i < 6000; i++) {
    const n = Math.floor(rng.next() * 160);
    let s = '';
    for (let j = 0; j < n; j++) {
      // Mostly word characters, so that control characters and punctuation land inside words.
      s += rng.next() < 0.75 ? letters[Math.floor(rng.next() * letters.length)] : String.fromCharCode(Math.floor(rng.next() * 128));
    }
    texts.push(s);
  }
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    texts.push(ch, `refund${ch}policy ${ch}Order${ch} x${ch}${ch}y`);
  }
  for (const n of [98, 99, 100, 101, 102, 150]) texts.push('a'.repeat(n), `hi ${'tok'.repeat(n).slice(0, n)}, bye`, `${'A'.repeat(n)}.`);
  const { intents, qa } = buildDatasets(31);
  texts.push(...intents.train.slice(0, 3000).map((e) => e.text), ...qa.train.slice(0, 300).map((p) => p.context));
  return texts;
}

async function nativeIds(file: string, texts: readonly string[]): Promise<number[][]> {
  const tok = tokenizers.Tokenizer.fromFile(file);
  tok.disableTruncation();
  tok.disablePadding();
  const out: number[][] = [];
  for (let i = 0; i < texts.length; i += 512) {
    for (const enc of await tok.encodeBatch(texts.slice(i, i + 512), { addSpecialTokens: false })) out.push(enc.getIds());
  }
  return out;
}

describe('AsciiWordPiece', () => {
  const texts = stressTexts();

  for (const [name, file] of [
    ['the bundled uncased tokenizer', BUNDLED],
    [
      'a cased copy (lowercase false)',
      variant('cased', (j) => {
        j.normalizer!.lowercase = false;
      }),
    ],
    [
      'a copy with max_input_chars_per_word 12',
      variant('short-words', (j) => {
        j.model!.max_input_chars_per_word = 12;
      }),
    ],
  ] as const) {
    it(`gives the binding's ids for every text it takes: ${name}`, async () => {
      const fast = AsciiWordPiece.fromTokenizerJson(JSON.parse(readFileSync(file, 'utf8')));
      expect(fast).toBeDefined();
      const expected = await nativeIds(file, texts);
      let taken = 0;
      const mismatches: string[] = [];
      texts.forEach((text, i) => {
        const ids = fast!.encode(text);
        if (ids === undefined) return;
        taken++;
        if (JSON.stringify(ids) !== JSON.stringify(expected[i]))
          mismatches.push(`${JSON.stringify(text).slice(0, 120)}\n  fast ${ids}\n  native ${expected[i]}`);
      });
      expect(mismatches.slice(0, 3).join('\n')).toBe('');
      // Every ASCII text without '[' (a possible added token) within the length limit was taken.
      const eligible = texts.filter((t) => [...t].every((ch) => ch.charCodeAt(0) < 128) && !t.includes('[') && t.length <= MAX_FAST_CHARS).length;
      expect(taken).toBe(eligible);
      expect(eligible).toBeGreaterThan(texts.length * 0.8);
    });
  }

  it('hands back non-ASCII text, possible added tokens and long text', () => {
    const fast = AsciiWordPiece.fromTokenizerJson(bundledJson())!;
    for (const text of ['café', 'it’s late', 'hi 😀', 'tab\u00a0space', 'send [MASK] now', '[CLS]', 'x'.repeat(MAX_FAST_CHARS + 1)]) {
      expect(fast.encode(text), text.slice(0, 20)).toBeUndefined();
    }
    expect(fast.encode('x'.repeat(MAX_FAST_CHARS))).toBeDefined();
    expect(fast.encode('')).toEqual([]);
  });

  it('is not built for a pipeline other than BERT WordPiece', () => {
    const edits: Array<(j: Json) => void> = [
      (j) => {
        j.normalizer = { type: 'Sequence', normalizers: [] };
      },
      (j) => {
        j.normalizer!.clean_text = false;
      },
      (j) => {
        j.pre_tokenizer = { type: 'Whitespace' };
      },
      (j) => {
        j.model!.type = 'BPE';
      },
      (j) => {
        j.model!.unk_token = '<unk>';
      },
    ];
    for (const edit of edits) {
      const json = bundledJson();
      edit(json);
      expect(AsciiWordPiece.fromTokenizerJson(json)).toBeUndefined();
    }
    expect(AsciiWordPiece.fromTokenizerJson(null)).toBeUndefined();
  });
});

describe('TextTokenizer.encodeIds with the fast path', () => {
  it('has no fast path where an added token is normalized (matched in the lowercased, cleaned text)', async () => {
    // What tokenizers' addTokens writes: {"content": "PayPal", "normalized": true, ...}. The binding
    // then gives its id for "paypal" and inside "xpaypalx"; WordPiece alone would not.
    const binding = tokenizers.Tokenizer.fromFile(BUNDLED);
    binding.addTokens(['PayPal']);
    const file = path.join(dir, 'added-normalized.json');
    binding.save(file);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { added_tokens: Array<{ content: string; normalized: boolean }> };
    expect(saved.added_tokens.find((t) => t.content === 'PayPal')?.normalized).toBe(true);
    expect(AsciiWordPiece.fromTokenizerJson(saved)).toBeUndefined();
    const tok = await TextTokenizer.load(file);
    expect(tok.fastPath).toBe(false);
    const texts = ['pay with paypal', 'my PAYPAL account', 'xpaypalx', 'pay\u0001pal'];
    const ids = await tok.encodeIds(texts);
    expect(ids).toEqual(await nativeIds(file, texts));
    const paypal = binding.tokenToId('PayPal');
    expect(ids.every((row) => row.includes(paypal!))).toBe(true);
  });

  it("keeps order and the binding's ids when ASCII and other texts are mixed in one call", async () => {
    const tok = await TextTokenizer.load(BUNDLED);
    expect(tok.fastPath).toBe(true);
    const mixed = ['where is my order?', 'où est ma commande ?', 'send [MASK]', 'REFUND  please!!', '日本語 ok', '', 'x'.repeat(MAX_FAST_CHARS + 5)];
    expect(await tok.encodeIds(mixed)).toEqual(await nativeIds(BUNDLED, mixed));
  });

  it('is checked against the binding at load: a fast path that reads the file otherwise is named', async () => {
    const binding = tokenizers.Tokenizer.fromFile(BUNDLED);
    binding.disableTruncation();
    binding.disablePadding();
    expect(await fastPathMismatch(AsciiWordPiece.fromTokenizerJson(bundledJson())!, binding)).toBeUndefined();
    // A fast path built from a vocabulary whose word-initial 'a' pieces have other ids.
    const json = bundledJson();
    const vocab = json.model!.vocab as Record<string, number>;
    json.model!.vocab = Object.fromEntries(Object.entries(vocab).map(([piece, id]) => [piece, piece.startsWith('a') ? id + 1 : id]));
    expect(await fastPathMismatch(AsciiWordPiece.fromTokenizerJson(json)!, binding)).toBeDefined();
  });
});

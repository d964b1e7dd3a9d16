/**
 * The trainer's Python WordPiece tokenizer must give the serving tokenizer's ids.
 *
 * Texts are generated deterministically (seeded PRNG) from fragments that stress every step of
 * the BERT pipeline: accents and combining marks (strip_accents), CJK (handle_chinese_chars),
 * punctuation of all kinds, emoji with modifiers/ZWJ/variation selectors, control and format
 * characters (clean_text), exotic whitespace, words over 100 characters ([UNK]), literal
 * special tokens, unassigned code points, and pairs. The Python side (`tokenize` command) runs
 * once over all of them; the npm `tokenizers` binding reads the tokenizer.json the trainer wrote.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tokenizers from 'tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TextTokenizer } from '../src/inference/tokenizer.js';
import { Rng } from '../tools/datagen/prng.js';

const PYTHON = process.env.TRAINER_PYTHON ?? '/usr/bin/python3';
const ENV = { ...process.env, PYTHONPATH: path.resolve('trainer') };
const COUNT = 1200;

const WORDS = ['the', 'service', 'was', 'Great', 'refund', 'ORDER', 'unbelievable', 'tokenization', 'e-mail', "don't", 'x1000', '42', '3.14'];
const ACCENTED = [
  'café',
  'naïve',
  'Ångström',
  'résumé',
  'Straße',
  'İstanbul',
  'ΣΟΦΙΑ',
  'Ελληνικά',
  'русский',
  'e\u0301te\u0301',
  'a\u0327\u0301',
  'ǅemal',
  'ﬁne',
  'Ｆｕｌｌ',
];
const SCRIPTS = [
  '日本語',
  '中文字符',
  '한국어',
  'ไทย',
  'العربية',
  'עברית',
  'हिन्दी',
  'カタカナ',
  '\u{20000}\u{2A700}',
  '\u{2B820}\u{2B821}',
  '\u{2B920}',
  '㐀㐁',
];
const PUNCT = [
  '.',
  ',',
  '!',
  '?',
  ';',
  ':',
  "'",
  '"',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '-',
  '–',
  '—',
  '…',
  '¿',
  '¡',
  '«',
  '»',
  '$',
  '+',
  '<',
  '=',
  '>',
  '^',
  '`',
  '|',
  '~',
  '@',
  '#',
  '%',
  '&',
  '*',
  '/',
  '\\',
  '_',
  '·',
  '•',
  '‽',
  '、',
  '。',
  '「',
  '」',
];
const EMOJI = ['😀', '👍🏽', '👨\u200d👩\u200d👧', '❤\ufe0f', '🥰', '🫨', '🇫🇷', '☃', '✓', '©', '€', '∑', '∞', '\u{1F9D1}\u{1F3FB}'];
const CONTROL = [
  '\u0000',
  '\u0001',
  '\u0007',
  '\u001b',
  '\u001c',
  '\u007f',
  '\u0085',
  '\u00ad',
  '\u200b',
  '\u200d',
  '\u2060',
  '\ufeff',
  '\ufffd',
  '\u{E0001}',
  '\ue000',
  '\u0378',
  '\u{F0000}',
];
// Assigned after Unicode 8.0 (marks, punctuation, format): the Rust tables do not know them.
const NEWER = ['\u2E53', '\u089D', '\u08DF', '\u0890', '\u{1E94B}', '\u{11A3F}', '\u0AFA', '\u2E45', '\u{1F97A}', '\u{1FAE8}'];
const SPACES = [' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u2003', '\u3000', '\u2028', '\u1680', '\u000b', '\u000c', '\u180e', ''];
const SPECIALS = ['[MASK]', '[CLS]', '[SEP]', '[UNK]', '[PAD]', '[mask]', '[MASK'];

function makeTexts(): Array<{ text: string; text_pair?: string }> {
  const rng = Rng.fromSeed(20240601);
  const rand = (): number => rng.next();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const fragment = (): string => {
    const r = rand();
    if (r < 0.3) return pick(WORDS);
    if (r < 0.45) return pick(ACCENTED);
    if (r < 0.57) return pick(SCRIPTS);
    if (r < 0.7) return pick(PUNCT);
    if (r < 0.8) return pick(EMOJI);
    if (r < 0.85) return pick(CONTROL);
    if (r < 0.88) return pick(NEWER);
    if (r < 0.92) return pick(SPECIALS);
    if (r < 0.96) {
      // Around the 100-character limit of a single word.
      const n = 95 + Math.floor(rand() * 12);
      return pick(['a', 'é', 'ab', '日']).repeat(n).slice(0, n);
    }
    return String.fromCodePoint(0x20 + Math.floor(rand() * 0x2fff));
  };
  const text = (): string => {
    const n = Math.floor(rand() * 14);
    let s = '';
    for (let i = 0; i < n; i++) s += fragment() + (rand() < 0.7 ? ' ' : pick(SPACES));
    return s;
  };
  const out: Array<{ text: string; text_pair?: string }> = [{ text: '' }, { text: ' \t\n' }, { text: 'a', text_pair: '' }];
  while (out.length < COUNT) out.push(rand() < 0.3 ? { text: text(), text_pair: text() } : { text: text() });
  return out;
}

describe('tokenizer parity: Python trainer vs npm tokenizers', () => {
  let dir: string;
  const texts = makeTexts();

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tok-parity-'));
    // Vocabulary from half the texts, so the other half also exercises [UNK] and unseen pieces.
    const corpus = texts
      .slice(0, COUNT / 2)
      .flatMap((t) => [t.text, t.text_pair ?? ''])
      .join('\n');
    writeFileSync(path.join(dir, 'corpus.txt'), corpus);
    const vocab = spawnSync(
      PYTHON,
      ['-m', 'distillery_trainer', 'build-vocab', '--corpus', path.join(dir, 'corpus.txt'), '--size', '3000', '--out', path.join(dir, 'vocab.txt')],
      { env: ENV, encoding: 'utf8' },
    );
    expect(vocab.status, vocab.stderr).toBe(0);
    // tokenizer.json as the trainer writes it for serving (init-model writes the checkpoint's files).
    const init = spawnSync(
      PYTHON,
      [
        '-m',
        'distillery_trainer',
        'init-model',
        '--out',
        path.join(dir, 'model'),
        '--vocab',
        path.join(dir, 'vocab.txt'),
        '--task',
        'qa',
        '--layers',
        '1',
        '--hidden',
        '8',
        '--heads',
        '1',
        '--intermediate',
        '8',
        '--max-position',
        '16',
      ],
      { env: ENV, encoding: 'utf8' },
    );
    expect(init.status, init.stderr).toBe(0);
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('agrees on every Basic Multilingual Plane character and a sample of the others', async () => {
    // Each code point inside a word, alone, and after an accented letter: covers its category
    // (mark, punctuation, control, CJK, whitespace), decomposition and case mapping.
    const rows: Array<{ text: string }> = [];
    for (let cp = 0x20; cp <= 0x2ffff; cp += cp < 0x10000 ? 1 : 7) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      rows.push({ text: `a${c}b ${c} é${c}` });
    }
    const input = `${rows.map((t) => JSON.stringify(t)).join('\n')}\n`;
    const run = spawnSync(PYTHON, ['-m', 'distillery_trainer', 'tokenize', '--vocab', path.join(dir, 'vocab.txt')], {
      env: ENV,
      input,
      encoding: 'utf8',
      maxBuffer: 512 * 1024 * 1024,
    });
    expect(run.status, run.stderr).toBe(0);
    const python = run.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { ids: number[] }).ids);
    const tok = tokenizers.Tokenizer.fromFile(path.join(dir, 'model', 'tokenizer.json'));
    const encodings = await tok.encodeBatch(rows.map((r) => r.text));
    const mismatches: string[] = [];
    encodings.forEach((enc, i) => {
      const ids = Array.from(enc.getIds());
      if (JSON.stringify(ids) !== JSON.stringify(python[i]))
        mismatches.push(`U+${rows[i]!.text.codePointAt(1)!.toString(16)} npm ${JSON.stringify(ids)} py ${JSON.stringify(python[i])}`);
    });
    expect(rows.length).toBeGreaterThan(70_000);
    expect(mismatches.slice(0, 10).join('\n')).toBe('');
  }, 120_000);

  it(`gives identical ids, type ids and offsets on ${COUNT} generated texts`, async () => {
    const input = `${texts.map((t) => JSON.stringify(t)).join('\n')}\n`;
    const run = spawnSync(PYTHON, ['-m', 'distillery_trainer', 'tokenize', '--vocab', path.join(dir, 'vocab.txt')], {
      env: ENV,
      input,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(run.status, run.stderr).toBe(0);
    const python = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ids: number[]; type_ids: number[]; offsets: Array<[number, number]> });
    expect(python).toHaveLength(COUNT);

    const tok = tokenizers.Tokenizer.fromFile(path.join(dir, 'model', 'tokenizer.json'));
    let unk = 0;
    let tokens = 0;
    const mismatches: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const t = texts[i]!;
      const enc = await (t.text_pair !== undefined ? tok.encode(t.text, t.text_pair) : tok.encode(t.text));
      const ids = Array.from(enc.getIds());
      const typeIds = Array.from(enc.getTypeIds());
      // The binding reports offsets in code points (not UTF-16 units), like the Python side.
      const offsets = enc.getOffsets().map((o) => [o[0], o[1]]);
      const p = python[i]!;
      if (
        JSON.stringify(ids) !== JSON.stringify(p.ids) ||
        JSON.stringify(typeIds) !== JSON.stringify(p.type_ids) ||
        JSON.stringify(offsets) !== JSON.stringify(p.offsets)
      ) {
        mismatches.push(
          `#${i} ${JSON.stringify(t)}\n  npm ${JSON.stringify(ids)} ${JSON.stringify(offsets)}\n  py  ${JSON.stringify(p.ids)} ${JSON.stringify(p.offsets)}`,
        );
      }
      unk += ids.filter((x) => x === 1).length;
      tokens += ids.length;
    }
    expect(mismatches.slice(0, 5).join('\n')).toBe('');
    // The server's tokenizer (its ASCII fast path included) gives the same ids for single texts.
    const served = await TextTokenizer.load(path.join(dir, 'model', 'tokenizer.json'));
    expect(served.fastPath).toBe(true);
    const singles = texts.flatMap((t, i) => (t.text_pair === undefined ? [i] : []));
    const servedIds = await served.encodeIds(singles.map((i) => texts[i]!.text));
    const servedMismatches = singles.filter((i, k) => JSON.stringify([served.clsId, ...servedIds[k]!, served.sepId]) !== JSON.stringify(python[i]!.ids));
    expect(servedMismatches.map((i) => JSON.stringify(texts[i])).slice(0, 5)).toEqual([]);
    // The generated texts really exercise unknown pieces, and the vocabulary really covers text.
    expect(unk).toBeGreaterThan(50);
    expect(unk).toBeLessThan(tokens / 2);
    // The vocabulary file the trainer wrote is the same list the npm tokenizer serves.
    const vocab = readFileSync(path.join(dir, 'vocab.txt'), 'utf8').trimEnd().split('\n');
    expect(tok.getVocabSize(true)).toBe(vocab.length);
  }, 120_000);
});

/**
 * The hand-written check set (test/fixtures/check-set/) is well-formed: the counts issue 11 asks
 * for, every gold answer at its offset and only there, the "beyond the first 128 tokens" marks
 * true of the bundled tokenizer, labels that the bundled intent model has, no repeated question.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TextTokenizer } from '../../src/inference/tokenizer.js';
import { normalizeAnswer } from '../../src/inference/tasks/answer-text.js';
import { type CheckSet, DEFAULT_FIXTURE_DIR, readCheckSet } from '../../tools/check-set/fixture.js';

const BUNDLED = path.resolve('models');

function activeDir(name: string): string {
  const { active } = JSON.parse(readFileSync(path.join(BUNDLED, name, 'state.json'), 'utf8')) as { active: number };
  return path.join(BUNDLED, name, String(active));
}

let set: CheckSet;
beforeAll(async () => {
  set = await readCheckSet(DEFAULT_FIXTURE_DIR);
});

describe('check set: QA', () => {
  it('has at least 10 passages, several over 300 words, and at least 50 questions', () => {
    const contexts = [...new Set(set.questions.map((q) => q.context))];
    expect(set.passages).toBeGreaterThanOrEqual(10);
    expect(contexts).toHaveLength(set.passages);
    expect(contexts.filter((c) => c.split(/\s+/).filter(Boolean).length > 300).length).toBeGreaterThanOrEqual(3);
    expect(set.questions.length).toBeGreaterThanOrEqual(50);
    expect(new Set(set.questions.map((q) => q.style)).size).toBeGreaterThanOrEqual(5);
  });

  it('gives every gold answer verbatim at its offset, and only there', () => {
    for (const q of set.questions.filter((q) => q.gold !== null)) {
      const gold = q.gold!;
      expect(gold.trim(), q.id).toBe(gold);
      expect(q.context.slice(q.answerStart!, q.answerStart! + gold.length), q.id).toBe(gold);
      expect(q.context.indexOf(gold), `${q.id}: the answer occurs earlier in the passage`).toBe(q.answerStart);
      expect(q.context.indexOf(gold, q.answerStart! + 1), `${q.id}: the answer occurs twice`).toBe(-1);
    }
  });

  it('keeps unanswerable questions to at most 10% and ids and questions unique', () => {
    const unanswerable = set.questions.filter((q) => q.gold === null).length;
    expect(unanswerable).toBeGreaterThan(0);
    expect(unanswerable / set.questions.length).toBeLessThanOrEqual(0.1);
    expect(new Set(set.questions.map((q) => q.id)).size).toBe(set.questions.length);
    expect(new Set(set.questions.map((q) => normalizeAnswer(q.question))).size).toBe(set.questions.length);
  });

  it('marks exactly the answers that start at context token 128 or later, at least 8 of them', async () => {
    const tokenizer = await TextTokenizer.load(path.join(activeDir('support-qa'), 'tokenizer.json'));
    const answerable = set.questions.filter((q) => q.gold !== null);
    const segments = await tokenizer.encodeSegments(answerable.map((q) => q.context));
    answerable.forEach((q, i) => {
      const firstToken = segments[i]!.offsets.findIndex(([, end]) => end > q.answerStart!);
      expect(q.beyondFirst128Tokens, q.id).toBe(firstToken >= 128);
    });
    expect(answerable.filter((q) => q.beyondFirst128Tokens).length).toBeGreaterThanOrEqual(8);
  });

  it('keeps the text in the BMP, so UTF-16 offsets equal the code point offsets the trainer uses', () => {
    for (const q of set.questions) expect([...q.context].length, q.id).toBe(q.context.length);
  });
});

describe('check set: intents', () => {
  it('has at least 70 unique utterances, every label one of the bundled model, each at least twice', () => {
    const { labels } = JSON.parse(readFileSync(path.join(activeDir('support-intent'), 'config.json'), 'utf8')) as { labels: string[] };
    expect(set.utterances.length).toBeGreaterThanOrEqual(70);
    const texts = set.utterances.map((u) => (typeof u.input === 'string' ? u.input : u.input.text));
    expect(new Set(texts.map((t) => t.toLowerCase().trim())).size).toBe(texts.length);
    const counts = new Map<string, number>();
    for (const u of set.utterances) {
      expect(labels, u.label).toContain(u.label);
      counts.set(u.label, (counts.get(u.label) ?? 0) + 1);
    }
    for (const label of labels) expect(counts.get(label) ?? 0, label).toBeGreaterThanOrEqual(2);
    expect(counts.get('out_of_scope') ?? 0).toBeGreaterThanOrEqual(2);
  });
});

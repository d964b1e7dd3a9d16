import path from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAnswers, planWindows, prepareQa } from '../../src/inference/tasks/qa.js';
import { TextTokenizer } from '../../src/inference/tokenizer.js';
import { tinyRegistry } from './helpers.js';

let dir: string;
let tok: TextTokenizer;
beforeAll(async () => {
  dir = tinyRegistry();
  tok = await TextTokenizer.load(path.join(dir, 'tiny-qa/1/tokenizer.json'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TextTokenizer offsets', () => {
  it('are UTF-16 indices into the original text, with accents, emoji and CJK', async () => {
    const text = 'Café 😀😀 東京 naïve start👍 end';
    const [seg] = await tok.encodeSegments([text]);
    const pieces = seg!.offsets.map(([s, e]) => text.slice(s, e));
    expect(pieces).toEqual(['Café', '😀', '😀', '東', '京', 'n', 'a', 'ï', 'v', 'e', 'start', '👍', 'end']);
  });
});

describe('planWindows', () => {
  const opts = { maxLength: 20, docStride: 4, maxQueryLength: 8, maxWindows: 100 };
  it('covers the context with overlapping windows', () => {
    // 20 - 5 question - 3 specials = 12 context tokens per window, step 8.
    expect(planWindows(5, 30, opts)).toEqual([
      { first: 0, count: 12 },
      { first: 8, count: 12 },
      { first: 16, count: 12 },
      { first: 24, count: 6 },
    ]);
    expect(planWindows(5, 0, opts)).toEqual([{ first: 0, count: 0 }]);
  });
  it('clamps an overlap of more than half a window so compute stays linear', () => {
    expect(planWindows(5, 30, { ...opts, docStride: 128 }).map((w) => w.first)).toEqual([0, 6, 12, 18]);
  });
});

describe('findAnswers', () => {
  const windowing = { maxLength: 16, docStride: 2, maxQueryLength: 4, maxWindows: 50 };
  it('maps a span from a later window back to the original context, Unicode included', async () => {
    const context = 'the cafe is in 東京 and 😀 naïve résumé city of paris 👍 end';
    const [prepared] = await prepareQa(tok, [{ question: 'where is it', context }], windowing);
    expect(prepared!.windows.length).toBeGreaterThan(2);
    // Put the answer on the context tokens of "paris 👍" (after accents, CJK and an emoji).
    const startChar = context.indexOf('paris');
    const endChar = context.indexOf('👍') + '👍'.length;
    const startTok = prepared!.offsets.findIndex(([s]) => s === startChar);
    const endTok = prepared!.offsets.findIndex(([, e]) => e === endChar);
    const logits = prepared!.windows.map((w) => {
      const start = new Float32Array(16).fill(0);
      const end = new Float32Array(16).fill(0);
      const inWindow = (t: number) => t >= w.first && t < w.first + w.count;
      if (inWindow(startTok) && inWindow(endTok)) {
        start[w.offset + startTok - w.first] = 10;
        end[w.offset + endTok - w.first] = 10;
      }
      return { start, end };
    });
    const [best] = findAnswers(prepared!, logits, { topK: 3, maxAnswerLength: 20 });
    expect(best!.answer).toBe('paris 👍');
    expect(context.slice(best!.start, best!.end)).toBe(best!.answer);
    expect(prepared!.windows.findIndex((w) => w.first <= startTok && startTok < w.first + w.count)).toBeGreaterThan(0);
  });

  it('answers nothing when the null answer (CLS) beats every span', async () => {
    const [prepared] = await prepareQa(tok, [{ question: 'who', context: 'the city of paris' }], windowing);
    const logits = prepared!.windows.map(() => {
      const start = new Float32Array(16);
      const end = new Float32Array(16);
      start[0] = 10;
      end[0] = 10;
      return { start, end };
    });
    expect(findAnswers(prepared!, logits, { topK: 3, maxAnswerLength: 10 })).toEqual([]);
  });

  it('with allowNoAnswer false returns the best span even where the null answer wins', async () => {
    const context = 'the city of paris';
    const [prepared] = await prepareQa(tok, [{ question: 'who', context }], windowing);
    const w = prepared!.windows[0]!;
    const start = new Float32Array(16);
    const end = new Float32Array(16);
    start[0] = 10;
    end[0] = 10;
    start[w.offset + 3] = 4; // "paris", well below the null answer
    end[w.offset + 3] = 4;
    const logits = [{ start, end }];
    expect(findAnswers(prepared!, logits, { topK: 2, maxAnswerLength: 10 })).toEqual([]);
    const spans = findAnswers(prepared!, logits, { topK: 2, maxAnswerLength: 10, allowNoAnswer: false });
    expect(spans).toHaveLength(2);
    expect(spans[0]!.answer).toBe('paris');
    expect(context.slice(spans[0]!.start, spans[0]!.end)).toBe('paris');
  });

  it('respects max answer length, start <= end, and sorts top-k by score', async () => {
    const [prepared] = await prepareQa(tok, [{ question: 'who', context: 'a b c d e f' }], { ...windowing, maxLength: 32 });
    const w = prepared!.windows[0]!;
    const start = new Float32Array(32);
    const end = new Float32Array(32);
    start[w.offset + 4] = 8; // "e"
    end[w.offset + 1] = 9; // "b": before the start, never paired with it
    end[w.offset + 5] = 5; // "f"
    start[w.offset + 0] = 2; // "a": a-f is too long for maxAnswerLength 3; a-b scores below e-f
    const answers = findAnswers(prepared!, [{ start, end }], { topK: 5, maxAnswerLength: 3 });
    expect(answers[0]!.answer).toBe('e f');
    for (const a of answers) {
      expect(a.start).toBeLessThan(a.end);
      expect(a.answer.split(' ').length).toBeLessThanOrEqual(3);
    }
    expect(answers.map((a) => a.score)).toEqual([...answers.map((a) => a.score)].sort((x, y) => y - x));
  });
});

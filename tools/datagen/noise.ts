/**
 * Surface noise that makes templated text read like real customer messages: casing changes,
 * typos (character swaps, drops, doubles), filler words and dropped punctuation.
 */
import type { Rng } from './prng.js';

export interface NoiseOptions {
  /** Chance that a message gets any typos at all. */
  typoMessageRate: number;
  /** Chance, within a message that gets typos, that a given word is hit. */
  typoWordRate: number;
  /** Chance of a filler greeting in front ("hi", "hello team,"). */
  prefixRate: number;
  /** Chance of a filler word at the end ("please", "asap", "thx"). */
  suffixRate: number;
  /** Chance of writing in all caps (angry customers). */
  shoutRate: number;
}

export const DEFAULT_NOISE: NoiseOptions = {
  typoMessageRate: 0.3,
  typoWordRate: 0.08,
  prefixRate: 0.18,
  suffixRate: 0.18,
  shoutRate: 0.02,
};

const PREFIXES = [
  'hi',
  'hi,',
  'hello',
  'hello,',
  'hey',
  'hey there,',
  'good morning,',
  'hi team,',
  'hello support,',
  'hiya',
  'good evening,',
  'excuse me,',
  'um',
  'quick question:',
  'ok so',
];
const SUFFIXES = [
  'please',
  'pls',
  'plz',
  'asap',
  'thx',
  'thanks',
  'ty',
  'thank you!',
  'cheers',
  'please help',
  'urgent',
  '??',
  '!!',
  'thanks in advance',
  'help',
];

/** Introduce a typo into one word: swap two neighbours, drop or double a letter. */
export function typo(word: string, rng: Rng): string {
  if (word.length < 4 || !/^[A-Za-z]+$/.test(word)) return word;
  const i = rng.int(1, word.length - 2);
  switch (rng.int(0, 2)) {
    case 0:
      return word.slice(0, i) + (word[i + 1] ?? '') + (word[i] ?? '') + word.slice(i + 2);
    case 1:
      return word.slice(0, i) + word.slice(i + 1);
    default:
      return word.slice(0, i) + (word[i] ?? '') + word.slice(i);
  }
}

function addTypos(text: string, rng: Rng, rate: number): string {
  return text
    .split(' ')
    .map((token) => {
      const m = /^([A-Za-z]+)(\W*)$/.exec(token);
      if (!m || !rng.chance(rate)) return token;
      return typo(m[1] ?? '', rng) + (m[2] ?? '');
    })
    .join(' ');
}

function recase(text: string, rng: Rng, shoutRate: number): string {
  const r = rng.next();
  if (r < shoutRate) return text.toUpperCase();
  if (r < 0.38) return text.toLowerCase();
  if (r < 0.48) return text.charAt(0).toLowerCase() + text.slice(1);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Apply noise to a message. `allowFiller` is false for intents whose meaning a filler word
 * would change (a "thanks" suffix on a greeting turns it into a different intent).
 */
export function addNoise(text: string, rng: Rng, opts: NoiseOptions, allowFiller: boolean): string {
  let out = text;
  if (allowFiller && rng.chance(opts.prefixRate)) out = `${rng.pick(PREFIXES)} ${out}`;
  if (allowFiller && rng.chance(opts.suffixRate)) {
    const suffix = rng.pick(SUFFIXES);
    out = /^[!?]/.test(suffix) ? `${out.replace(/[.!?]$/, '')}${suffix}` : `${out.replace(/\.$/, '')} ${suffix}`;
  }
  if (rng.chance(0.2)) out = out.replace(/[.!?]$/, '');
  if (rng.chance(opts.typoMessageRate)) out = addTypos(out, rng, opts.typoWordRate);
  return recase(out, rng, opts.shoutRate);
}

/**
 * How a passage is laid out and how a question is typed. Help centers write the same facts as
 * plain articles, FAQs, bullet lists, numbered policies and chatty posts, and customers type
 * questions tersely, politely, in lower case or with typos; the QA model should see all of it.
 * Everything stays on one line (SQuAD contexts here have no line breaks), so bullets and
 * headings are inline markers.
 */
import { typo } from '../noise.js';
import type { Rng } from '../prng.js';

export const PASSAGE_STYLES = ['article', 'faq', 'bullets', 'policy', 'chatty'] as const;
export type PassageStyle = (typeof PASSAGE_STYLES)[number];

// Each lead ends a sentence or a label, so the block after it keeps its capital letter.
const CHATTY_LEADS = ['Good to know:', 'Quick tip:', 'Heads up!', 'One more thing:', 'Psst:', 'Note:', 'Important!'];
const CHATTY_OPENERS = ['Hey there!', 'Hi friends!', 'Hello again from the team!', 'Welcome back!'];
const CHATTY_CLOSERS = ['Happy shopping!', 'Thanks for reading!', 'Talk soon!', 'We hope that helps!'];
const BULLETS = ['•', '-', '*', '–'];

export interface LayoutOptions {
  style: PassageStyle;
  /** Index of the block among the blocks kept, from 0. */
  index: number;
  /** A question the block answers, for FAQ headings (absent for notes without facts). */
  heading?: string;
  rng: Rng;
}

/** Text put in front of a kept block ("" for none). */
export function blockLead(opts: LayoutOptions): string {
  const { style, index, heading, rng } = opts;
  switch (style) {
    case 'faq':
      return heading ? `Q: ${heading} A: ` : '';
    case 'bullets':
      return index === 0 ? '' : `${rng.pick(BULLETS)} `;
    case 'policy':
      return `${index + 1}. `;
    case 'chatty':
      if (index === 0) return `${rng.pick(CHATTY_OPENERS)} `;
      return rng.chance(0.35) ? `${rng.pick(CHATTY_LEADS)} ` : '';
    default:
      return '';
  }
}

/** Text put in front of the whole passage, and after it. */
export function passageFrame(style: PassageStyle, title: string, rng: Rng): { head: string; tail: string } {
  switch (style) {
    case 'faq':
      return { head: `${rng.pick(['Frequently asked questions', 'FAQ', 'Your questions answered'])}: ${title}. `, tail: '' };
    case 'policy':
      return { head: `${rng.pick(['Policy', 'Terms', 'Service conditions'])}: ${title}. `, tail: '' };
    case 'chatty':
      return { head: '', tail: ` ${rng.pick(CHATTY_CLOSERS)}` };
    default:
      return { head: '', tail: '' };
  }
}

const ASK_LEADS = ['Hi, ', 'Hello! ', 'Quick question: ', 'Sorry to bother you, ', 'Hey, ', 'Question: ', 'Hi there. '];
const ASK_TAILS = [' Thanks!', ' thx', ' Thank you.', ' Cheers.', ' pls'];
const EMBEDS = ['Can you tell me ', 'Do you know ', "I'd like to know ", 'Could you tell me ', 'I was wondering '];

/**
 * A question as a customer might type it: with a greeting or thanks, wrapped in "can you tell
 * me ..." (kept word for word, as people type it), in lower case, without the question mark
 * or with a typo. `rate` is the chance of any change at all.
 */
export function customerVoice(question: string, rng: Rng, rate: number): string {
  if (!rng.chance(rate)) return question;
  let out = question;
  const r = rng.next();
  if (r < 0.25) out = `${rng.pick(ASK_LEADS)}${out}`;
  else if (r < 0.45) out = `${rng.pick(EMBEDS)}${out.charAt(0).toLowerCase()}${out.slice(1)}`;
  if (rng.chance(0.15)) out = `${out}${rng.pick(ASK_TAILS)}`;
  if (rng.chance(0.4)) out = out.toLowerCase();
  if (rng.chance(0.3)) out = out.replace(/\?$/, '').replace(/\? /, ' ');
  if (rng.chance(0.3)) {
    const words = out.split(' ');
    const i = rng.int(0, words.length - 1);
    words[i] = typo(words[i] ?? '', rng);
    out = words.join(' ');
  }
  return out;
}

/**
 * A tiny template language for utterances and questions:
 *   [a|b|c]   one alternative, chosen at random ([a|] makes "a" optional)
 *   {slot}    filled by the named slot filler
 * Alternatives are resolved first and do not nest. Spacing is tidied after filling,
 * so an empty alternative never leaves a double space behind.
 */
import type { Rng } from './prng.js';

export type SlotFillers = Readonly<Record<string, (rng: Rng) => string>>;

const ALTERNATION = /\[([^[\]]*)\]/g;
const SLOT = /\{(\w+)\}/g;

export function render(template: string, rng: Rng, slots: SlotFillers): string {
  const chosen = template.replace(ALTERNATION, (_, body: string) => rng.pick(body.split('|')));
  const filled = chosen.replace(SLOT, (_, name: string) => {
    const fill = slots[name];
    if (!fill) throw new Error(`template "${template}" uses unknown slot {${name}}`);
    return fill(rng);
  });
  return tidy(filled);
}

/** Collapse runs of spaces, remove spaces before punctuation and fix "a" before a vowel. */
export function tidy(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/\s+([,.!?;:])/g, '$1')
    .replace(/\b([Aa]) ([aeioAEIO])/g, '$1n $2')
    .trim();
}

/**
 * Slot fillers that give the same value each time within one message for the named slots,
 * so "I ordered a {product}. ... the {product}" talks about one product.
 */
export function consistentSlots(slots: SlotFillers, names: readonly string[]): SlotFillers {
  const memo = new Map<string, string>();
  const out: Record<string, (rng: Rng) => string> = { ...slots };
  for (const name of names) {
    const fill = slots[name];
    if (!fill) continue;
    out[name] = (rng) => {
      const known = memo.get(name);
      if (known !== undefined) return known;
      const value = fill(rng);
      memo.set(name, value);
      return value;
    };
  }
  return out;
}

/** Every expansion of the alternations in a template (slots left as they are). */
export function expandAlternations(template: string): string[] {
  const match = /\[([^[\]]*)\]/.exec(template);
  if (!match) return [tidy(template)];
  const head = template.slice(0, match.index);
  const tail = template.slice(match.index + match[0].length);
  const out: string[] = [];
  for (const option of (match[1] ?? '').split('|')) {
    out.push(...expandAlternations(head + option + tail));
  }
  return out;
}

/** Names of the slots a template uses. */
export function slotNames(template: string): string[] {
  return [...template.matchAll(SLOT)].map((m) => m[1] ?? '');
}

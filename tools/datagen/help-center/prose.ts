/**
 * Building blocks for help-center passages. Prose is written with the `p` tag; values marked
 * with `f(key, text)` are facts whose offsets are recorded while the passage is assembled, so
 * answer spans are exact by construction (and verified again before anything is written).
 */

/**
 * What kind of fact a span is, for coverage and variety checks (not written to the data files).
 * Most kinds are recognised from the answer text (see fact-kinds.ts); `step` and `condition`
 * are marked by the topic author, since nothing in the text itself tells them apart.
 */
export type FactKind = 'price' | 'duration' | 'place' | 'contact' | 'condition' | 'step' | 'other';

export interface FactMark {
  readonly fact: string;
  readonly text: string;
  readonly kind?: FactKind;
}

export type Piece = string | FactMark;

/** Mark `text` as the answer to the questions asked about `fact`. */
export function f(fact: string, text: string, kind?: FactKind): FactMark {
  return kind ? { fact, text, kind } : { fact, text };
}

/** Tagged template: interleaves literal prose with facts and plain values. */
export function p(strings: TemplateStringsArray, ...values: (Piece | number)[]): Piece[] {
  const out: Piece[] = [];
  strings.forEach((literal, i) => {
    if (literal) out.push(literal);
    if (i < values.length) {
      const value = values[i] as Piece | number;
      out.push(typeof value === 'number' ? String(value) : value);
    }
  });
  return out;
}

/** One or more sentences that stand or fall together, with the questions their facts answer. */
export interface Block {
  text: Piece[];
  /** Question templates (../template.ts syntax) per fact key marked in `text`. */
  asks?: Readonly<Record<string, readonly string[]>>;
  /**
   * Chance that the block is kept. Left out, its questions are still plausible for the
   * passage but unanswerable, which makes good is_impossible questions.
   */
  keep?: number;
  /** Whether a left-out block's questions become unanswerable ones (default true). */
  askIfLeftOut?: boolean;
}

export interface PassageDraft {
  /** Topic id, stable across seeds (e.g. "shipping-options"). */
  topic: string;
  title: string;
  blocks: Block[];
  /** Plausible questions this topic never answers. */
  absent: readonly string[];
  /** Values for {slots} in question templates, e.g. brand and city. */
  slots: Readonly<Record<string, string>>;
}

/** A sentence without facts (an intro or a transition), kept with probability `keep`. */
export function note(text: Piece[], keep = 0.6): Block {
  return { text, keep };
}

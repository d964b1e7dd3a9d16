/**
 * Help-center QA in SQuAD v2.0 form: seeded passages from the topic builders, several
 * phrasings per fact, unanswerable questions about plausible facts the passage leaves out,
 * and a train/test split by passage.
 */
import type { Rng } from '../prng.js';
import { expandAlternations, render } from '../template.js';
import { factKind } from './fact-kinds.js';
import { footerBlocks } from './footer.js';
import { makeKit, type Topic } from './kit.js';
import type { Block, FactKind, FactMark, PassageDraft, Piece } from './prose.js';
import { makeShop } from './shops.js';
import { blockLead, customerVoice, PASSAGE_STYLES, passageFrame, type PassageStyle } from './styles.js';
import { ACCOUNT_TOPICS } from './topics-account.js';
import { BILLING_TOPICS } from './topics-billing.js';
import { ORDER_TOPICS } from './topics-orders.js';
import { STORE_TOPICS } from './topics-stores.js';

export { FACT_KINDS, factKind } from './fact-kinds.js';
export { PASSAGE_STYLES, type PassageStyle } from './styles.js';
export type { FactKind } from './prose.js';
export { toSquad, verifySquad, type SquadDocument } from './squad.js';

export const TOPICS: readonly Topic[] = [...ORDER_TOPICS, ...BILLING_TOPICS, ...ACCOUNT_TOPICS, ...STORE_TOPICS];

export interface QaAnswer {
  text: string;
  answer_start: number;
}

export interface QaQuestion {
  id: string;
  question: string;
  answers: QaAnswer[];
  is_impossible: boolean;
}

/** Where a question came from (kept in memory for tests, not written to the data files). */
export interface QaInfo {
  /** Fact key, or null for an unanswerable question. */
  fact: string | null;
  kind: FactKind | null;
  /** The question template before slots, layout and customer voice were applied. */
  template: string;
}

export interface Passage {
  /** `topic-instance`, e.g. "refunds-2". */
  id: string;
  topic: string;
  title: string;
  context: string;
  style: PassageStyle;
  qas: QaQuestion[];
  /** One entry per question, in the order of `qas`. */
  info: QaInfo[];
}

export interface QaOptions {
  instancesPerTopic: number;
  /** Passages outside this many words are drawn again (blocks are optional, so lengths vary). */
  minWords: number;
  maxWords: number;
  testFraction: number;
  /** Most phrasings asked per fact. */
  phrasingsPerFact: number;
  /** Most phrasings asked per fact on held-out passages (more passages, fewer near-repeats). */
  testPhrasingsPerFact: number;
  /** Chance that a question is typed the way customers type (see styles.ts customerVoice). */
  voiceRate: number;
  /** Unanswerable questions per answerable one (at least `minImpossible` per passage). */
  impossibleRate: number;
  minImpossible: number;
}

export const DEFAULT_QA_OPTIONS: QaOptions = {
  instancesPerTopic: 12,
  minWords: 60,
  maxWords: 480,
  testFraction: 0.2,
  phrasingsPerFact: 4,
  testPhrasingsPerFact: 1,
  voiceRate: 0.35,
  impossibleRate: 0.2,
  minImpossible: 3,
};

export interface QaSplits {
  train: Passage[];
  test: Passage[];
}

function isFact(piece: Piece): piece is FactMark {
  return typeof piece !== 'string';
}

/** Phrasings of a question list with alternations expanded, duplicates removed, order kept. */
function phrasings(templates: readonly string[]): string[] {
  return [...new Set(templates.flatMap(expandAlternations))];
}

function checkBlock(block: Block, topic: string): void {
  const marked = new Set(block.text.filter(isFact).map((m) => m.fact));
  const asked = new Set(Object.keys(block.asks ?? {}));
  for (const key of marked) if (!asked.has(key)) throw new Error(`${topic}: fact "${key}" has no questions`);
  for (const key of asked) if (!marked.has(key)) throw new Error(`${topic}: questions for unknown fact "${key}"`);
}

/** What compilePassage needs besides the draft: the stream, the options, and the split it is for. */
export interface CompileOptions {
  id: string;
  rng: Rng;
  qa: QaOptions;
  /** Held-out passages ask fewer phrasings per fact (`testPhrasingsPerFact`). */
  heldOut: boolean;
}

/** Turn a draft into a passage: pick the blocks and a layout style, lay out the text, ask the questions. */
export function compilePassage(draft: PassageDraft, options: CompileOptions): Passage {
  const { id, rng, qa: opts } = options;
  const fill = (template: string): string =>
    // "Zefiro Cycles's" -> "Zefiro Cycles'"
    render(template, rng, { brand: () => draft.slots.brand ?? '', city: () => draft.slots.city ?? '' }).replace(/s's\b/g, "s'");
  const style = rng.pick(PASSAGE_STYLES);
  const frame = passageFrame(style, draft.title, rng);
  let context = frame.head;
  const spans = new Map<string, { answer: QaAnswer; kind: FactKind }>();
  const answerable: Array<{ fact: string; templates: string[] }> = [];
  const dropped: string[][] = [];
  let index = 0;
  for (const block of draft.blocks) {
    checkBlock(block, draft.topic);
    const asks = Object.entries(block.asks ?? {}).map(([fact, templates]) => ({ fact, templates: phrasings(templates) }));
    if (block.keep !== undefined && !rng.chance(block.keep)) {
      if (block.askIfLeftOut !== false) dropped.push(...asks.map((a) => a.templates));
      continue;
    }
    // An FAQ heading is one phrasing of the block's first fact, which is then not asked again.
    const first = asks[0];
    let heading: string | undefined;
    if (style === 'faq' && first && first.templates.length > 1) {
      const template = rng.pick(first.templates);
      first.templates = first.templates.filter((t) => t !== template);
      heading = fill(template);
    }
    if (context && !context.endsWith(' ')) context += ' ';
    context += blockLead({ style, index, heading, rng });
    index += 1;
    for (const piece of block.text) {
      if (isFact(piece) && !spans.has(piece.fact)) {
        spans.set(piece.fact, { answer: { text: piece.text, answer_start: context.length }, kind: factKind(piece) });
      }
      context += isFact(piece) ? piece.text : piece;
    }
    answerable.push(...asks);
  }
  context += frame.tail;

  const rows: Array<{ q: Omit<QaQuestion, 'id'>; info: QaInfo }> = [];
  const asked = new Set<string>();
  const ask = (template: string, fact: string | null): void => {
    const plain = fill(template);
    if (asked.has(plain)) return;
    asked.add(plain);
    const span = fact === null ? undefined : spans.get(fact);
    rows.push({
      q: { question: customerVoice(plain, rng, opts.voiceRate), answers: span ? [span.answer] : [], is_impossible: !span },
      info: { fact, kind: span?.kind ?? null, template },
    });
  };
  const perFact = options.heldOut ? opts.testPhrasingsPerFact : opts.phrasingsPerFact;
  for (const { fact, templates } of answerable) {
    for (const template of rng.sample(templates, perFact)) ask(template, fact);
  }
  const nAnswerable = rows.length;
  // One phrasing per missing fact: from blocks left out, and from what the topic never says.
  const pool = rng.shuffle([...dropped, ...draft.absent.map((q) => phrasings([q]))]);
  const nImpossible = Math.max(opts.minImpossible, Math.round(nAnswerable * opts.impossibleRate));
  for (const templates of pool.slice(0, nImpossible)) ask(rng.pick(templates), null);

  const shuffled = rng.shuffle(rows);
  return {
    id,
    topic: draft.topic,
    title: draft.title,
    context,
    style,
    qas: shuffled.map((r, i) => ({ id: `${id}-q${String(i + 1).padStart(2, '0')}`, ...r.q })),
    info: shuffled.map((r) => r.info),
  };
}

/**
 * Pre-WordPiece token count of `text`: runs of letters or digits, and each other non-space
 * character on its own, as BERT's basic tokenizer splits them. WordPiece only splits further,
 * so this is a lower bound on the model's token count (used for the long-answer share).
 */
export function approxTokens(text: string): number {
  return text.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)?.length ?? 0;
}

export function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** Build one passage, drawing again (from a new stream) until its length is within bounds. */
function drawPassage(topic: Topic, id: string, rng: Rng, opts: QaOptions, heldOut: boolean): Passage {
  for (let attempt = 0; attempt < 50; attempt++) {
    const local = rng.fork(`passage/${id}/${attempt}`);
    const shop = makeShop(local);
    const kit = makeKit(local, shop);
    const built = topic.build(kit);
    const draft: PassageDraft = {
      ...built,
      blocks: [...built.blocks, ...footerBlocks(kit, topic)],
      topic: topic.id,
      slots: { brand: shop.brand, city: shop.region.city },
    };
    const passage = compilePassage(draft, { id, rng: local, qa: opts, heldOut });
    const words = wordCount(passage.context);
    if (words >= opts.minWords && words <= opts.maxWords) return passage;
  }
  throw new Error(`topic ${topic.id}: no passage within ${opts.minWords}-${opts.maxWords} words in 50 draws`);
}

export function generatePassages(rng: Rng, opts: QaOptions = DEFAULT_QA_OPTIONS): QaSplits {
  const ids = TOPICS.flatMap((topic) => Array.from({ length: opts.instancesPerTopic }, (_, i) => `${topic.id}-${i + 1}`));
  // The split is drawn before the passages, since held-out passages ask fewer phrasings per fact.
  const heldOut = new Set(
    rng
      .fork('qa-split')
      .shuffle(ids)
      .slice(0, Math.round(ids.length * opts.testFraction)),
  );
  const train: Passage[] = [];
  const test: Passage[] = [];
  const contexts = new Set<string>();
  for (const topic of TOPICS) {
    for (let instance = 1; instance <= opts.instancesPerTopic; instance++) {
      const id = `${topic.id}-${instance}`;
      const passage = drawPassage(topic, id, rng, opts, heldOut.has(id));
      if (contexts.has(passage.context)) throw new Error(`passage ${id} repeats an earlier passage word for word`);
      contexts.add(passage.context);
      (heldOut.has(id) ? test : train).push(passage);
    }
  }
  const byId = (a: Passage, b: Passage): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return { test: test.sort(byId), train: train.sort(byId) };
}

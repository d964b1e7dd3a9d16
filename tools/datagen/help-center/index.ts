/**
 * Help-center QA in SQuAD v2.0 form: seeded passages from the topic builders, several
 * phrasings per fact, unanswerable questions about plausible facts the passage leaves out,
 * and a train/test split by passage.
 */
import type { Rng } from '../prng.js';
import { expandAlternations, render } from '../template.js';
import { footerBlocks } from './footer.js';
import { makeKit, type Topic } from './kit.js';
import type { Block, FactMark, PassageDraft, Piece } from './prose.js';
import { makeShop } from './shops.js';
import { ACCOUNT_TOPICS } from './topics-account.js';
import { BILLING_TOPICS } from './topics-billing.js';
import { ORDER_TOPICS } from './topics-orders.js';

export { toSquad, verifySquad, type SquadDocument } from './squad.js';

export const TOPICS: readonly Topic[] = [...ORDER_TOPICS, ...BILLING_TOPICS, ...ACCOUNT_TOPICS];

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

export interface Passage {
  /** `topic-instance`, e.g. "refunds-2". */
  id: string;
  topic: string;
  title: string;
  context: string;
  qas: QaQuestion[];
}

export interface QaOptions {
  instancesPerTopic: number;
  /** Passages outside this many words are drawn again (blocks are optional, so lengths vary). */
  minWords: number;
  maxWords: number;
  testFraction: number;
  /** Most phrasings asked per fact. */
  phrasingsPerFact: number;
  /** Unanswerable questions per answerable one (at least `minImpossible` per passage). */
  impossibleRate: number;
  minImpossible: number;
}

export const DEFAULT_QA_OPTIONS: QaOptions = {
  instancesPerTopic: 4,
  minWords: 60,
  maxWords: 300,
  testFraction: 0.2,
  phrasingsPerFact: 4,
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

/** Turn a draft into a passage: pick the blocks, lay out the text, ask the questions. */
export function compilePassage(draft: PassageDraft, id: string, rng: Rng, opts: QaOptions): Passage {
  let context = '';
  const spans = new Map<string, QaAnswer>();
  const answerable: Array<{ fact: string; templates: readonly string[] }> = [];
  const dropped: string[][] = [];
  for (const block of draft.blocks) {
    checkBlock(block, draft.topic);
    const asks = Object.entries(block.asks ?? {});
    if (block.keep !== undefined && !rng.chance(block.keep)) {
      if (block.askIfLeftOut !== false) dropped.push(...asks.map(([, templates]) => phrasings(templates)));
      continue;
    }
    if (context) context += ' ';
    for (const piece of block.text) {
      if (isFact(piece) && !spans.has(piece.fact)) spans.set(piece.fact, { text: piece.text, answer_start: context.length });
      context += isFact(piece) ? piece.text : piece;
    }
    answerable.push(...asks.map(([fact, templates]) => ({ fact, templates })));
  }

  const questions: Array<Omit<QaQuestion, 'id'>> = [];
  const asked = new Set<string>();
  const ask = (template: string, answer: QaAnswer | undefined): void => {
    const rendered = render(template, rng, {
      brand: () => draft.slots.brand ?? '',
      city: () => draft.slots.city ?? '',
    });
    // "Zefiro Cycles's" -> "Zefiro Cycles'"
    const question = rendered.replace(/s's\b/g, "s'");
    if (asked.has(question)) return;
    asked.add(question);
    questions.push({ question, answers: answer ? [answer] : [], is_impossible: !answer });
  };
  for (const { fact, templates } of answerable) {
    const answer = spans.get(fact) as QaAnswer;
    for (const template of rng.sample(phrasings(templates), opts.phrasingsPerFact)) ask(template, answer);
  }
  const nAnswerable = questions.length;
  // One phrasing per missing fact: from blocks left out, and from what the topic never says.
  const pool = rng.shuffle([...dropped, ...draft.absent.map((q) => phrasings([q]))]);
  const nImpossible = Math.max(opts.minImpossible, Math.round(nAnswerable * opts.impossibleRate));
  for (const options of pool.slice(0, nImpossible)) ask(rng.pick(options), undefined);

  const qas = rng.shuffle(questions).map((q, i) => ({ id: `${id}-q${String(i + 1).padStart(2, '0')}`, ...q }));
  return { id, topic: draft.topic, title: draft.title, context, qas };
}

export function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** Build one passage, drawing again (from a new stream) until its length is within bounds. */
function drawPassage(topic: Topic, id: string, rng: Rng, opts: QaOptions): Passage {
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
    const passage = compilePassage(draft, id, local, opts);
    const words = wordCount(passage.context);
    if (words >= opts.minWords && words <= opts.maxWords) return passage;
  }
  throw new Error(`topic ${topic.id}: no passage within ${opts.minWords}-${opts.maxWords} words in 50 draws`);
}

export function generatePassages(rng: Rng, opts: QaOptions = DEFAULT_QA_OPTIONS): QaSplits {
  const passages: Passage[] = [];
  const contexts = new Set<string>();
  for (const topic of TOPICS) {
    for (let instance = 1; instance <= opts.instancesPerTopic; instance++) {
      const id = `${topic.id}-${instance}`;
      const passage = drawPassage(topic, id, rng, opts);
      if (contexts.has(passage.context)) throw new Error(`passage ${id} repeats an earlier passage word for word`);
      contexts.add(passage.context);
      passages.push(passage);
    }
  }
  const shuffled = rng.fork('qa-split').shuffle(passages);
  const nTest = Math.round(passages.length * opts.testFraction);
  const byId = (a: Passage, b: Passage): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return { test: shuffled.slice(0, nTest).sort(byId), train: shuffled.slice(nTest).sort(byId) };
}

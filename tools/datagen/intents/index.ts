/**
 * Intent classification data: renders templates into noisy customer messages, holding ~25% of
 * each intent's templates out of training so the test split measures generalization.
 */
import { INTENT_SLOTS } from '../entities.js';
import { addNoise, DEFAULT_NOISE, type NoiseOptions } from '../noise.js';
import type { Rng } from '../prng.js';
import { consistentSlots, render } from '../template.js';
import { ACCOUNT_INTENTS } from './account.js';
import { BILLING_INTENTS } from './billing.js';
import { CONVERSATION_INTENTS, OUT_OF_SCOPE_INTENT } from './conversation.js';
import { ORDER_INTENTS } from './orders.js';
import type { ContextKind, IntentSpec } from './types.js';

export { OUT_OF_SCOPE, type IntentSpec } from './types.js';

export const INTENTS: readonly IntentSpec[] = [...ORDER_INTENTS, ...BILLING_INTENTS, ...ACCOUNT_INTENTS, ...CONVERSATION_INTENTS, OUT_OF_SCOPE_INTENT];

export interface IntentExample {
  text: string;
  label: string;
  /** `label/index` of the template the text came from (not written to the data files). */
  templateId: string;
}

export interface IntentOptions {
  trainPerIntent: number;
  testPerIntent: number;
  /** Share of each intent's templates used only for the test split. */
  heldOutFraction: number;
  /** Chance of a context sentence in front of the message. */
  contextRate: number;
  noise: NoiseOptions;
}

export const DEFAULT_INTENT_OPTIONS: IntentOptions = {
  trainPerIntent: 380,
  testPerIntent: 100,
  heldOutFraction: 0.25,
  contextRate: 0.15,
  noise: DEFAULT_NOISE,
};

export interface IntentSplits {
  train: IntentExample[];
  test: IntentExample[];
  /** Template ids per split, so tests can check they never overlap. */
  templates: { train: string[]; test: string[] };
}

const CONTEXTS: Record<ContextKind, readonly string[]> = {
  order: [
    'I ordered a {product} {date}.',
    'I bought a {product} from your shop {date}.',
    'My order number is {order}.',
    'I placed an order for a {product} last week.',
    'So I ordered some stuff {date}.',
    'This is about my {product} order.',
  ],
  account: [
    'I have had an account with you for years.',
    'My account email is {email}.',
    'I am trying to log in on my phone.',
    'I set up my account {date}.',
    'I mostly use the app.',
  ],
  payment: [
    'I was trying to buy a {product}.',
    'I normally pay with {payment}.',
    'My order total was {amount}.',
    'I was charged {amount} {date}.',
    'I have a question about my last order.',
  ],
  none: [],
};

interface TemplateRef {
  id: string;
  template: string;
}

/** Split one intent's templates into train and held-out test templates. */
function splitTemplates(spec: IntentSpec, rng: Rng, heldOutFraction: number): { train: TemplateRef[]; test: TemplateRef[] } {
  const refs = spec.templates.map((template, i) => ({ id: `${spec.label}/${i}`, template }));
  const shuffled = rng.shuffle(refs);
  const nTest = Math.max(1, Math.round(refs.length * heldOutFraction));
  return { test: shuffled.slice(0, nTest), train: shuffled.slice(nTest) };
}

function renderExample(spec: IntentSpec, ref: TemplateRef, rng: Rng, opts: IntentOptions): string {
  const slots = consistentSlots(INTENT_SLOTS, ['product', 'order']);
  let text = render(ref.template, rng, slots);
  const contexts = CONTEXTS[spec.context];
  if (contexts.length > 0 && rng.chance(opts.contextRate)) {
    text = `${render(rng.pick(contexts), rng, slots)} ${text}`;
  }
  return addNoise(text, rng, opts.noise, !spec.smallTalk);
}

/**
 * Draw `target` distinct texts from the templates, round-robin so every template is used
 * about equally. `seen` holds texts already taken (by any label or split) and is updated.
 */
function drawExamples(spec: IntentSpec, refs: readonly TemplateRef[], target: number, rng: Rng, opts: IntentOptions, seen: Set<string>): IntentExample[] {
  const out: IntentExample[] = [];
  const maxAttempts = target * 60;
  for (let attempt = 0; out.length < target && attempt < maxAttempts; attempt++) {
    const ref = refs[attempt % refs.length] as TemplateRef;
    const text = renderExample(spec, ref, rng, opts);
    if (seen.has(text)) continue;
    seen.add(text);
    out.push({ text, label: spec.label, templateId: ref.id });
  }
  if (out.length < target) {
    throw new Error(`intent ${spec.label}: only ${out.length} distinct texts of ${target}; add templates or alternatives`);
  }
  return out;
}

export function generateIntents(rng: Rng, opts: IntentOptions = DEFAULT_INTENT_OPTIONS): IntentSplits {
  const splits = INTENTS.map((spec) => ({ spec, ...splitTemplates(spec, rng.fork(`split/${spec.label}`), opts.heldOutFraction) }));
  const seen = new Set<string>();
  const train = splits.flatMap(({ spec, train: refs }) => drawExamples(spec, refs, opts.trainPerIntent, rng.fork(`train/${spec.label}`), opts, seen));
  // Test texts must not repeat any train text; `seen` now holds every train text.
  const test = splits.flatMap(({ spec, test: refs }) => drawExamples(spec, refs, opts.testPerIntent, rng.fork(`test/${spec.label}`), opts, seen));
  return {
    train: rng.fork('shuffle/train').shuffle(train),
    test: rng.fork('shuffle/test').shuffle(test),
    templates: {
      train: splits.flatMap((s) => s.train.map((r) => r.id)),
      test: splits.flatMap((s) => s.test.map((r) => r.id)),
    },
  };
}

/**
 * Scores the bundled models' active versions on the hand-written check set, through the serving
 * code (openModelDir: the server's tokenizer, QA windows and span search, ONNX Runtime sessions),
 * with the HTTP API's defaults (top_k 1, max_answer_length 30), so the numbers are what a user of
 * `npm start` gets. QA: gold answer inside the top answer, exact match and F1 under the SQuAD
 * rules (src/training/evaluation/task-metrics.ts); intent: accuracy, macro-F1, errors per intent.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { openModelDir, type OpenedModel } from '../../src/inference/index.js';
import { ModelRegistry, verifyManifestFiles } from '../../src/inference/registry/model-registry.js';
import type { Manifest } from '../../src/inference/registry/types.js';
import { normalizeAnswer } from '../../src/inference/tasks/answer-text.js';
import { classificationScores, squadScores } from '../../src/training/evaluation/task-metrics.js';
import { type CheckQuestion, type CheckSet, CheckSetInputError, DEFAULT_FIXTURE_DIR, readCheckSet } from './fixture.js';

export const QA_MODEL = 'support-qa';
export const INTENT_MODEL = 'support-intent';
/** The results file, in the model directory beside README.md. */
export const RESULTS_FILE = 'check-set.json';
/** The HTTP API's default longest answer (src/server/schemas/qa.ts). */
const MAX_ANSWER_LENGTH = 30;
/** Inputs per call into a model (the evaluator's chunk). */
const CHUNK = 16;

/** Which version was scored: its number and the sha256 of its model.onnx from the manifest. */
export interface ScoredVersion {
  version: number;
  model_sha256: string;
}

export interface QaItem {
  id: string;
  question: string;
  /** null: the passage does not answer it. */
  gold: string | null;
  /** The top answer; '' when the model answered "no answer" (an empty result list). */
  predicted: string;
  score: number | null;
  beyond_first_128_tokens: boolean;
  exact_match: number;
  f1: number;
  /** Normalised gold is a run of whole words of the normalised prediction (answerable questions only). */
  gold_in_answer: boolean | null;
}

/** Fractions in [0, 1] over `questions` (gold_in_top_answer: over the answerable ones). */
export interface QaScores {
  questions: number;
  answerable: number;
  gold_in_top_answer: number;
  exact_match: number;
  f1: number;
}

export interface IntentItem {
  text: string;
  gold: string;
  predicted: string;
  score: number;
}

export interface CheckSetResults {
  /** ISO time of the run. */
  scored_at: string;
  fixture: { passages: number; questions: number; unanswerable: number; utterances: number; intents: number };
  models: { [QA_MODEL]: ScoredVersion; [INTENT_MODEL]: ScoredVersion };
  qa: QaScores & {
    /** The questions whose answer lies past the first 128 context tokens. */
    beyond_first_128_tokens: QaScores;
    /** Unanswerable questions the model answered with "no answer". */
    unanswerable_correct: number;
    /** Questions (of any kind) answered with "no answer". */
    no_answer_returned: number;
    /**
     * The same questions with "no answer" not allowed (the API's allow_no_answer false): the best
     * span always. Against the scores above it tells wrong spans from abstention. Absent from
     * results written before it existed (docs/model-builds/2026-12-01-cpu.check-set.json).
     */
    best_span?: QaScores & { beyond_first_128_tokens: QaScores };
    items: QaItem[];
  };
  intent: {
    utterances: number;
    accuracy: number;
    macro_f1: number;
    /** Per gold intent: utterances and how many were classified right. */
    per_intent: Record<string, { count: number; correct: number }>;
    errors: IntentItem[];
  };
}

export interface ScoreOptions {
  /** Model registry (MODEL_DIR); the active version of each model is scored. */
  modelDir: string;
  fixtureDir?: string;
}

interface ActiveModel {
  model: OpenedModel;
  scored: ScoredVersion;
}

/** Opens `name`'s active version the way the server does: state.json, manifest, file hashes checked. */
async function openActive(registry: ModelRegistry, name: string): Promise<ActiveModel> {
  const state = await registry.readState(name);
  if (!state)
    throw new CheckSetInputError(`${path.join(registry.root, name)}: no state.json naming an active version; pass --model-dir with the bundled registry`);
  const manifest = await registry.readManifest(name, state.active);
  const dir = registry.versionDir(name, state.active);
  await verifyManifestFiles(dir, manifest, ['model.onnx', 'tokenizer.json', 'config.json']);
  const model = await openModelDir({ dir, name });
  return { model, scored: { version: state.active, model_sha256: manifest.files['model.onnx'] ?? '' } };
}

function containsWords(prediction: string, gold: string): boolean {
  const g = normalizeAnswer(gold);
  return g.length > 0 && ` ${normalizeAnswer(prediction)} `.includes(` ${g} `);
}

function qaScores(items: readonly QaItem[]): QaScores {
  const answerable = items.filter((i) => i.gold !== null);
  const squad = squadScores(
    items.map((i) => (i.gold === null ? [] : [i.gold])),
    items.map((i) => i.predicted),
  );
  return {
    questions: items.length,
    answerable: answerable.length,
    gold_in_top_answer: answerable.length === 0 ? 0 : answerable.filter((i) => i.gold_in_answer).length / answerable.length,
    ...squad,
  };
}

async function answerItems(model: OpenedModel, questions: readonly CheckQuestion[], allowNoAnswer: boolean): Promise<QaItem[]> {
  const items: QaItem[] = [];
  for (let i = 0; i < questions.length; i += CHUNK) {
    const chunk = questions.slice(i, i + CHUNK);
    const results = await model.answer(
      chunk.map((q) => ({ question: q.question, context: q.context })),
      { topK: 1, maxAnswerLength: MAX_ANSWER_LENGTH, allowNoAnswer },
    );
    chunk.forEach((q, k) => {
      const top = results[k]?.[0];
      const predicted = top?.answer ?? '';
      const one = squadScores([q.gold === null ? [] : [q.gold]], [predicted]);
      items.push({
        id: q.id,
        question: q.question,
        gold: q.gold,
        predicted,
        score: top?.score ?? null,
        beyond_first_128_tokens: q.beyondFirst128Tokens,
        exact_match: one.exact_match,
        f1: one.f1,
        gold_in_answer: q.gold === null ? null : containsWords(predicted, q.gold),
      });
    });
  }
  return items;
}

async function scoreQa(model: OpenedModel, questions: readonly CheckQuestion[]): Promise<CheckSetResults['qa']> {
  const items = await answerItems(model, questions, true);
  const spans = await answerItems(model, questions, false);
  return {
    ...qaScores(items),
    beyond_first_128_tokens: qaScores(items.filter((i) => i.beyond_first_128_tokens)),
    unanswerable_correct: items.filter((i) => i.gold === null && i.predicted === '').length,
    no_answer_returned: items.filter((i) => i.predicted === '').length,
    best_span: { ...qaScores(spans), beyond_first_128_tokens: qaScores(spans.filter((i) => i.beyond_first_128_tokens)) },
    items,
  };
}

async function scoreIntent(model: OpenedModel, set: CheckSet): Promise<CheckSetResults['intent']> {
  const labels = new Set(model.config.labels ?? []);
  const unknown = set.utterances.find((u) => !labels.has(u.label));
  if (unknown) throw new CheckSetInputError(`check set label "${unknown.label}" is not one of the ${INTENT_MODEL} model's labels (${[...labels].join(', ')})`);
  const items: IntentItem[] = [];
  for (let i = 0; i < set.utterances.length; i += CHUNK) {
    const chunk = set.utterances.slice(i, i + CHUNK);
    const results = await model.classify(
      chunk.map((u) => u.input),
      { topK: 1 },
    );
    chunk.forEach((u, k) => {
      const top = results[k]?.[0];
      items.push({ text: typeof u.input === 'string' ? u.input : u.input.text, gold: u.label, predicted: top?.label ?? '', score: top?.score ?? 0 });
    });
  }
  const perIntent: Record<string, { count: number; correct: number }> = {};
  for (const item of items) {
    const entry = perIntent[item.gold] ?? { count: 0, correct: 0 };
    perIntent[item.gold] = { count: entry.count + 1, correct: entry.correct + (item.predicted === item.gold ? 1 : 0) };
  }
  return {
    utterances: items.length,
    ...classificationScores(
      items.map((i) => i.gold),
      items.map((i) => i.predicted),
    ),
    per_intent: Object.fromEntries(Object.entries(perIntent).sort(([a], [b]) => a.localeCompare(b))),
    errors: items.filter((i) => i.predicted !== i.gold),
  };
}

/**
 * Scores the active support-qa and support-intent versions in `modelDir` on the check set.
 * Throws CheckSetInputError for a check set or model folder that cannot be scored as given.
 */
export async function scoreCheckSet(opts: ScoreOptions): Promise<CheckSetResults> {
  const set = await readCheckSet(opts.fixtureDir ?? DEFAULT_FIXTURE_DIR);
  const root = path.resolve(opts.modelDir);
  const stat = await fs.stat(root).catch(() => undefined);
  if (!stat?.isDirectory()) throw new CheckSetInputError(`--model-dir ${root} is not a folder; pass the model registry (default MODEL_DIR, else models/)`);
  const registry = new ModelRegistry(root);
  const qa = await openActive(registry, QA_MODEL);
  try {
    const intent = await openActive(registry, INTENT_MODEL);
    try {
      return {
        scored_at: new Date().toISOString(),
        fixture: {
          passages: set.passages,
          questions: set.questions.length,
          unanswerable: set.questions.filter((q) => q.gold === null).length,
          utterances: set.utterances.length,
          intents: new Set(set.utterances.map((u) => u.label)).size,
        },
        models: { [QA_MODEL]: qa.scored, [INTENT_MODEL]: intent.scored },
        qa: await scoreQa(qa.model, set.questions),
        intent: await scoreIntent(intent.model, set),
      };
    } finally {
      await intent.model.close();
    }
  } finally {
    await qa.model.close();
  }
}

export async function writeCheckSetResults(modelDir: string, results: CheckSetResults): Promise<string> {
  const file = path.join(modelDir, RESULTS_FILE);
  await fs.writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/**
 * `modelDir`'s check-set.json when it scored exactly the models in `manifests` (same versions,
 * same model.onnx), else undefined: numbers of a model that has since been rebuilt are not shown.
 */
export async function readCurrentCheckSetResults(modelDir: string, manifests: readonly Manifest[]): Promise<CheckSetResults | undefined> {
  let results: CheckSetResults;
  try {
    results = JSON.parse(await fs.readFile(path.join(modelDir, RESULTS_FILE), 'utf8')) as CheckSetResults;
  } catch {
    return undefined;
  }
  for (const name of [QA_MODEL, INTENT_MODEL] as const) {
    const manifest = manifests.find((m) => m.model === name);
    const scored = results.models?.[name];
    if (!manifest || !scored || scored.version !== manifest.version || scored.model_sha256 !== manifest.files['model.onnx']) return undefined;
  }
  return results;
}

/**
 * generateDatasets: the whole data build in one call. Everything derives from `seed`, so the
 * same seed and the same generator source give byte-identical files.
 *
 *   support-intent/train.jsonl, support-intent/test.jsonl   {"text", "label"} per line
 *   support-qa/train.json, support-qa/test.json             SQuAD v2.0
 *   corpus.txt                                              unlabeled training text
 *   datagen.json                                            seed, version, hashes, counts
 *
 * Only these files are written; anything else in `outDir` is left alone.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { approxTokens, generatePassages, toSquad, verifySquad, type Passage, type QaSplits } from './help-center/index.js';
import { generateIntents, INTENTS, type IntentExample, type IntentSplits } from './intents/index.js';
import { Rng } from './prng.js';
import { dedupeLines, hashSources, toJson, toJsonl, writeOutput } from './writers.js';

/** Bump when the output changes for the same seed on purpose. */
export const GENERATOR_VERSION = '2.0.0';
export const DEFAULT_SEED = 1234;

export const FILES = {
  intentTrain: 'support-intent/train.jsonl',
  intentTest: 'support-intent/test.jsonl',
  qaTrain: 'support-qa/train.json',
  qaTest: 'support-qa/test.json',
  corpus: 'corpus.txt',
  manifest: 'datagen.json',
} as const;

export interface GenerateOptions {
  outDir: string;
  seed?: number;
}

export interface DatasetCounts {
  intent: {
    labels: number;
    train: number;
    test: number;
    train_per_label: Record<string, number>;
    test_per_label: Record<string, number>;
    templates_train: number;
    templates_test: number;
  };
  qa: {
    passages_train: number;
    passages_test: number;
    questions_train: number;
    questions_test: number;
    impossible_train: number;
    impossible_test: number;
    /** Answers that start 128 or more pre-WordPiece tokens into their passage (see approxTokens). */
    late_answers_train: number;
    late_answers_test: number;
  };
  corpus_lines: number;
}

export interface DatasetSummary {
  outDir: string;
  seed: number;
  generatorVersion: string;
  /** sha256 over the generator's source files and the seed. */
  hash: string;
  /** sha256 of each written data file, by path relative to outDir (datagen.json excluded). */
  files: Record<string, string>;
  counts: DatasetCounts;
  elapsedMs: number;
}

/** Bad generator output (a broken template or span): fix the code, retrying will not help. */
export class DatagenError extends Error {
  override readonly name = 'DatagenError';
}

const SOURCE_DIR = path.dirname(fileURLToPath(import.meta.url));

function perLabel(rows: readonly IntentExample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const spec of INTENTS) counts[spec.label] = 0;
  for (const row of rows) counts[row.label] = (counts[row.label] ?? 0) + 1;
  return counts;
}

/** The document stride matters for these: a 128-token window that starts at the passage misses them. */
function lateAnswers(passages: readonly Passage[]): number {
  return passages.reduce((n, p) => n + p.qas.filter((q) => q.answers.some((a) => approxTokens(p.context.slice(0, a.answer_start)) >= 128)).length, 0);
}

function questionCount(passages: readonly Passage[], impossible: boolean): number {
  return passages.reduce((n, p) => n + p.qas.filter((q) => !impossible || q.is_impossible).length, 0);
}

/** Checks that must hold before anything is written. */
function validate(intents: IntentSplits, qa: QaSplits): void {
  for (const spec of INTENTS) {
    if (!/^[a-z]+(_[a-z]+)*$/.test(spec.label)) throw new DatagenError(`label "${spec.label}" is not snake_case`);
  }
  const trainTexts = new Set(intents.train.map((e) => e.text));
  const leaked = intents.test.find((e) => trainTexts.has(e.text));
  if (leaked) throw new DatagenError(`test text also in train: "${leaked.text}"`);
  const trainTemplates = new Set(intents.templates.train);
  const shared = intents.templates.test.find((id) => trainTemplates.has(id));
  if (shared) throw new DatagenError(`template ${shared} is in both splits`);
  const trainContexts = new Set(qa.train.map((p) => p.context));
  if (qa.test.some((p) => trainContexts.has(p.context))) throw new DatagenError('a test passage is also in train');
  for (const [split, passages] of [
    ['train', qa.train],
    ['test', qa.test],
  ] as const) {
    const problems = verifySquad(toSquad(passages));
    if (problems.length > 0) throw new DatagenError(`support-qa ${split}: ${problems.slice(0, 5).join('; ')}`);
  }
}

export interface Datasets {
  intents: IntentSplits;
  qa: QaSplits;
}

/** The datasets in memory (with template ids and passage ids), checked but not written. */
export function buildDatasets(seed: number): Datasets {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new DatagenError(`seed must be a non-negative integer, got ${seed}`);
  const root = Rng.fromSeed(seed);
  const intents = generateIntents(root.fork('intents'));
  const qa = generatePassages(root.fork('help-center'));
  validate(intents, qa);
  return { intents, qa };
}

export async function generateDatasets(options: GenerateOptions): Promise<DatasetSummary> {
  const started = performance.now();
  const seed = options.seed ?? DEFAULT_SEED;
  const { intents, qa } = buildDatasets(seed);

  // A QA train question can read exactly like an intent test message ("Is there a student
  // discount?"); held-out text of either task never goes into the corpus.
  const heldOut = new Set([...intents.test.map((e) => e.text), ...qa.test.map((p) => p.context), ...qa.test.flatMap((p) => p.qas.map((q) => q.question))]);
  const corpus = dedupeLines([
    ...intents.train.map((e) => e.text),
    ...qa.train.map((p) => p.context),
    ...qa.train.flatMap((p) => p.qas.map((q) => q.question)),
  ]).filter((line) => !heldOut.has(line));
  const contents: Record<string, string> = {
    [FILES.intentTrain]: toJsonl(intents.train.map(({ text, label }) => ({ text, label }))),
    [FILES.intentTest]: toJsonl(intents.test.map(({ text, label }) => ({ text, label }))),
    [FILES.qaTrain]: toJson(toSquad(qa.train)),
    [FILES.qaTest]: toJson(toSquad(qa.test)),
    [FILES.corpus]: `${corpus.join('\n')}\n`,
  };
  const files: Record<string, string> = {};
  for (const rel of Object.keys(contents).sort()) {
    files[rel] = await writeOutput(options.outDir, rel, contents[rel] as string);
  }

  const counts: DatasetCounts = {
    intent: {
      labels: INTENTS.length,
      train: intents.train.length,
      test: intents.test.length,
      train_per_label: perLabel(intents.train),
      test_per_label: perLabel(intents.test),
      templates_train: intents.templates.train.length,
      templates_test: intents.templates.test.length,
    },
    qa: {
      passages_train: qa.train.length,
      passages_test: qa.test.length,
      questions_train: questionCount(qa.train, false),
      questions_test: questionCount(qa.test, false),
      impossible_train: questionCount(qa.train, true),
      impossible_test: questionCount(qa.test, true),
      late_answers_train: lateAnswers(qa.train),
      late_answers_test: lateAnswers(qa.test),
    },
    corpus_lines: corpus.length,
  };
  const hash = await hashSources(SOURCE_DIR, `\0seed:${seed}`);
  await writeOutput(
    options.outDir,
    FILES.manifest,
    `${JSON.stringify(
      {
        seed,
        generator_version: GENERATOR_VERSION,
        sha256: files,
        counts,
        hash,
      },
      null,
      2,
    )}\n`,
  );
  return {
    outDir: options.outDir,
    seed,
    generatorVersion: GENERATOR_VERSION,
    hash,
    files,
    counts,
    elapsedMs: Math.round(performance.now() - started),
  };
}

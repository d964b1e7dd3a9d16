/**
 * The check-set scorer on the real bundled models: numbers in range and consistent with its own
 * items, the same answers as the HTTP API gives for the same inputs, and the README section
 * rendered from the results (and spliced into an existing README once, not twice).
 */
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createInferenceEngine, type InferenceEngine } from '../../src/inference/index.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { buildApp } from '../../src/server/app.js';
import { squadScores } from '../../src/training/evaluation/task-metrics.js';
import { type CheckSetResults, scoreCheckSet } from '../../tools/check-set/score.js';
import { DEFAULT_FIXTURE_DIR, readCheckSet } from '../../tools/check-set/fixture.js';
import { CHECK_SET_HEADING, renderCheckSetSection, renderModelsReadme, spliceCheckSetSection } from '../../tools/models-readme.js';

const BUNDLED = path.resolve('models');
let results: CheckSetResults;
let engine: InferenceEngine;
let metrics: Metrics;
let app: Awaited<ReturnType<typeof buildApp>>;

beforeAll(async () => {
  results = await scoreCheckSet({ modelDir: BUNDLED });
  const config = loadConfig({ MODEL_DIR: BUNDLED, REGISTRY_WATCH: 'false', REGISTRY_POLL_MS: '0', JOBS_ENABLED: 'false' });
  metrics = createMetrics({ defaultMetrics: false });
  engine = createInferenceEngine({ config, logger: pino({ level: 'silent' }), metrics });
  await engine.start();
  app = await buildApp({ config, engine, metrics });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await engine?.close();
  metrics?.close();
});

describe('check-set scorer on the bundled models', () => {
  it('scores every item, with fractions in [0, 1] that follow from the items', async () => {
    const set = await readCheckSet(DEFAULT_FIXTURE_DIR);
    expect(results.qa.items).toHaveLength(set.questions.length);
    expect(results.intent.utterances).toBe(set.utterances.length);
    const fractions = [results.qa.gold_in_top_answer, results.qa.exact_match, results.qa.f1, results.intent.accuracy, results.intent.macro_f1];
    const far = results.qa.beyond_first_128_tokens;
    for (const v of [...fractions, far.gold_in_top_answer, far.exact_match, far.f1]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(results.qa.exact_match).toBeCloseTo(mean(results.qa.items.map((i) => i.exact_match)), 10);
    expect(results.qa.f1).toBeCloseTo(mean(results.qa.items.map((i) => i.f1)), 10);
    expect(results.qa.f1).toBeGreaterThanOrEqual(results.qa.exact_match);
    expect(far.questions).toBe(set.questions.filter((q) => q.beyondFirst128Tokens).length);
    expect(results.intent.accuracy).toBeCloseTo(1 - results.intent.errors.length / results.intent.utterances, 10);
    const perIntent = Object.values(results.intent.per_intent);
    expect(perIntent.reduce((n, v) => n + v.count, 0)).toBe(results.intent.utterances);
    expect(results.models['support-qa'].model_sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the answers the HTTP API gives for the same question and passage, far-window ones included', async () => {
    const set = await readCheckSet(DEFAULT_FIXTURE_DIR);
    const picks = [
      set.questions.find((q) => !q.beyondFirst128Tokens && q.gold !== null)!,
      ...set.questions.filter((q) => q.beyondFirst128Tokens).slice(0, 2),
      set.questions.find((q) => q.gold === null)!,
    ];
    const res = await app.inject({
      method: 'POST',
      url: '/v1/qa',
      payload: { model: 'support-qa', inputs: picks.map((q) => ({ question: q.question, context: q.context })) },
    });
    expect(res.statusCode).toBe(200);
    const api = (res.json() as { results: { answer: string }[][] }).results;
    picks.forEach((q, i) => {
      const scored = results.qa.items.find((item) => item.id === q.id)!;
      expect(scored.predicted, q.id).toBe(api[i]![0]?.answer ?? '');
    });
  });

  it('scores "never no answer" as the API answers with allow_no_answer false', async () => {
    const set = await readCheckSet(DEFAULT_FIXTURE_DIR);
    const predictions: string[] = [];
    for (let i = 0; i < set.questions.length; i += 16) {
      const chunk = set.questions.slice(i, i + 16);
      const res = await app.inject({
        method: 'POST',
        url: '/v1/qa',
        payload: { model: 'support-qa', allow_no_answer: false, inputs: chunk.map((q) => ({ question: q.question, context: q.context })) },
      });
      expect(res.statusCode).toBe(200);
      for (const answers of (res.json() as { results: { answer: string }[][] }).results) predictions.push(answers[0]?.answer ?? '');
    }
    expect(predictions.every((p) => p !== '')).toBe(true);
    const expected = squadScores(
      set.questions.map((q) => (q.gold === null ? [] : [q.gold])),
      predictions,
    );
    const bestSpan = results.qa.best_span!;
    expect(bestSpan.questions).toBe(set.questions.length);
    expect(bestSpan.exact_match).toBeCloseTo(expected.exact_match, 10);
    expect(bestSpan.f1).toBeCloseTo(expected.f1, 10);
  });

  it('gives the labels the HTTP API gives for the same utterances', async () => {
    const sample = [...results.intent.errors.slice(0, 2).map((e) => ({ text: e.text, predicted: e.predicted }))];
    const set = await readCheckSet(DEFAULT_FIXTURE_DIR);
    const rightOnes = set.utterances.filter((u) => !results.intent.errors.some((e) => e.text === u.input)).slice(0, 2);
    for (const u of rightOnes) sample.push({ text: u.input as string, predicted: u.label });
    const res = await app.inject({ method: 'POST', url: '/v1/classify', payload: { model: 'support-intent', inputs: sample.map((s) => s.text) } });
    expect(res.statusCode).toBe(200);
    const api = (res.json() as { results: { label: string }[][] }).results;
    sample.forEach((s, i) => {
      expect(api[i]![0]!.label, s.text).toBe(s.predicted);
    });
  });
});

describe('check-set README section', () => {
  it('states the numbers, the counts and example rows with question, gold and predicted', () => {
    const section = renderCheckSetSection(results);
    expect(section.startsWith(CHECK_SET_HEADING)).toBe(true);
    expect(section).toContain(`${results.fixture.questions} questions`);
    expect(section).toContain(`${results.fixture.utterances} chatbot utterances`);
    expect(section).toContain(`${(100 * results.intent.accuracy).toFixed(1)} / ${(100 * results.intent.macro_f1).toFixed(1)}`);
    expect(section).toContain(`${(100 * results.qa.exact_match).toFixed(1)} / ${(100 * results.qa.f1).toFixed(1)}`);
    const examples = section
      .split('| question | gold | predicted |')[1]!
      .split('\n\n')[0]!
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('|---'));
    expect(examples.length).toBeGreaterThanOrEqual(5);
    expect(examples.length).toBeLessThanOrEqual(10);
    expect(examples[0]).toContain(results.qa.items[0]!.question);
  });

  it('is rendered into models/README.md only when given, and spliced in place on a rerun', () => {
    const base = { manifests: [], baselines: {}, record: undefined };
    expect(renderModelsReadme(base)).not.toContain(CHECK_SET_HEADING);
    const readme = renderModelsReadme({ ...base, checkSet: results });
    expect(readme).toContain(CHECK_SET_HEADING);
    const again = spliceCheckSetSection(readme, renderCheckSetSection(results));
    expect(again).toBe(readme);
    const withTail = spliceCheckSetSection(`# T\n\n${CHECK_SET_HEADING}\n\nold\n\n## After\n\nkept\n`, 'NEW\n');
    expect(withTail).toBe('# T\n\nNEW\n\n## After\n\nkept\n');
  });
});

/** Renders models/README.md from the bundled versions' manifests: what they are, how good, how to rebuild. */
import type { Manifest, ModelMetrics } from '../src/inference/registry/types.js';
import type { Baseline } from './baselines.js';
import type { CheckSetResults, QaItem } from './check-set/score.js';

export interface ReadmeInput {
  manifests: Manifest[];
  /** Trivial baselines on the same test split, by model name. */
  baselines: Record<string, Baseline>;
  buildMinutes: number;
  /** The build rebuilt only this model (its time is not the whole build's). */
  only?: string;
  /** The hand-written check set's results for these very models (tools/check-set), if scored. */
  checkSet?: CheckSetResults;
}

const pct = (v: number | undefined): string => (v === undefined ? '-' : (100 * v).toFixed(1));
const mb = (v: number | undefined): string => (v === undefined ? '-' : (v / 1e6).toFixed(1));
const ms = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(2));
const millions = (v: number | undefined): string => (v === undefined ? '-' : (v / 1e6).toFixed(2));

function row(role: string, m: ModelMetrics | undefined, task: string): string {
  if (!m) return `| ${role} | - | - | - | - | - |`;
  const quality = task === 'qa' ? `${pct(m.exact_match)} / ${pct(m.f1)}` : `${pct(m.accuracy)} / ${pct(m.macro_f1)}`;
  return `| ${role} | ${quality} | ${millions(m.parameters)} | ${mb(m.file_bytes)} | ${ms(m.latency_ms_b1_128)} |`;
}

export function renderModelsReadme({ manifests, baselines, buildMinutes, only, checkSet }: ReadmeInput): string {
  const sections = manifests.map((m) => {
    const quality = m.task === 'qa' ? 'EM / F1 (%)' : 'accuracy / macro-F1 (%)';
    const notes = (m.lineage.notes ?? {}) as { datagen?: { seed?: number; hash?: string }; teacher_init?: Record<string, number> };
    return [
      `## ${m.model} (version ${m.version}, ${m.task})`,
      '',
      `Held-out test split; latency is ONNX Runtime on this machine's CPU, batch 1, 128 tokens, one thread.`,
      '',
      `| model | ${quality} | parameters (M) | file (MB) | latency (ms) |`,
      '|---|---|---|---|---|',
      row('teacher (FP32)', m.metrics.teacher, m.task),
      row('student FP32', m.metrics.student_fp32, m.task),
      row('student INT8 (served)', m.metrics.student_int8, m.task),
      ...(baselines[m.model] ? [row(`trivial baseline: ${baselines[m.model]!.name}`, baselines[m.model], m.task)] : []),
      '',
      `Gate: ${m.gate?.reason ?? 'n/a'}`,
      '',
      `Shapes: \`${JSON.stringify(m.shapes)}\``,
      '',
      `Data generator seed ${notes.datagen?.seed ?? '?'}, hash \`${notes.datagen?.hash ?? '?'}\`; teacher initialised at random (${JSON.stringify(notes.teacher_init ?? {})}) and fine-tuned by the trainer. Every hyperparameter is in \`${m.model}/${m.version}/manifest.json\`.`,
      '',
    ].join('\n');
  });
  return [
    '# Bundled models',
    '',
    'The models `npm start` serves with nothing to download. Both were built by our own trainer from data our own',
    'generator writes (tools/datagen): a support-chatbot intent classifier and a help-center QA model. The active',
    'version of each is the INT8 (QAT, QDQ) TinyBERT-shaped student: 4 layers, hidden 312, intermediate 1200.',
    '',
    '## Rebuild',
    '',
    '```sh',
    'npm run models:build            # about the time below on a 2-core CPU; same seed, same metrics within noise',
    'npm run models:build -- --seed 7 --only support-intent',
    '```',
    '',
    only
      ? `Last build (${only} only): ${buildMinutes.toFixed(1)} minutes.`
      : `Last build (both models): ${buildMinutes.toFixed(1)} minutes on this 2-core machine.`,
    '',
    ...sections,
    ...(checkSet ? [renderCheckSetSection(checkSet)] : []),
  ].join('\n');
}

export const CHECK_SET_HEADING = '## Hand-written check set';

/** A markdown table cell: one line, pipes escaped. */
const cell = (text: string): string => text.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
const share = (fraction: number, of: number): string => `${pct(fraction)} (${Math.round(fraction * of)}/${of})`;

/** `count` items spread evenly over `items` (first, ..., near last), so examples come from every passage. */
function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]!);
}

/** The README section for check-set.json: what was scored, the numbers, errors per intent, example rows. */
export function renderCheckSetSection(r: CheckSetResults): string {
  const { fixture: f, qa, intent } = r;
  const far = qa.beyond_first_128_tokens;
  const perIntent = Object.entries(intent.per_intent)
    .sort(([a, x], [b, y]) => x.correct / x.count - y.correct / y.count || a.localeCompare(b))
    .map(([label, { count, correct }]) => `${label} ${correct}/${count}`)
    .join(', ');
  const example = (i: QaItem): string => `| ${cell(i.question)} | ${cell(i.gold ?? '(no answer)')} | ${cell(i.predicted || '(no answer)')} |`;
  return [
    CHECK_SET_HEADING,
    '',
    `Text written by hand for this check, not by the generator the models were trained on (\`test/fixtures/check-set/\`, see its README): ${f.passages} help-center passages in varied styles with ${f.questions} questions (${f.unanswerable} unanswerable, ${far.questions} answered past the first 128 tokens), and ${f.utterances} chatbot utterances over ${f.intents} intents. Scored through the serving code with the API's defaults (top_k 1, max_answer_length 30) by \`npm run models:check\`; every answer is in \`check-set.json\`. Versions: support-qa ${r.models['support-qa'].version}, support-intent ${r.models['support-intent'].version}; scored ${r.scored_at.slice(0, 10)}.`,
    '',
    '| model | measure (%) | all | answer past the first 128 tokens |',
    '|---|---|---|---|',
    `| support-qa | gold answer inside the top answer | ${share(qa.gold_in_top_answer, qa.answerable)} | ${share(far.gold_in_top_answer, far.answerable)} |`,
    `| support-qa | exact match / F1 (SQuAD) | ${pct(qa.exact_match)} / ${pct(qa.f1)} | ${pct(far.exact_match)} / ${pct(far.f1)} |`,
    `| support-intent | accuracy / macro-F1 | ${pct(intent.accuracy)} / ${pct(intent.macro_f1)} | - |`,
    '',
    `Unanswerable questions answered with "no answer": ${qa.unanswerable_correct} of ${f.unanswerable}; "no answer" given ${qa.no_answer_returned} times in all.`,
    '',
    `Intents, right / utterances: ${perIntent}.`,
    '',
    'QA examples (spread over the passages):',
    '',
    '| question | gold | predicted |',
    '|---|---|---|',
    ...spread(qa.items, 8).map(example),
    '',
    'Intent errors (first of each gold intent, at most 6):',
    '',
    '| utterance | gold | predicted |',
    '|---|---|---|',
    ...intent.errors
      .filter((e, i, all) => all.findIndex((o) => o.gold === e.gold) === i)
      .slice(0, 6)
      .map((e) => `| ${cell(e.text)} | ${e.gold} | ${e.predicted} |`),
    '',
  ].join('\n');
}

/** `readme` with its check-set section replaced by `section` (or `section` appended when it has none). */
export function spliceCheckSetSection(readme: string, section: string): string {
  const start = readme.indexOf(`\n${CHECK_SET_HEADING}\n`);
  if (start < 0) return `${readme.replace(/\n*$/, '\n')}\n${section}`;
  const next = readme.indexOf('\n## ', start + 1);
  return `${readme.slice(0, start + 1)}${section}${next < 0 ? '' : readme.slice(next)}`;
}

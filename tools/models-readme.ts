/**
 * Renders models/README.md from the bundled versions' manifests and models/build.json: what the
 * models are and are good for, how good (teacher, students, baselines), what each build stage added,
 * how long each stage took, and where the pre-training text came from.
 */
import type { Manifest, ModelMetrics } from '../src/inference/registry/types.js';
import type { Baseline } from './baselines.js';
import type { CheckSetResults, QaItem } from './check-set/score.js';
import type { BuildRecord } from './build/build-record.js';
import type { StageRecord } from './build/stage-log.js';

export interface ReadmeInput {
  manifests: Manifest[];
  /** Trivial baselines on the same test split, by model name. */
  baselines: Record<string, Baseline>;
  /** models/build.json; absent for models built before it existed. */
  record: BuildRecord | undefined;
  /** The hand-written check set's results for these very models (tools/check-set), if scored. */
  checkSet?: CheckSetResults;
}

const pct = (v: number | undefined): string => (v === undefined ? '-' : (100 * v).toFixed(1));
const mb = (v: number | undefined): string => (v === undefined ? '-' : (v / 1e6).toFixed(1));
const ms = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(2));
const millions = (v: number | undefined): string => (v === undefined ? '-' : (v / 1e6).toFixed(2));
const minutes = (s: number | undefined): string => (s === undefined ? '-' : (s / 60).toFixed(1));

function quality(m: ModelMetrics | undefined, task: string): string {
  if (!m) return '-';
  return task === 'qa' ? `${pct(m.exact_match)} / ${pct(m.f1)}` : `${pct(m.accuracy)} / ${pct(m.macro_f1)}`;
}

function row(role: string, m: ModelMetrics | undefined, task: string): string {
  if (!m) return `| ${role} | - | - | - | - |`;
  return `| ${role} | ${quality(m, task)} | ${millions(m.parameters)} | ${mb(m.file_bytes)} | ${ms(m.latency_ms_b1_128)} |`;
}

/** "step: value" pairs of one evaluation metric, the stage's learning curve in one line. */
function curve(stage: StageRecord | undefined, metric: string, role?: string): string {
  if (!stage) return '-';
  const points = stage.evals.filter((e) => (!role || e.role === role) && e.metrics[metric] !== undefined);
  if (points.length === 0) return '-';
  const fmt = (v: number) => (Math.abs(v) <= 1 ? (100 * v).toFixed(1) : v.toFixed(2));
  return points.map((e) => `${e.step}: ${fmt(e.metrics[metric] as number)}`).join(', ');
}

function learningCurve(m: Manifest, record: BuildRecord | undefined): string[] {
  const task = record?.tasks[m.model];
  if (!task) return [];
  const metric = m.task === 'qa' ? 'f1' : 'accuracy';
  const lines = [
    '### What each stage added',
    '',
    'Same data, seed and task schedule; only the starting weights differ (`npm run models:build -- --ablation`).',
    '',
    `| teacher start | student start | teacher ${metric} (%) | INT8 student ${metric} (%) |`,
    '|---|---|---|---|',
  ];
  const variants: [string, string, Record<string, ModelMetrics> | undefined][] = [
    ['random', 'random', task.ablation['random-teacher']?.metrics],
    ['pre-trained (mlm_pretrain)', 'random', task.ablation['random-student']?.metrics],
    ['pre-trained (mlm_pretrain)', 'general-distilled (served)', m.metrics],
  ];
  for (const [teacher, student, metrics] of variants) {
    const value = (role: string) => pct(metrics?.[role]?.[metric as keyof ModelMetrics]);
    lines.push(`| ${teacher} | ${student} | ${metrics ? value('teacher') : 'not run'} | ${metrics ? value('student_int8') : 'not run'} |`);
  }
  lines.push(
    '',
    `Evaluations during the shipped build (step: ${metric} %):`,
    '',
    `- teacher_finetune: ${curve(task.stages.teacher_finetune, metric)}`,
    `- task_distill: ${curve(task.stages.task_distill, metric, 'student')}`,
    `- qat: ${curve(task.stages.qat, metric, 'student')}`,
  );
  for (const [variant, a] of Object.entries(task.ablation)) {
    lines.push(`- ${variant}: teacher_finetune ${curve(a.stages.teacher_finetune, metric)}; task_distill ${curve(a.stages.task_distill, metric, 'student')}`);
  }
  lines.push('');
  return lines;
}

function modelSection(m: Manifest, baseline: Baseline | undefined, record: BuildRecord | undefined): string[] {
  const header = m.task === 'qa' ? 'EM / F1 (%)' : 'accuracy / macro-F1 (%)';
  return [
    `## ${m.model} (version ${m.version}, ${m.task})`,
    '',
    "Held-out test split (generated passages or phrasings never seen in training); latency is ONNX Runtime on this machine's CPU, batch 1, 128 tokens, one thread.",
    '',
    `| model | ${header} | parameters (M) | file (MB) | latency (ms) |`,
    '|---|---|---|---|---|',
    row('teacher (FP32)', m.metrics.teacher, m.task),
    row('student FP32', m.metrics.student_fp32, m.task),
    row('student INT8, QAT (served)', m.metrics.student_int8, m.task),
    row('student INT8, post-training (baseline)', m.metrics.student_ptq_int8, m.task),
    ...(baseline ? [row(`trivial baseline: ${baseline.name}`, baseline, m.task)] : []),
    '',
    `Gate: ${m.gate?.reason ?? 'n/a'}`,
    '',
    `Shapes: \`${JSON.stringify(m.shapes)}\``,
    '',
    ...learningCurve(m, record),
    `Every hyperparameter is in \`${m.model}/${m.version}/manifest.json\`.`,
    '',
  ];
}

function timeTable(record: BuildRecord): string[] {
  const lines = ['| stage | minutes | |', '|---|---|---|'];
  for (const [stage, s] of Object.entries(record.stages)) {
    if (stage === 'base') continue;
    lines.push(`| ${stage} | ${minutes(s.seconds)} | ${s.cached ? 'cached (time of the build that made it)' : ''} |`);
  }
  const cachedBase = record.stages.base?.cached ? 'cached (time of the build that made it)' : '';
  for (const [stage, seconds] of Object.entries(record.base?.seconds ?? {})) lines.push(`| base: ${stage} | ${minutes(seconds)} | ${cachedBase} |`);
  for (const [name, task] of Object.entries(record.tasks)) {
    for (const [stage, s] of Object.entries(task.stages)) {
      if (stage === 'mlm_pretrain' || stage === 'general_distill') continue;
      lines.push(`| ${name}: ${stage} | ${minutes(s.seconds)} | |`);
    }
    lines.push(`| ${name}: whole job (with export, evaluation and, in the job that built it, the base) | ${minutes(task.seconds)} | |`);
    for (const [variant, a] of Object.entries(task.ablation))
      lines.push(`| ${name}: ablation ${variant} | ${minutes(a.seconds)} | not part of a plain build |`);
  }
  lines.push(`| **total** | **${minutes(record.total_seconds)}** | |`);
  return lines;
}

/** corpus.json as trainer/distillery_trainer/datasets/corpus.py writes it (the fields shown here). */
interface CorpusSourceView {
  name?: string;
  license?: string;
  packages?: { name?: string; version?: string }[];
  passages?: number;
  words?: number;
}
interface CorpusView {
  sources?: CorpusSourceView[];
  total?: { passages?: number; words?: number; bytes?: number };
}

function corpusSection(corpus: unknown): string[] {
  const c = corpus as CorpusView | undefined;
  if (!Array.isArray(c?.sources)) return [];
  const packages = (s: CorpusSourceView) => (s.packages ?? []).map((p) => `${p.name ?? '?'}${p.version ? ` (${p.version})` : ''}`).join(', ') || '-';
  return [
    '## Pre-training corpus',
    '',
    'Built offline by `trainer/distillery_trainer/datasets/corpus.py` from text Debian packages ship, plus the generated support text; its CORPUS.md lists every rule applied.',
    '',
    '| source | packages (versions) | license | passages | words |',
    '|---|---|---|---|---|',
    ...c.sources.map((s) => `| ${s.name ?? '-'} | ${packages(s)} | ${s.license ?? '-'} | ${s.passages ?? '-'} | ${s.words ?? '-'} |`),
    '',
    `Total: ${c.total?.passages ?? '?'} passages, ${c.total?.words ?? '?'} words, ${mb(c.total?.bytes)} MB.`,
    '',
  ];
}

function baseSection(record: BuildRecord): string[] {
  const base = record.base;
  if (!base) return [];
  return [
    '## The shared base',
    '',
    "One teacher pre-trained with masked LM on the corpus (`mlm_pretrain`), then the student general-distilled from it (`general_distill`, TinyBERT's first stage); both tasks start from these.",
    '',
    `Trained on: ${base.device ?? 'cpu'}${base.device && !base.device.startsWith('cpu') ? ' (a GPU-trained base: an option, not the default CPU build)' : ''}.`,
    '',
    `- mlm_pretrain, held-out masked-token accuracy (step: %): ${curve(base.stages.mlm_pretrain, 'masked_accuracy', 'teacher_mlm')}`,
    `- mlm_pretrain, held-out perplexity (step: value): ${curve(base.stages.mlm_pretrain, 'perplexity', 'teacher_mlm')}`,
    `- general_distill, losses at its last step: ${JSON.stringify(base.stages.general_distill?.last_losses ?? {})}`,
    '',
  ];
}

export function renderModelsReadme({ manifests, baselines, record, checkSet }: ReadmeInput): string {
  return [
    '# Bundled models',
    '',
    'The models `npm start` serves with nothing to download, built by our own trainer from text Debian ships and data our',
    'own generator writes (tools/datagen): a support-chatbot intent classifier and a help-center QA model. The active version',
    'of each is the INT8 (QAT, QDQ) TinyBERT-shaped student: 4 layers, hidden 312, intermediate 1200.',
    '',
    '## Rebuild',
    '',
    '```sh',
    'npm run models:build                       # the whole chain; finished stages are cached under DATA_DIR/build-cache',
    'npm run models:build -- --only support-intent   # one task, from the cached corpus, vocabulary and base',
    'npm run models:build -- --ablation         # also the random-start variants for the "what each stage added" tables',
    'npm run models:build -- --base-from DIR    # the tasks from a base pre-trained on a GPU (README: "A base pre-trained on a GPU")',
    'npm run models:check                       # the hand-written check set (below)',
    '```',
    '',
    ...(record
      ? [
          `Last build: ${minutes(record.total_seconds)} minutes${record.only ? ` (${record.only} only)` : ''} on ${record.cpu}, seed ${record.seed}, training precision ${record.precision}.`,
          '',
          ...timeTable(record),
          '',
        ]
      : []),
    ...(record ? baseSection(record) : []),
    ...manifests.flatMap((m) => modelSection(m, baselines[m.model], record)),
    ...(checkSet ? [renderCheckSetSection(checkSet)] : []),
    ...(record ? corpusSection(record.corpus) : []),
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
    ...(qa.best_span
      ? [
          `| support-qa, never "no answer" (\`allow_no_answer: false\`) | gold answer inside the top answer | ${share(qa.best_span.gold_in_top_answer, qa.best_span.answerable)} | ${share(qa.best_span.beyond_first_128_tokens.gold_in_top_answer, qa.best_span.beyond_first_128_tokens.answerable)} |`,
        ]
      : []),
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

/**
 * `npm run models:check`: scores the active bundled models on the hand-written check set
 * (test/fixtures/check-set/) through the serving code, prints the numbers, writes them to
 * `<model-dir>/check-set.json` and renders the "Hand-written check set" section of
 * `<model-dir>/README.md` from them.
 *
 * Options: --model-dir DIR (default MODEL_DIR, else models/), --fixture-dir DIR, --json (print the
 * results as JSON instead of a summary), --dry-run (print only, write nothing), --help. Exit codes: 0
 * done, 1 failed, 2 bad arguments, check set or model folder (CheckSetInputError).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { CheckSetInputError } from './check-set/fixture.js';
import { type CheckSetResults, scoreCheckSet, writeCheckSetResults } from './check-set/score.js';
import { renderCheckSetSection, spliceCheckSetSection } from './models-readme.js';

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

function summary(r: CheckSetResults): string {
  const far = r.qa.beyond_first_128_tokens;
  const lines = [
    `support-qa v${r.models['support-qa'].version}: ${r.qa.questions} questions (${r.qa.answerable} answerable)`,
    `  gold inside top answer ${pct(r.qa.gold_in_top_answer)}, EM ${pct(r.qa.exact_match)}, F1 ${pct(r.qa.f1)}`,
    `  past the first 128 tokens (${far.questions}): gold inside ${pct(far.gold_in_top_answer)}, EM ${pct(far.exact_match)}, F1 ${pct(far.f1)}`,
    `  unanswerable answered "no answer": ${r.qa.unanswerable_correct}/${r.fixture.unanswerable}`,
    ...(r.qa.best_span
      ? [
          `  never "no answer" (allow_no_answer false): gold inside top answer ${pct(r.qa.best_span.gold_in_top_answer)}, EM ${pct(r.qa.best_span.exact_match)}, F1 ${pct(r.qa.best_span.f1)}`,
        ]
      : []),
    `support-intent v${r.models['support-intent'].version}: ${r.intent.utterances} utterances, accuracy ${pct(r.intent.accuracy)}, macro-F1 ${pct(r.intent.macro_f1)}`,
    ...Object.entries(r.intent.per_intent)
      .filter(([, v]) => v.correct < v.count)
      .map(([label, v]) => `  ${label}: ${v.correct}/${v.count}`),
  ];
  return `${lines.join('\n')}\n`;
}

const USAGE = `usage: npm run models:check -- [--model-dir DIR] [--fixture-dir DIR] [--json] [--dry-run]

  --model-dir DIR    the model registry to score (default MODEL_DIR, else models/)
  --fixture-dir DIR  a check set: support-qa.json (SQuAD v2.0) and support-intent.jsonl (default test/fixtures/check-set)
  --json             print the results as JSON instead of a summary
  --dry-run          print only; write neither check-set.json nor the README section
  --help             this text

Exit codes: 0 done, 1 failed, 2 bad arguments, check set or model folder.
`;

const OPTIONS = {
  'model-dir': { type: 'string' },
  'fixture-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function main(): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({ options: OPTIONS }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const modelDir = path.resolve(values['model-dir'] ?? loadConfig().paths.modelDir);
  const results = await scoreCheckSet({ modelDir, ...(values['fixture-dir'] ? { fixtureDir: values['fixture-dir'] } : {}) });
  process.stdout.write(values.json ? `${JSON.stringify(results, null, 2)}\n` : summary(results));
  if (values['dry-run']) return 0;
  const file = await writeCheckSetResults(modelDir, results);
  const readme = path.join(modelDir, 'README.md');
  const text = await fs.readFile(readme, 'utf8').catch(() => undefined);
  if (text !== undefined) await fs.writeFile(readme, spliceCheckSetSection(text, renderCheckSetSection(results)));
  process.stderr.write(`wrote ${file}${text !== undefined ? ` and the check-set section of ${readme}` : ''}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const bad = err instanceof CheckSetInputError;
    process.stderr.write(`models:check ${bad ? 'cannot run' : 'failed'}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(bad ? 2 : 1);
  },
);

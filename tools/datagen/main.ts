/**
 * CLI: npx tsx tools/datagen/main.ts --out DIR [--seed 1234]
 *
 * Also re-exports generateDatasets, so build scripts can import it from here; the CLI only runs
 * when this file is the process entry point.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_SEED, generateDatasets } from './generate.js';

export { DatagenError, generateDatasets, type DatasetSummary, type GenerateOptions } from './generate.js';

const USAGE = 'usage: npx tsx tools/datagen/main.ts --out DIR [--seed N]';

async function main(argv: string[]): Promise<number> {
  let values: { out?: string; seed?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { out: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.out) {
    process.stderr.write(`--out is required\n${USAGE}\n`);
    return 2;
  }
  const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
  if (!/^\d+$/.test(values.seed ?? '0') || !Number.isSafeInteger(seed)) {
    process.stderr.write(`--seed must be a non-negative integer, got "${values.seed}"\n`);
    return 2;
  }
  const summary = await generateDatasets({ outDir: values.out, seed });
  const { intent, qa, corpus_lines } = summary.counts;
  process.stdout.write(
    [
      `datagen ${summary.generatorVersion} seed ${summary.seed} -> ${summary.outDir} (${summary.elapsedMs} ms)`,
      `  support-intent: ${intent.labels} labels, ${intent.train} train / ${intent.test} test (templates ${intent.templates_train} / ${intent.templates_test})`,
      `  support-qa: ${qa.passages_train} / ${qa.passages_test} passages, ${qa.questions_train} / ${qa.questions_test} questions (${qa.impossible_train} / ${qa.impossible_test} unanswerable, ${qa.late_answers_train} / ${qa.late_answers_test} answers past 128 tokens)`,
      `  corpus.txt: ${corpus_lines} lines`,
      `  hash ${summary.hash}`,
      '',
    ].join('\n'),
  );
  return 0;
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`datagen failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

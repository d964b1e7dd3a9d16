/**
 * models:build's command line, checked whole before the build touches anything (it empties
 * WORK_DIR/build-models and regenerates DATA_DIR's datasets as its first steps): an unknown
 * option, a seed that is not a non-negative integer or an --only that names no model is a
 * message with the usage, for exit code 2, never a stack trace after the first minutes' work.
 */
import { parseArgs } from 'node:util';

export const USAGE = `usage: npm run models:build -- [--seed N] [--only NAME] [--quick] [--fresh] [--ablation] [--prepare-only | --readme-only]
                          [--prepare-gpu-base DIR | --base-from DIR]

  --seed N        the data generator's and trainer's seed, a non-negative integer (default 1234)
  --only NAME     rebuild one model: support-intent or support-qa
  --quick         tiny shapes and smoke runs; the models stay in WORK_DIR/build-models/registry, never replacing MODEL_DIR's
  --fresh         ignore the cache of corpus, vocabulary and pre-trained base
  --ablation      also train the task stages from a random teacher and a random student
  --prepare-only  only the generated data, a vocabulary and random teachers for the README's example jobs
  --readme-only   only re-render models/README.md from models/build.json
  --prepare-gpu-base DIR
                  only the corpus, vocabulary and spec a GPU pre-trains the base from
                  (bash scripts/gpu-pretrain-base.sh DIR "$OUT" on the device)
  --base-from DIR the base that script brought back (base.json, base.tar.part*, events.jsonl):
                  the tasks start from it instead of the CPU-trained base
  --help          this text

Exit codes: 0 done, 1 failed, 2 bad arguments.
`;

const OPTIONS = {
  seed: { type: 'string', default: '1234' },
  only: { type: 'string' },
  quick: { type: 'boolean', default: false },
  fresh: { type: 'boolean', default: false },
  ablation: { type: 'boolean', default: false },
  'prepare-only': { type: 'boolean', default: false },
  'readme-only': { type: 'boolean', default: false },
  'prepare-gpu-base': { type: 'string' },
  'base-from': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface BuildArgs {
  seed: number;
  only: string | null;
  quick: boolean;
  fresh: boolean;
  ablation: boolean;
  prepareOnly: boolean;
  readmeOnly: boolean;
  /** Where --prepare-gpu-base writes the device's inputs; null: not asked. */
  prepareGpuBase: string | null;
  /** The GPU base to start the tasks from; null: the CPU-trained (cached) base. */
  baseFrom: string | null;
}

/**
 * The build's options from `argv` (process.argv without node and the script), or a message to
 * print and the exit code: 0 with the usage for --help, 2 with what to fix for bad arguments.
 * `models`: the names --only may take (the task plans').
 */
export function readBuildArgs(argv: string[], models: readonly string[]): { args: BuildArgs } | { message: string; code: number } {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS }));
  } catch (err) {
    return { message: `${(err as Error).message}\n${USAGE}`, code: 2 };
  }
  if (values.help) return { message: USAGE, code: 0 };
  const problems: string[] = [];
  // Digits only: Number() would take "", "1e3", "0x10" and " 7 ", and turn "abc" into NaN.
  const seed = /^\d+$/.test(values.seed) ? Number(values.seed) : Number.NaN;
  if (!Number.isSafeInteger(seed)) problems.push(`--seed must be a non-negative integer (e.g. --seed 7), not ${JSON.stringify(values.seed)}`);
  if (values.only !== undefined && !models.includes(values.only)) {
    problems.push(`--only ${JSON.stringify(values.only)} names no model; give one of ${models.join(', ')}`);
  }
  const modes = (['prepare-only', 'readme-only', 'prepare-gpu-base', 'base-from'] as const).filter((k) => values[k] !== undefined && values[k] !== false);
  if (modes.length > 1) problems.push(`${modes.map((m) => `--${m}`).join(' and ')} exclude each other; give one`);
  for (const k of ['prepare-gpu-base', 'base-from'] as const) {
    if (values[k] !== undefined && values[k].trim() === '') problems.push(`--${k} needs a folder, e.g. --${k} data/gpu-base`);
  }
  if (problems.length > 0) return { message: `${problems.join('\n')}\n${USAGE}`, code: 2 };
  return {
    args: {
      seed,
      only: values.only ?? null,
      quick: values.quick,
      fresh: values.fresh,
      ablation: values.ablation,
      prepareOnly: values['prepare-only'],
      readmeOnly: values['readme-only'],
      prepareGpuBase: values['prepare-gpu-base'] ?? null,
      baseFrom: values['base-from'] ?? null,
    },
  };
}

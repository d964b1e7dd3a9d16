/**
 * `npm run distill -- --spec FILE [--job-id ID]`: runs one distillation job end to end on this
 * machine, without Redis, and writes the result as a new version into MODEL_DIR.
 *
 * Progress goes to stderr, the result (model, version, metrics, gate) as JSON to stdout. Ctrl-C
 * or SIGTERM stops the trainer after a checkpoint; running again with the same --job-id resumes.
 * Exit codes: 0 done, 1 failed, 2 invalid spec or data, 3 stopped (resumable).
 */
import { promises as fs } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../config.js';
import { runDistillJob } from './distill-job.js';
import { parseJobSpec } from './job-spec.js';
import { describeLocation, TrainingError } from './errors.js';
import type { TrainerEvent } from './trainer-events.js';
import { trainerWarning } from './trainer-log.js';
import { type EndedOutcome, finishWorkDir, reopenWorkDir, sweepWorkDirs } from './work-dirs.js';

function formatEvent(event: TrainerEvent): string | null {
  switch (event.type) {
    case 'start':
      return `trainer started on ${event.device} (${event.precision}, torch ${event.torch})${event.resumed_from ? `, resuming ${event.resumed_from.stage} at step ${event.resumed_from.step}` : ''}`;
    case 'stage':
      return `stage ${event.stage}: ${event.status}${event.reason ? ` (${event.reason})` : ''}`;
    case 'progress': {
      const losses = Object.entries(event.losses)
        .map(([k, v]) => `${k}=${v.toFixed(4)}`)
        .join(' ');
      return `${event.stage} epoch ${event.epoch} step ${event.step}/${event.total} ${losses} ${event.steps_per_sec.toFixed(1)} it/s eta ${Math.round(event.eta_s)}s`;
    }
    case 'eval':
      return `eval ${event.stage} ${event.role}: ${Object.entries(event.metrics)
        .map(([k, v]) => `${k}=${v.toFixed(4)}`)
        .join(' ')}`;
    case 'error':
      return `error: ${event.message}${describeLocation(event)}`;
    case 'stopped':
      return `stopped; checkpoint at ${event.checkpoint ?? '?'}`;
    default:
      return null;
  }
}

const USAGE = `usage: npm run distill -- --spec FILE [--job-id ID] [--verbose]

  --spec FILE    the job spec (JSON), e.g. examples/distill-support-intent.json
  --job-id ID    name the run; the same id again resumes a stopped run from its checkpoint
  --verbose      also print the trainer's log lines (warnings always show) and every progress step
  --help         this text

Exit codes: 0 done, 1 failed, 2 invalid spec or data, 3 stopped (resumable).
`;

const OPTIONS = {
  spec: { type: 'string' },
  'job-id': { type: 'string' },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/**
 * The command line, or a message for the user: a usage error names what was wrong and, when
 * npm took the options for itself (`npm run distill --spec F` without the `--`), says so.
 */
function readArgs(argv: string[]): { values: { spec: string; 'job-id'?: string; verbose: boolean } } | { message: string; code: number } {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS }));
  } catch (err) {
    return { message: `${(err as Error).message}\n${npmAteOptions()}${USAGE}`, code: 2 };
  }
  if (values.help) return { message: USAGE, code: 0 };
  if (!values.spec) return { message: `missing --spec FILE\n${npmAteOptions()}${USAGE}`, code: 2 };
  return { values: { ...values, spec: values.spec } };
}

/** npm keeps `--name value` before a `--` as its own config and exports it as npm_config_name. */
function npmAteOptions(): string {
  const eaten = Object.keys(OPTIONS).filter((name) => process.env[`npm_config_${name.replace(/-/g, '_')}`] !== undefined);
  return eaten.length ? `npm took ${eaten.map((n) => `--${n}`).join(', ')} for itself: put -- before the options (npm run distill -- --spec FILE)\n` : '';
}

async function main(): Promise<number> {
  const args = readArgs(process.argv.slice(2));
  if ('message' in args) {
    (args.code === 0 ? process.stdout : process.stderr).write(args.message);
    return args.code;
  }
  const { values } = args;
  const config = loadConfigOrExit(2);
  let spec: unknown;
  try {
    spec = JSON.parse(await fs.readFile(values.spec, 'utf8'));
  } catch (err) {
    process.stderr.write(`cannot read the spec ${values.spec}: ${(err as Error).message}\n`);
    return 2;
  }
  const jobId =
    values['job-id'] ??
    `local-${new Date()
      .toISOString()
      .replace(/[-:.TZ]/g, '')
      .slice(0, 14)}`;
  const controller = new AbortController();
  const stop = (): void => {
    process.stderr.write('stopping: the trainer saves a checkpoint first\n');
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // The work folder: this run's is live again; ended runs past WORK_RETENTION_HOURS go.
  const retentionHours = config.queue.workRetentionHours;
  await reopenWorkDir(config.paths, jobId);
  const swept = await sweepWorkDirs({ paths: config.paths, retentionHours }).catch(() => []);
  if (swept.length) process.stderr.write(`removed ${swept.length} work folder(s) of runs that ended over ${retentionHours} h ago\n`);
  const finish = (outcome: EndedOutcome): Promise<unknown> =>
    finishWorkDir({ paths: config.paths, jobId, outcome, retentionHours }).catch((err: Error) =>
      process.stderr.write(`could not clean up the work folder: ${err.message}\n`),
    );
  let lastProgress = 0;
  try {
    process.stderr.write(`job ${jobId}\n`);
    const result = await runDistillJob({
      spec: parseJobSpec(spec),
      jobId,
      paths: config.paths,
      trainer: config.trainer,
      evaluation: { inference: config.inference },
      signal: controller.signal,
      onEvent: (event) => {
        // One progress line every 2 s is enough for a terminal; everything else always shows.
        if (event.type === 'progress' && !values.verbose && Date.now() - lastProgress < 2000 && event.step !== event.total) return;
        if (event.type === 'progress') lastProgress = Date.now();
        const line = formatEvent(event);
        if (line) process.stderr.write(`${line}\n`);
      },
      onLog: (line) => {
        const warning = trainerWarning(line);
        if (values.verbose) process.stderr.write(`  trainer: ${line}\n`);
        else if (warning !== null) process.stderr.write(`warning: ${warning}\n`);
      },
      onPhase: (phase, detail) => process.stderr.write(`${phase}: ${detail}\n`),
    });
    process.stderr.write(`${result.gate.reason}\npublished ${result.model} version ${result.version}\n`);
    process.stdout.write(
      `${JSON.stringify({ job_id: jobId, model: result.model, version: result.version, gate: result.gate, metrics: result.metrics }, null, 2)}\n`,
    );
    await finish('completed');
    return 0;
  } catch (err) {
    if (err instanceof TrainingError) {
      process.stderr.write(`${err.name}: ${err.message}\n`);
      if (err.code === 'stopped') {
        process.stderr.write(`resume with: npm run distill -- --spec ${values.spec} --job-id ${jobId}\n`);
        return 3;
      }
      await finish('failed');
      return err.retryable ? 1 : 2;
    }
    throw err;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`distill failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

/**
 * Starts the PyTorch trainer as a child process, reads its JSON-lines protocol into typed events,
 * enforces a time limit and stops it on cancel (SIGTERM: the trainer checkpoints and exits 3;
 * SIGKILL after a grace period if it does not).
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TrainerConfig } from '../config.js';
import { TrainerFailedError, TrainerInputError, TrainerStoppedError, TrainerTimeoutError } from './errors.js';
import type { ResolvedSpec } from './resolve-spec.js';
import { type DoneEvent, type ErrorEvent, parseTrainerLine, type TrainerEvent } from './trainer-events.js';

/** Where the Python package lives; PYTHONPATH points here. */
export const TRAINER_PYTHONPATH = fileURLToPath(new URL('../../trainer', import.meta.url));

/** Documented exit codes of the trainer (docs/trainer-protocol.md). */
export const TrainerExit = { ok: 0, internal: 1, invalidInput: 2, stopped: 3 } as const;

export interface TrainerProcessOptions {
  config: TrainerConfig;
  /** Arguments after `python -m distillery_trainer`. */
  args: string[];
  signal?: AbortSignal;
  onEvent?: (event: TrainerEvent) => void;
  /** Each stderr line (the trainer's logs). */
  onLog?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface TrainerProcessResult {
  events: TrainerEvent[];
  /** The done event; present whenever the command was `train` (it is required there). */
  done: DoneEvent | undefined;
}

/**
 * Runs one trainer command to completion and maps its exit to a result or a TrainingError.
 * `requireDone`: exit 0 without a done event counts as a failure (the train command).
 */
export function runTrainerProcess(opts: TrainerProcessOptions & { requireDone?: boolean }): Promise<TrainerProcessResult> {
  const { config, args, signal } = opts;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new TrainerStoppedError(undefined));
      return;
    }
    const child = spawn(config.python, ['-m', 'distillery_trainer', ...args], {
      env: {
        ...process.env,
        ...opts.env,
        PYTHONPATH: [TRAINER_PYTHONPATH, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
        PYTHONUNBUFFERED: '1',
        // The trainer stops with us (parent_guard.py); by our pid it tells whether we died before it asked.
        DISTILLERY_PARENT_PID: String(process.pid),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and the
      // trainer must hear about a stop from us only (SIGTERM below), once, checkpoint and exit 3.
      // If we die without stopping it, the trainer's parent-death signal stops it instead.
      detached: true,
    });
    const events: TrainerEvent[] = [];
    let done: DoneEvent | undefined;
    let error: ErrorEvent | undefined;
    let stoppedCheckpoint: string | undefined;
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stderrTail: string[] = [];

    const stop = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), config.killGraceMs);
      killTimer.unref();
    };
    const timeout = setTimeout(() => {
      timedOut = true;
      stop();
    }, config.timeoutS * 1000);
    timeout.unref();
    signal?.addEventListener('abort', stop, { once: true });

    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = parseTrainerLine(line);
      if (event === null) {
        opts.onLog?.(line);
        return;
      }
      events.push(event);
      if (event.type === 'done') done = event;
      if (event.type === 'error') error = event;
      if (event.type === 'stopped') stoppedCheckpoint = event.checkpoint;
      opts.onEvent?.(event);
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderrTail.push(line);
      if (stderrTail.length > 20) stderrTail.shift();
      opts.onLog?.(line);
    });

    child.on('error', (err) => {
      clearTimeout(timeout);
      reject(new TrainerFailedError(`cannot start the trainer with ${config.python} (TRAINER_PYTHON): ${err.message}`, null, null));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      signal?.removeEventListener('abort', stop);
      if (timedOut) return reject(new TrainerTimeoutError(config.timeoutS));
      if (code === TrainerExit.ok && (done || !opts.requireDone)) return resolve({ events, done });
      if (code === TrainerExit.invalidInput) {
        const where = { file: error?.file, line: error?.line, tensor: error?.tensor };
        return reject(new TrainerInputError(error?.message ?? 'the trainer rejected its input', where));
      }
      if (code === TrainerExit.stopped || (signal?.aborted && sig !== null)) {
        return reject(new TrainerStoppedError(stoppedCheckpoint));
      }
      const detail = error?.message ?? stderrTail.slice(-3).join(' | ') ?? '';
      const how = sig ? `was killed by ${sig}` : code === 0 ? 'exited without a done event' : `exited with code ${code}`;
      reject(new TrainerFailedError(`trainer ${how}${detail ? `: ${detail}` : ''}`, code, sig));
    });
  });
}

export interface TrainRunOptions extends Omit<TrainerProcessOptions, 'args'> {
  spec: ResolvedSpec;
  /** Job work dir: the spec, checkpoints/ and output/ live here; reusing it resumes. */
  workDir: string;
}

/** Runs (or resumes) the `train` command of a resolved spec. */
export async function runTraining(opts: TrainRunOptions): Promise<{ events: TrainerEvent[]; done: DoneEvent }> {
  await fs.mkdir(opts.workDir, { recursive: true });
  const specFile = path.join(opts.workDir, 'spec.json');
  await fs.writeFile(specFile, `${JSON.stringify(opts.spec, null, 2)}\n`);
  const { events, done } = await runTrainerProcess({
    ...opts,
    args: ['train', '--spec', specFile, '--work-dir', opts.workDir],
    requireDone: true,
  });
  return { events, done: done as DoneEvent };
}

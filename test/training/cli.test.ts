/**
 * `npm run distill` as a person uses it in a terminal: --help, the usual mistakes with the
 * arguments, and Ctrl-C, which signals the whole foreground process group (the CLI and the
 * trainer alike): the run must end with a checkpoint, exit 3 and print the resume command.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyTask, type TinyTask } from './tiny-task.js';

const CLI = 'src/training/cli.ts';

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function runCli(args: string[], env: Record<string, string> = {}): Run {
  // detached: a process group of its own, as a shell gives a foreground job.
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const exit = once(child, 'close').then(([code]) => code as number | null);
  return { child, stdout: () => out, stderr: () => err, exit };
}

describe('npm run distill: arguments', () => {
  it('--help prints the usage and exits 0', async () => {
    const run = runCli(['--help']);
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toMatch(/^usage: npm run distill -- --spec FILE/);
    expect(run.stderr()).not.toMatch(/TypeError|\n\s+at /);
  }, 30_000);

  it('a spec given without --spec, as when npm ate the option, says what to write instead', async () => {
    // `npm run distill --spec F` (no --): npm keeps --spec and passes F on as an argument.
    const run = runCli(['examples/distill-support-intent.json'], { npm_config_spec: 'true' });
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toMatch(/Unexpected argument 'examples\/distill-support-intent\.json'/);
    expect(run.stderr()).toMatch(/npm took --spec for itself: put -- before the options/);
    expect(run.stderr()).not.toMatch(/TypeError|\n\s+at /);
  }, 30_000);

  it('an unknown option is named, with the usage', async () => {
    const run = runCli(['--spce', 'x.json']);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toMatch(/Unknown option '--spce'[\s\S]*usage:/);
  }, 30_000);
});

describe('npm run distill: Ctrl-C', () => {
  let root: string;
  let tiny: TinyTask;
  let env: Record<string, string>;
  let specFile: string;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'distillery-cli-'));
    tiny = await makeTinyTask(root, 'classification', 13);
    env = { DATA_DIR: tiny.dataDir, MODEL_DIR: path.join(root, 'models'), WORK_DIR: path.join(root, 'work') };
    specFile = path.join(root, 'spec.json');
    await fs.writeFile(
      specFile,
      JSON.stringify({
        type: 'distill',
        model: 'cli-intent',
        task: 'classification',
        teacher: { path: tiny.teacherRel },
        data: { train: tiny.trainRel, eval: tiny.evalRel },
        max_length: 32,
        student: { layers: 1, hidden: 32, heads: 2, intermediate: 64 },
        stages: {
          teacher_finetune: { epochs: 1, batch_size: 16, lr: 1e-3 },
          task_distill: { epochs: 2, batch_size: 16, lr: 1e-3 },
          qat: { epochs: 0.2, batch_size: 16, lr: 1e-4, recalibrate_every: 10 },
        },
        // No periodic checkpoint in the window: only the stop's own checkpoint can resume it.
        checkpoint_every: 100_000,
        max_steps_per_stage: 40,
        device: 'cpu',
        seed: 3,
        gate: { max_drop: 1, activate: true },
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('SIGINT to the process group checkpoints, exits 3 with the resume command, and the resume completes', async () => {
    const run = runCli(['--spec', specFile, '--job-id', 'ctrl-c', '--verbose'], env);
    const deadline = Date.now() + 120_000;
    while (!/task_distill epoch \d+ step [2-9]\//.test(run.stderr()) && Date.now() < deadline && run.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(run.stderr()).toMatch(/task_distill epoch \d+ step/);
    process.kill(-(run.child.pid as number), 'SIGINT'); // what the terminal does on Ctrl-C
    expect(await run.exit).toBe(3);
    expect(run.stderr()).toMatch(/stopped; checkpoint at \S+/);
    expect(run.stderr()).toContain(`resume with: npm run distill -- --spec ${specFile} --job-id ctrl-c`);

    const resumed = runCli(['--spec', specFile, '--job-id', 'ctrl-c'], env);
    expect(await resumed.exit).toBe(0);
    expect(resumed.stderr()).toMatch(/resuming task_distill at step [1-9]/);
    expect(JSON.parse(resumed.stdout())).toMatchObject({ job_id: 'ctrl-c', model: 'cli-intent', version: 1 });
  }, 300_000);
});

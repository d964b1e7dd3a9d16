/**
 * models:build checks its whole command line before it empties WORK_DIR/build-models or
 * regenerates DATA_DIR's datasets: bad arguments exit 2 with what to fix and the usage.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBuildArgs } from '../../tools/build/args.js';

const MODELS = ['support-qa', 'support-intent'];
const messageOf = (argv: string[]) => {
  const parsed = readBuildArgs(argv, MODELS);
  return 'message' in parsed ? parsed : undefined;
};

describe('models:build arguments', () => {
  it('defaults and a valid command line', () => {
    expect(readBuildArgs([], MODELS)).toEqual({
      args: {
        seed: 1234,
        only: null,
        quick: false,
        fresh: false,
        ablation: false,
        prepareOnly: false,
        readmeOnly: false,
        prepareGpuBase: null,
        baseFrom: null,
      },
    });
    expect(readBuildArgs(['--seed', '0', '--only', 'support-qa', '--quick'], MODELS)).toMatchObject({ args: { seed: 0, only: 'support-qa', quick: true } });
  });

  it('takes a GPU base folder to prepare or to start from, one mode at a time', () => {
    expect(readBuildArgs(['--prepare-gpu-base', 'data/gpu-base'], MODELS)).toMatchObject({ args: { prepareGpuBase: 'data/gpu-base', baseFrom: null } });
    expect(readBuildArgs(['--base-from', '/tmp/out', '--only', 'support-qa'], MODELS)).toMatchObject({ args: { baseFrom: '/tmp/out', only: 'support-qa' } });
    expect(messageOf(['--base-from', 'x', '--prepare-gpu-base', 'y'])?.message).toMatch(/^--prepare-gpu-base and --base-from exclude each other; give one/);
    expect(messageOf(['--readme-only', '--base-from', 'x'])?.message).toMatch(/^--readme-only and --base-from exclude each other/);
    expect(messageOf(['--base-from=  '])?.message).toMatch(/^--base-from needs a folder, e\.g\. --base-from data\/gpu-base/);
    expect(messageOf(['--prepare-gpu-base'])).toMatchObject({
      code: 2,
      message: expect.stringContaining("Option '--prepare-gpu-base <value>' argument missing"),
    });
  });

  it.each(['abc', '-1', '1.5', '', '1e3', '0x10', '99999999999999999999'])('refuses --seed %j', (seed) => {
    expect(messageOf([`--seed=${seed}`])).toEqual({
      code: 2,
      message: expect.stringMatching(/^--seed must be a non-negative integer \(e\.g\. --seed 7\), not /),
    });
  });

  it('refuses an --only that names no model, unknown options, a missing value and --prepare-only with --readme-only, every problem at once', () => {
    const only = messageOf(['--only', 'nosuchmodel', '--seed', 'x']);
    expect(only?.code).toBe(2);
    expect(only?.message).toMatch(
      /--seed must be a non-negative integer[^\n]*\n--only "nosuchmodel" names no model; give one of support-qa, support-intent\nusage:/,
    );
    expect(messageOf(['--bogus'])).toEqual({ code: 2, message: expect.stringMatching(/^Unknown option '--bogus'\nusage: npm run models:build/) });
    expect(messageOf(['--seed'])?.code).toBe(2);
    expect(messageOf(['--prepare-only', '--readme-only'])?.message).toMatch(/exclude each other/);
    expect(messageOf(['--help'])).toEqual({ code: 0, message: expect.stringMatching(/^usage: npm run models:build/) });
  });

  it('exits 2 before touching the work folder or the data folder', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'build-args-'));
    try {
      const kept = path.join(root, 'work', 'build-models', 'kept.txt');
      await fs.mkdir(path.dirname(kept), { recursive: true });
      await fs.writeFile(kept, 'a previous build');
      const env = { ...process.env, DATA_DIR: path.join(root, 'data'), MODEL_DIR: path.join(root, 'models'), WORK_DIR: path.join(root, 'work') };
      for (const argv of [['--only', 'nosuchmodel'], ['--seed', 'abc'], ['--bogus']]) {
        const run = spawnSync(process.execPath, ['--import', 'tsx', 'tools/build-models.ts', ...argv], { encoding: 'utf8', env });
        expect(run.status, argv.join(' ')).toBe(2);
        expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
      }
      expect(await fs.readFile(kept, 'utf8')).toBe('a previous build');
      await expect(fs.stat(path.join(root, 'data'))).rejects.toThrow(/ENOENT/);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  it('refuses --only into a registry that lacks the other models, before any training (the check set scores them all)', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'build-only-'));
    try {
      const env = { ...process.env, DATA_DIR: path.join(root, 'data'), MODEL_DIR: path.join(root, 'models'), WORK_DIR: path.join(root, 'work') };
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'tools/build-models.ts', '--only', 'support-intent'], { encoding: 'utf8', env });
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(/holds no active version of support-qa: point MODEL_DIR at a registry that has them/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      await expect(fs.stat(path.join(root, 'data'))).rejects.toThrow(/ENOENT/);
      await expect(fs.stat(path.join(root, 'work'))).rejects.toThrow(/ENOENT/);
      // A state.json that is not JSON: the same answer, naming the file, not a stack trace.
      await fs.mkdir(path.join(root, 'models', 'support-qa'), { recursive: true });
      await fs.writeFile(path.join(root, 'models', 'support-qa', 'state.json'), '{oops');
      const damaged = spawnSync(process.execPath, ['--import', 'tsx', 'tools/build-models.ts', '--only', 'support-intent'], {
        encoding: 'utf8',
        env,
      });
      expect(damaged.status).toBe(2);
      expect(damaged.stderr).toMatch(/no active version of support-qa \(\S+support-qa\/state\.json: [^)]*JSON/);
      expect(damaged.stderr).not.toMatch(/\n\s+at /);
      // null, and a version that is not there: what the check set would fail on at the end.
      for (const [state, said] of [
        ['null', /no active version of support-qa: point/],
        ['{"active":7}', /no active version of support-qa \(active version 7: model "support-qa" has no version 7\)/],
      ] as const) {
        await fs.writeFile(path.join(root, 'models', 'support-qa', 'state.json'), state);
        const run = spawnSync(process.execPath, ['--import', 'tsx', 'tools/build-models.ts', '--only', 'support-intent'], { encoding: 'utf8', env });
        expect(run.status, state).toBe(2);
        expect(run.stderr, state).toMatch(said);
      }
      await expect(fs.stat(path.join(root, 'work'))).rejects.toThrow(/ENOENT/);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// A bench in miniature: starts a child that would run for a minute, says both pids, waits.
const BENCH = `
import { spawn } from 'node:child_process';
import { stopWithBench } from './bench/serving/child.ts';
const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
stopWithBench(child);
console.log(JSON.stringify({ bench: process.pid, child: child.pid }));
setTimeout(() => {}, 60000);
`;

/** Running: a zombie has exited, whoever adopted it has yet to reap it. */
const alive = (pid: number): boolean => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

describe.runIf(process.platform === 'linux')('stopWithBench', () => {
  it('a bench stopped by SIGTERM stops the children it started, and exits 143', async () => {
    const bench = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', BENCH], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
    const line = await new Promise<string>((resolve) => createInterface({ input: bench.stdout! }).once('line', resolve));
    const pids = JSON.parse(line) as { bench: number; child: number };
    expect(alive(pids.child)).toBe(true);
    bench.kill('SIGTERM');
    expect(await exited).toBe(143);
    const until = Date.now() + 10_000;
    while (alive(pids.child) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pids.child)).toBe(false);
  }, 30_000);
});

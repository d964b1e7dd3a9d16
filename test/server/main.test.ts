/** The process entry (npm start): bad settings, start-up order, graceful shutdown on signals. */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyRegistry } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

function startMain(env: Record<string, string>): { child: ChildProcess; lines: Array<Record<string, unknown>>; stderr: () => string } {
  // As the Dockerfile runs it: in-process, so signals reach main.ts directly. (The tsx CLI relays
  // signals and SIGKILLs a child that does not acknowledge within 30 ms, which a busy machine
  // can miss.)
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
  const lines: Array<Record<string, unknown>> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ msg: line });
    }
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return { child, lines, stderr: () => err };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

type Line = Record<string, unknown>;

async function waitForLine(lines: Line[], msg: string, match: (l: Line) => boolean = () => true, timeoutMs = 30_000): Promise<Line> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = lines.find((l) => l.msg === msg && match(l));
    if (hit) return hit;
    if (Date.now() > until) throw new Error(`no log line "${msg}"; got ${JSON.stringify(lines.slice(-5))}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the server process (src/server/main.ts)', () => {
  it('exits 1 naming the variable when a setting is bad', async () => {
    const { child, stderr } = startMain({ PORT: 'eighty' });
    expect(await exited(child)).toBe(1);
    expect(stderr()).toContain('PORT');
  });

  it('loads models before listening, then drains in-flight work on SIGTERM and exits 0', async () => {
    const modelDir = tinyRegistry();
    cleanups.push(() => rmSync(modelDir, { recursive: true, force: true }));
    const { child, lines } = startMain({
      MODEL_DIR: modelDir,
      HOST: '127.0.0.1',
      PORT: '0',
      REGISTRY_WATCH: 'false',
      REGISTRY_POLL_MS: '0',
      MAX_BATCH_DELAY_MS: '400',
      LOG_LEVEL: 'info',
    });
    const listening = await waitForLine(lines, 'accepting requests');
    const loadedAt = lines.findIndex((l) => l.msg === 'loading and warming models');
    expect(loadedAt).toBeGreaterThanOrEqual(0);
    expect(loadedAt).toBeLessThan(lines.indexOf(listening));
    const base = String(listening.address);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    await ready.arrayBuffer();

    // A request that waits in the batch queue while the signal arrives must still be answered.
    const inFlight = fetch(`${base}/v1/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny-intent', inputs: ['where is my order'] }),
    });
    // Signal only once the server has the request (2 busy cores can delay it).
    await waitForLine(lines, 'incoming request', (l) => (l.req as { url?: string } | undefined)?.url === '/v1/classify');
    child.kill('SIGTERM');
    // A repeated signal must not break the shutdown in progress. (Sent once the first was
    // handled: the kernel merges a signal that is still pending.)
    await waitForLine(lines, 'shutting down: no new requests, finishing in-flight ones');
    child.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect((await res.json()).model).toBe('tiny-intent');
    expect(await exited(child)).toBe(0);
    expect(lines.some((l) => l.msg === 'stopped')).toBe(true);
    expect(lines.some((l) => l.msg === 'already shutting down')).toBe(true);
    // Every log line is JSON; request lines carry the request id.
    expect(lines.some((l) => typeof l.reqId === 'string')).toBe(true);
  });
});

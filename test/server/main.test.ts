/**
 * The process entry as production runs it (npm start, the Dockerfile): the compiled JavaScript in
 * dist/, built by the same script `npm start` runs first. Bad settings, start-up order, graceful
 * shutdown on signals, and the files the compiled code loads from beside itself.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyRegistry } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN_JS = 'dist/src/server/main.js';
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

beforeAll(() => {
  // What `npm start` runs before the entry (incremental: quick when dist/ is current).
  execFileSync(process.execPath, ['scripts/build-dist.mjs'], { cwd: ROOT, stdio: 'pipe' });
}, 180_000);

interface Started {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  /** The exit code, once the process has exited AND its output has been read to the end. */
  exited: Promise<number | null>;
}

/**
 * By default as the Dockerfile runs it: node itself, no npm or transpiler in between, so signals
 * reach main.js directly; `command` runs it another way (`npm start`).
 */
function startMain(env: Record<string, string>, command: [string, ...string[]] = [process.execPath, MAIN_JS]): Started {
  const [file, ...args] = command;
  const child = spawn(file, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
  // 'close', not 'exit': 'exit' can come before the last lines of stdout are read, and the
  // shutdown test looks for the final log lines (seen flaking on a loaded machine).
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
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
  return { child, lines, stderr: () => err, exited };
}

type Line = Record<string, unknown>;

/** Every process below `pid` (Linux /proc), children first found first. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat, after the parenthesised command name.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const next = queue.shift()!;
    for (const [child, parent] of parents) {
      if (parent === next) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForLine(lines: Line[], msg: string, match: (l: Line) => boolean = () => true, timeoutMs = 30_000): Promise<Line> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = lines.find((l) => l.msg === msg && match(l));
    if (hit) return hit;
    if (Date.now() > until) throw new Error(`no log line "${msg}"; got ${JSON.stringify(lines.slice(-5))}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the compiled build (dist/)', () => {
  it('is what npm start and the images run, with no transpiler at run time', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // exec: npm runs a script under `sh -c`, and Debian's dash forks the command instead of
    // replacing itself, so npm's forwarded SIGTERM would stop the shell and orphan node.
    expect(pkg.scripts.start).toBe(`MALLOC_ARENA_MAX=\${MALLOC_ARENA_MAX:-2} exec node --max-semi-space-size=4 --heap-growing-percent=25 ${MAIN_JS}`);
    expect(pkg.scripts.prestart).toBe('exec node scripts/build-dist.mjs');
    expect(pkg.scripts.worker).toBe('exec node dist/src/queue/worker-main.js');
    expect(pkg.scripts.distill).toBe('exec node dist/src/training/cli.js');
  });

  it('holds the non-TypeScript files the compiled code loads: the session worker and the Python trainer', async () => {
    expect(existsSync(path.join(ROOT, 'dist/src/inference/session-worker.mjs'))).toBe(true);
    const runner = (await import(pathToFileURL(path.join(ROOT, 'dist/src/training/trainer-runner.js')).href)) as { TRAINER_PYTHONPATH: string };
    expect(runner.TRAINER_PYTHONPATH).toBe(path.join(ROOT, 'dist/trainer'));
    expect(existsSync(path.join(runner.TRAINER_PYTHONPATH, 'distillery_trainer', '__main__.py'))).toBe(true);
    // The trainer's own tests stay out of the build.
    expect(existsSync(path.join(runner.TRAINER_PYTHONPATH, 'tests'))).toBe(false);
  });
});

describe(`the server process (${MAIN_JS})`, () => {
  it('exits 1 naming the variable when a setting is bad', async () => {
    const { exited, stderr } = startMain({ PORT: 'eighty' });
    expect(await exited).toBe(1);
    expect(stderr()).toContain('PORT');
  });

  it('loads ioredis only with jobs on, and BullMQ and Bull Board only once a job route or the dashboard is used', async () => {
    // A module resolve hook (node:module register) writes every URL the process resolves.
    const dir = mkdtempSync(path.join(tmpdir(), 'resolved-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      path.join(dir, 'hooks.mjs'),
      "import { appendFileSync } from 'node:fs';\n" +
        'export async function resolve(specifier, context, next) {\n' +
        '  const resolved = await next(specifier, context);\n' +
        "  appendFileSync(process.env.RESOLVE_LOG, resolved.url + '\\n');\n" +
        '  return resolved;\n' +
        '}\n',
    );
    writeFileSync(path.join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
    const modelDir = tinyRegistry();
    cleanups.push(() => rmSync(modelDir, { recursive: true, force: true }));
    const adminKey = 'admin-key-for-the-resolve-test-0123';
    const start = async (jobs: boolean) => {
      const log = path.join(dir, `resolved-${jobs}.txt`);
      const { child, lines, exited } = startMain(
        {
          MODEL_DIR: modelDir,
          HOST: '127.0.0.1',
          PORT: '0',
          REGISTRY_WATCH: 'false',
          REGISTRY_POLL_MS: '0',
          JOBS_ENABLED: String(jobs),
          REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
          QUEUE_PREFIX: `dtest-resolve-${process.pid}`,
          ADMIN_API_KEYS: adminKey,
          RESOLVE_LOG: log,
        },
        [process.execPath, '--import', pathToFileURL(path.join(dir, 'register.mjs')).href, MAIN_JS],
      );
      const { address } = (await waitForLine(lines, 'accepting requests')) as Line & { address: string };
      const loaded = (): string[] => {
        const urls = readFileSync(log, 'utf8').split('\n');
        return ['bullmq', 'ioredis', '@bull-board/api', '@bull-board/fastify'].filter((lib) => urls.some((u) => u.includes(`/node_modules/${lib}/`)));
      };
      const get = async (url: string): Promise<number> => (await fetch(`${address}${url}`, { headers: { authorization: `Bearer ${adminKey}` } })).status;
      const stop = async (): Promise<void> => {
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
      };
      return { loaded, get, stop };
    };
    const inferenceOnly = await start(false);
    expect(inferenceOnly.loaded()).toEqual([]);
    await inferenceOnly.stop();
    // The same check sees each library once it is used, so the empty lists are not blind spots.
    const withJobs = await start(true);
    expect(withJobs.loaded()).toEqual(['ioredis']);
    expect(await withJobs.get('/v1/jobs')).toBe(200);
    expect(withJobs.loaded()).toEqual(['bullmq', 'ioredis']);
    expect(await withJobs.get('/admin/queues')).toBe(200);
    expect(withJobs.loaded()).toEqual(['bullmq', 'ioredis', '@bull-board/api', '@bull-board/fastify']);
    await withJobs.stop();
  }, 120_000);

  it('loads models before listening, then drains in-flight work on SIGTERM and exits 0', async () => {
    const modelDir = tinyRegistry();
    cleanups.push(() => rmSync(modelDir, { recursive: true, force: true }));
    const { child, lines, exited } = startMain({
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

    // A request still arriving when the signal comes must still be answered. Its body is held
    // back until both signals were handled, so the shutdown is certainly in progress for the
    // second one (a request that finished at once let the process exit before it, on an idle
    // machine).
    const body = JSON.stringify({ model: 'tiny-intent', inputs: ['where is my order'] });
    const { hostname, port } = new URL(base);
    const socket = connect({ host: hostname, port: Number(port) });
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    const answered = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    socket.write(
      `POST /v1/classify HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body.slice(0, 10)}`,
    );
    await waitForLine(lines, 'incoming request', (l) => (l.req as { url?: string } | undefined)?.url === '/v1/classify');
    child.kill('SIGTERM');
    await waitForLine(lines, 'shutting down: no new requests, finishing in-flight ones');
    // A repeated signal must not break the shutdown in progress. (Sent once the first was
    // handled: the kernel merges a signal that is still pending.)
    child.kill('SIGTERM');
    await waitForLine(lines, 'already shutting down');
    socket.write(body.slice(10));
    await answered;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).model).toBe('tiny-intent');
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.msg === 'stopped')).toBe(true);
    // Every log line is JSON; request lines carry the request id.
    expect(lines.some((l) => typeof l.reqId === 'string')).toBe(true);
  });

  it('stops when `npm start` gets SIGTERM (npm forwards it; no orphaned server keeps the port)', async () => {
    const modelDir = tinyRegistry();
    cleanups.push(() => rmSync(modelDir, { recursive: true, force: true }));
    const {
      child: npm,
      lines,
      exited,
    } = startMain(
      {
        MODEL_DIR: modelDir,
        HOST: '127.0.0.1',
        PORT: '0',
        JOBS_ENABLED: 'false',
        REGISTRY_WATCH: 'false',
        REGISTRY_POLL_MS: '0',
        LOG_LEVEL: 'info',
      },
      ['npm', 'start'],
    );
    await waitForLine(lines, 'accepting requests', () => true, 120_000);
    const spawned = descendants(npm.pid!);
    expect(spawned.length).toBeGreaterThan(0);
    cleanups.push(() => {
      for (const pid of spawned) if (alive(pid)) process.kill(pid, 'SIGKILL');
    });
    npm.kill('SIGTERM');
    await exited;
    const until = Date.now() + 15_000;
    while (spawned.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(spawned.filter(alive)).toEqual([]);
    // It stopped by its own graceful shutdown, not by losing its parent.
    expect(lines.some((l) => l.msg === 'stopped')).toBe(true);
  }, 180_000);
});

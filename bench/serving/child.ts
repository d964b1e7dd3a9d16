/**
 * The small protocol between the benchmark's driver and its child processes (servers, load
 * generator, in-process limit): the spec travels as JSON in argv[2]; a child answers with one
 * stdout line `BENCH_READY {...}` (servers, once listening) or `BENCH_RESULT {...}` (the others).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

const READY = 'BENCH_READY ';
const RESULT = 'BENCH_RESULT ';

export const BENCH_DIR = import.meta.dirname;

/** The spec a child was started with. */
export function childSpec<T>(): T {
  const raw = process.argv[2];
  if (!raw) throw new Error(`${path.basename(process.argv[1] ?? 'child')}: expected the spec as JSON in argv[2]`);
  return JSON.parse(raw) as T;
}

export function announceReady(info: object): void {
  process.stdout.write(`${READY}${JSON.stringify(info)}\n`);
}

export function announceResult(result: object): void {
  process.stdout.write(`${RESULT}${JSON.stringify(result)}\n`);
}

export interface Child<T> {
  readonly process: ChildProcess;
  /** The payload of the first BENCH_READY or BENCH_RESULT line; rejects if the child exits first. */
  readonly message: Promise<T>;
  /** Resolves with the exit code once the child is gone. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. Safe twice. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartChildOptions {
  /**
   * Script path relative to bench/serving, run through tsx; or an absolute path to a JavaScript
   * file from plainJavaScript(), run by node alone.
   */
  script: string;
  spec: object;
  /** Extra environment (settings of the server under test). */
  env?: Record<string, string>;
  /** Node and V8 flags before the script (e.g. --optimize-for-size): what `npm start` would add. */
  nodeArgs?: readonly string[];
  /** Give up waiting for the message after this long. */
  timeoutMs: number;
}

/**
 * BENCH_CPU_PROF_DIR=DIR writes a V8 CPU profile of every child into DIR (open it in Chrome
 * DevTools); NODE_OPTIONS cannot carry --cpu-prof, so the flag goes on the command line here.
 */
function profileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/**
 * A child script bundled into plain JavaScript (esbuild; packages stay imports from node_modules),
 * for children whose resident memory is measured: tsx's loader and its esbuild service add about
 * 30 MiB to every process (a session of the intent model: 93 MiB plain, 123-128 through tsx),
 * which production, running compiled JavaScript, does not carry. Returns the file's absolute path.
 */
export async function plainJavaScript(script: string): Promise<string> {
  const { build } = await import('esbuild');
  const source = path.resolve(BENCH_DIR, script);
  // Under node_modules, so that the bundle's package imports resolve as the sources' do.
  const outfile = path.resolve(BENCH_DIR, '../../node_modules/.cache/distillery-bench', `${path.basename(source, '.ts')}.mjs`);
  await build({ entryPoints: [source], outfile, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
  return outfile;
}

const liveChildren = new Set<ChildProcess>();
let stopHandlersInstalled = false;

/**
 * Stops `child` with us: a bench stopped by SIGTERM, SIGINT or SIGHUP (npm forwards SIGTERM to
 * it) would otherwise leave the servers it started running, holding their ports and models.
 * Each child leaves the set when it exits.
 */
export function stopWithBench(child: ChildProcess): void {
  if (!stopHandlersInstalled) {
    stopHandlersInstalled = true;
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.once(signal, () => {
        for (const c of liveChildren) c.kill('SIGTERM');
        process.exit(128 + os.constants.signals[signal]);
      });
    }
  }
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

/**
 * Start `node --import tsx <script> <spec>` (or `node <script> <spec>` for an absolute .mjs from
 * plainJavaScript); its stderr goes to ours so failures are visible.
 */
export function startChild<T>(opts: StartChildOptions): Child<T> {
  const plain = path.isAbsolute(opts.script) && opts.script.endsWith('.mjs');
  const args = [
    ...profileArgs(),
    ...(opts.nodeArgs ?? []),
    ...(plain ? [opts.script] : ['--import', 'tsx', path.join(BENCH_DIR, opts.script)]),
    JSON.stringify(opts.spec),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  stopWithBench(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const message = new Promise<T>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`${opts.script}: no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        for (const tag of [READY, RESULT]) {
          if (line.startsWith(tag)) {
            clearTimeout(timer);
            resolve(JSON.parse(line.slice(tag.length)) as T);
          }
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${opts.script} exited (code ${code}) before answering`));
    });
  });
  message.catch(() => {});
  let stopping: Promise<void> | undefined;
  return {
    process: child,
    message,
    exited,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Run a child that answers once and exits; returns its answer. */
export async function runChild<T>(opts: StartChildOptions): Promise<T> {
  const child = startChild<T>(opts);
  try {
    const result = await child.message;
    await child.exited;
    return result;
  } finally {
    await child.stop();
  }
}

/**
 * A contender server's start: listen on a free port of 127.0.0.1, stop on SIGTERM/SIGINT (the
 * app, then `release` for what it serves with), and announce the port (plus `info`).
 */
export async function serveContender(app: FastifyInstance, opts: { release?: () => Promise<void> | void; info?: object } = {}): Promise<void> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  closeOnSignal(async () => {
    await app.close();
    await opts.release?.();
  });
  announceReady({ ...opts.info, port: address.port });
}

/** Stop on SIGTERM/SIGINT by running `close`, then exit 0 (servers). */
export function closeOnSignal(close: () => Promise<void>): void {
  let closing = false;
  const onSignal = () => {
    if (closing) return;
    closing = true;
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

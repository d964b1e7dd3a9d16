#!/usr/bin/env node
/**
 * Builds the production JavaScript: `tsc -p tsconfig.build.json` (incremental, so a run over
 * unchanged sources only compares hashes and writes nothing) into dist/ (or --out-dir DIR), then
 * copies the files tsc does not emit that the compiled code loads from beside itself: the session
 * worker (plain ESM, loaded by URL) and the Python trainer package (put on PYTHONPATH).
 * `npm start`, `npm run worker` and `npm run distill` run it first, so they never run stale code;
 * it exits non-zero (and nothing starts) when the sources do not type-check.
 *
 * Plain JavaScript on purpose: it must run before anything is compiled, without tsx.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { 'out-dir': { type: 'string', default: 'dist' } } });
const outDir = path.resolve(ROOT, values['out-dir']);

/** Source paths (relative to the repository root) copied as they are, to the same place under outDir. */
const ASSETS = ['src/inference/session-worker.mjs', 'trainer/distillery_trainer'];

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const buildInfo = path.join(outDir, '.tsbuildinfo');
// tsc trusts its build info: if compiled files were deleted but it survived, nothing would be
// emitted again. An entry missing means the output is not whole: build from scratch.
if (!['src/server/main.js', 'src/queue/worker-main.js', 'src/training/cli.js'].every((f) => existsSync(path.join(outDir, f)))) rmSync(buildInfo, { force: true });
const args = [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', outDir, '--tsBuildInfoFile', buildInfo];
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (result.status !== 0) {
  console.error(`build-dist: tsc failed (exit ${result.status ?? result.signal}); nothing was started`);
  process.exit(1);
}
for (const rel of ASSETS) {
  const to = path.join(outDir, rel);
  mkdirSync(path.dirname(to), { recursive: true });
  cpSync(path.join(ROOT, rel), to, {
    recursive: true,
    filter: (src) => !/(^|[/\\])(__pycache__|tests)([/\\]|$)|\.pyc$/.test(path.relative(ROOT, src)),
  });
}

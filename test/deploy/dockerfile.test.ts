/**
 * Dockerfile and .dockerignore, read (no Docker engine is needed): the api and worker targets,
 * built with the same commands as CI (npm ci with .npmrc and no dependency install scripts, then
 * npm run build), run as non-root,
 * with health checks, and a build context that keeps secrets and local state out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerfileStages, type Stage } from './dockerfile.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const stages = dockerfileStages(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const stage = (name: string): Stage => {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};
const runs = (s: Stage) => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const last = (s: Stage, keyword: string) => s.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;

describe('Dockerfile', () => {
  it('has the api and worker targets', () => {
    expect(stages.map((s) => s.name)).toEqual(expect.arrayContaining(['build', 'prod-deps', 'api', 'worker']));
  });

  it('builds with the commands CI runs: npm ci (with .npmrc), then npm run build', () => {
    const ci = readFileSync(path.join(ROOT, '.ci/run'), 'utf8');
    expect(ci).toMatch(/^npm ci$/m);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; dependencies: Record<string, string> };
    expect(pkg.scripts.build).toMatch(/^exec tsc /);
    // Dependency install scripts never run (onnxruntime-node's CUDA download among them): npm 11
    // skips them by allowScripts, the images' npm 10 by --ignore-scripts.
    expect((pkg as unknown as { allowScripts: Record<string, boolean> }).allowScripts['onnxruntime-node']).toBe(false);
    expect(readFileSync(path.join(ROOT, '.npmrc'), 'utf8')).not.toMatch(/onnxruntime/);
    for (const s of [stage('build'), stage('prod-deps'), stage('worker')]) {
      for (const r of runs(s).filter((x) => /^npm ci\b/.test(x))) expect(r, s.name).toMatch(/--ignore-scripts\b/);
    }

    const build = stage('build');
    const copyNpmrc = build.instructions.findIndex((i) => i.keyword === 'COPY' && i.args.includes('.npmrc'));
    const npmCi = build.instructions.findIndex((i) => i.keyword === 'RUN' && /^npm ci\b/.test(i.args));
    const typeCheck = build.instructions.findIndex((i) => i.keyword === 'RUN' && /^npm run build\b/.test(i.args));
    expect(copyNpmrc).toBeGreaterThanOrEqual(0);
    expect(npmCi).toBeGreaterThan(copyNpmrc);
    expect(typeCheck).toBeGreaterThan(npmCi);
    // Production runs compiled JavaScript: the image builds dist/ once, and no transpiler ships.
    expect(pkg.scripts['build:dist']).toBeDefined();
    expect(runs(build).some((r) => /\bnpm run build:dist\b/.test(r))).toBe(true);
    expect(pkg.dependencies.tsx).toBeUndefined();
    for (const s of [stage('prod-deps'), stage('worker')]) {
      expect(
        runs(s).some((r) => /^npm ci --omit=dev\b/.test(r)),
        s.name,
      ).toBe(true);
    }
  });

  it('the API image is node:20 slim with production dependencies, non-root, with a health check', () => {
    const api = stage('api');
    expect(api.from).toMatch(/^node:20[-.\w]*-slim$/);
    expect(api.instructions.some((i) => i.keyword === 'COPY' && /--from=prod-deps\b/.test(i.args) && /node_modules/.test(i.args))).toBe(true);
    // Compiled code comes from the stage that type-checked and built it.
    expect(api.instructions.some((i) => i.keyword === 'COPY' && /--from=build\b.*\/app\/dist/.test(i.args))).toBe(true);
    expect(api.instructions.some((i) => i.keyword === 'COPY' && /\/app\/models/.test(i.args))).toBe(true);
    expect(last(api, 'USER')).toBe('node');
    expect(last(api, 'HEALTHCHECK')).toMatch(/\/healthz/);
    expect(last(api, 'CMD')).toBe('["node", "--max-semi-space-size=4", "--heap-growing-percent=25", "dist/src/server/main.js"]');
  });

  it('npm start, the API image and the memory bench start the API with the same memory settings', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const api = stage('api');
    const env = api.instructions
      .filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    const benchText = readFileSync(path.join(ROOT, 'bench/memory.ts'), 'utf8');
    const bench = ['PRODUCTION_ENV', 'PRODUCTION_NODE_ARGS'].map((name) => new RegExp(`^const ${name} = .*$`, 'm').exec(benchText)?.[0] ?? '').join('\n');
    const semiSpace = /--max-semi-space-size=(\d+)/;
    const heapGrowing = /--heap-growing-percent=(\d+)/;
    const mallocArenas = /MALLOC_ARENA_MAX[=:]\s*(?:\$\{MALLOC_ARENA_MAX:-)?'?(\d+)/;
    for (const flag of [semiSpace, heapGrowing]) {
      const values = [pkg.scripts.start!, last(api, 'CMD')!, bench].map((t) => flag.exec(t)?.[1]);
      expect(values[0]).toBeDefined();
      expect(new Set(values).size).toBe(1);
    }
    const arenas = [pkg.scripts.start!, env, bench].map((t) => mallocArenas.exec(t)?.[1]);
    expect(arenas[0]).toBeDefined();
    expect(new Set(arenas).size).toBe(1);
  });

  it('the worker image is CUDA PyTorch with Node 20, onnx, non-root, with a health check', () => {
    const worker = stage('worker');
    expect(worker.from).toMatch(/^pytorch\/pytorch:2\.[\d.]+-cuda12\.[\d.]+-cudnn9-runtime$/);
    expect(runs(worker).some((r) => /pip install .*onnx/.test(r))).toBe(true);
    expect(worker.instructions.some((i) => i.keyword === 'COPY' && /--from=build\b.*\/usr\/local\/bin\/node/.test(i.args))).toBe(true);
    expect(worker.instructions.some((i) => i.keyword === 'COPY' && /--from=build\b.*\/app\/dist/.test(i.args))).toBe(true);
    expect(last(worker, 'USER')).toMatch(/^1000(:1000)?$/);
    expect(last(worker, 'HEALTHCHECK')).toMatch(/\/healthz/);
    expect(last(worker, 'CMD')).toBe('["node", "dist/src/queue/worker-main.js"]');
    const env = worker.instructions
      .filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/TRAINER_PYTHON=\S+/);
  });
});

describe('production dependencies', () => {
  it('every package that src/ imports is a production dependency (the images have no others)', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const files = readdirSync(path.join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    const missing = new Set<string>();
    for (const file of files) {
      const text = readFileSync(path.join(ROOT, 'src', file), 'utf8');
      for (const m of text.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s+'([^'.][^']*)'|import\(\s*'([^'.][^']*)'\s*\)/gm)) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!(name in pkg.dependencies)) missing.add(`${name} (src/${file})`);
      }
    }
    expect([...missing]).toEqual([]);
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('keeps installed modules, git, local state and secrets out of the context', () => {
    for (const p of ['node_modules/', '.git/', '.work/', 'data/', '.env']) expect(patterns, p).toContain(p);
  });

  it('keeps what the build needs', () => {
    const needed = ['package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'src', 'models', 'test'];
    for (const p of patterns) {
      for (const n of needed) expect(p.replace(/\/$/, ''), `${p} would drop ${n}`).not.toBe(n);
    }
  });
});

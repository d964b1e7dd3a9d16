/**
 * Compression benchmark (npm run bench:compression): the seed's claim side by side in one run on
 * this CPU. FP32 BERT-base (12 x 768, random weights, exported by our exporter), an FP32 student
 * of the bundled students' shape (4 x 312, random weights, same exporter) and the bundled INT8
 * student (support-intent): file size, parameters, batch-1 latency at 128 and 256 tokens with 1
 * and 2 threads, batch-32 throughput at 128 tokens, and resident memory of a process that loaded
 * only that model. Every model runs in its own child process, one at a time, with the session
 * options the server uses (src/inference/session-pool.ts).
 *
 * Options: --threads 1,2 --seconds S (per timing, default 2) --rounds N (default 3: the models
 * interleaved N times, medians over rounds) --model-dir DIR --out FILE.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { plainJavaScript, runChild } from '../serving/child.js';
import type { MeasureResult, MeasureSpec, Timing } from './measure.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    threads: { type: 'string', default: '1,2' },
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    'model-dir': { type: 'string', default: process.env.MODEL_DIR ?? 'models' },
    out: { type: 'string', default: path.join(ROOT, 'bench/results/compression.json') },
  },
});
const THREADS = args.threads.split(',').map(Number);
const ROUNDS = Number(args.rounds);
const LENGTHS = [128, 256];
const MODEL_DIR = path.resolve(args['model-dir']);
const EXPORT_DIR = path.join(ROOT, 'bench/results/compression-models');

interface Contender {
  name: string;
  file: string;
}

function contenders(): Contender[] {
  const state = JSON.parse(readFileSync(path.join(MODEL_DIR, 'support-intent', 'state.json'), 'utf8')) as { active: number };
  const versionDir = path.join(MODEL_DIR, 'support-intent', String(state.active));
  return [
    { name: 'BERT-base FP32', file: path.join(EXPORT_DIR, 'bert-base-fp32.onnx') },
    { name: 'student FP32', file: path.join(EXPORT_DIR, 'student-fp32.onnx') },
    { name: 'student INT8 (bundled)', file: path.join(versionDir, 'model.onnx') },
  ];
}

/** Exports the FP32 models once (cached in bench/results) and counts every file's parameters. */
function exportAndCount(list: Contender[]): Record<string, { bytes: number; parameters: number }> {
  const intent = list[2]!.file;
  const config = JSON.parse(readFileSync(path.join(path.dirname(intent), 'config.json'), 'utf8')) as { labels: string[] };
  const vocab = readFileSync(path.join(path.dirname(intent), 'vocab.txt'), 'utf8')
    .split('\n')
    .filter(Boolean).length;
  const out = execFileSync(
    process.env.TRAINER_PYTHON ?? '/usr/bin/python3',
    [
      path.join(ROOT, 'bench/compression/export_models.py'),
      '--out',
      EXPORT_DIR,
      '--labels',
      String(config.labels.length),
      '--vocab-size',
      String(vocab),
      '--count',
      intent,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const counted = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, { bytes: number; parameters: number }>;
  return Object.fromEntries(Object.entries(counted).map(([f, v]) => [path.resolve(f), v]));
}

function cpuInfo(): { model: string; flags: string[] } {
  const text = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1] ?? 'unknown';
  const flags = [...new Set(text.match(/\b(avx512_vnni|avx512f|avx_vnni|avx2)\b/g) ?? [])].sort();
  return { model, flags };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Every number of the result, the median over rounds (timings' runs summed). */
function medianOfRounds(rounds: Array<Record<string, Record<number, MeasureResult>>>): Record<string, Record<number, MeasureResult>> {
  const first = rounds[0]!;
  const out: Record<string, Record<number, MeasureResult>> = {};
  for (const [name, byThreads] of Object.entries(first)) {
    out[name] = {};
    for (const t of Object.keys(byThreads).map(Number)) {
      const all = rounds.map((r) => r[name]![t]!);
      const timing = (pick: (m: MeasureResult) => Timing): Timing => ({
        runs: all.reduce((n, m) => n + pick(m).runs, 0),
        medianMs: median(all.map((m) => pick(m).medianMs)),
        p90Ms: median(all.map((m) => pick(m).p90Ms)),
      });
      out[name][t] = {
        rssBefore: median(all.map((m) => m.rssBefore)),
        rssLoaded: median(all.map((m) => m.rssLoaded)),
        rssAfterBatch1: median(all.map((m) => m.rssAfterBatch1)),
        peakAfterBatch32: median(all.map((m) => m.peakAfterBatch32)),
        partsAfterBatch1: {
          anonymous: median(all.map((m) => m.partsAfterBatch1.anonymous)),
          node: median(all.map((m) => m.partsAfterBatch1.node)),
          onnxruntime: median(all.map((m) => m.partsAfterBatch1.onnxruntime)),
          otherFiles: median(all.map((m) => m.partsAfterBatch1.otherFiles)),
        },
        batch1: Object.fromEntries(Object.keys(all[0]!.batch1).map((l) => [l, timing((m) => m.batch1[l]!)])),
        batch: { ...timing((m) => m.batch), rowsPerS: median(all.map((m) => m.batch.rowsPerS)) },
      };
    }
  }
  return out;
}

const fmt = (n: number, d = 1) => (n >= 100 ? n.toFixed(0) : n.toFixed(d));

async function main(): Promise<void> {
  const list = contenders();
  const sizes = exportAndCount(list);
  const loadBefore = os.loadavg();
  // Rounds interleave the models, so a slow spell of a shared machine falls on all of them; each
  // figure is the median over rounds of the per-round median.
  const rounds: Array<Record<string, Record<number, MeasureResult>>> = [];
  // Plain JavaScript, as production runs: through tsx every process would carry ~30 MiB more.
  const measureScript = await plainJavaScript('../compression/measure.ts');
  for (let round = 0; round < ROUNDS; round++) {
    const results: Record<string, Record<number, MeasureResult>> = {};
    rounds.push(results);
    for (const threads of THREADS) {
      for (const c of list) {
        process.stderr.write(`compression: round ${round + 1}/${ROUNDS}, ${c.name}, ${threads} thread(s) ...\n`);
        const spec: MeasureSpec = {
          modelPath: c.file,
          threads,
          lengths: LENGTHS,
          batchRows: 32,
          batchLength: 128,
          seconds: Number(args.seconds),
          minRuns: 5,
          maxRuns: 500,
        };
        const byThreads = results[c.name] ?? {};
        results[c.name] = byThreads;
        byThreads[threads] = await runChild<MeasureResult>({ script: measureScript, spec, timeoutMs: 30 * 60_000 });
      }
    }
  }
  const results = medianOfRounds(rounds);
  const loadAfter = os.loadavg();
  const cpu = cpuInfo();

  const lines: string[] = [];
  lines.push(
    `CPU: ${cpu.model} (${os.availableParallelism()} cores; ${cpu.flags.join(', ') || 'no AVX2'}); load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
  );
  lines.push('');
  const latencyCols = THREADS.flatMap((t) => LENGTHS.map((l) => `b1 ${l} tok ${t}T ms`));
  lines.push(`| model | file MB | parameters | ${latencyCols.join(' | ')} | b32x128 rows/s 1T | RSS no model / loaded / after b1 MiB | peak after b32 MiB |`);
  lines.push(`|---|---:|---:|${latencyCols.map(() => '---:').join('|')}|---:|---:|---:|`);
  for (const c of list) {
    const r = results[c.name]!;
    const one = r[THREADS[0]!]!;
    const s = sizes[path.resolve(c.file)]!;
    const lat = THREADS.flatMap((t) => LENGTHS.map((l) => fmt(r[t]!.batch1[l]!.medianMs, 2)));
    lines.push(
      `| ${c.name} | ${(s.bytes / 1e6).toFixed(1)} | ${(s.parameters / 1e6).toFixed(2)} M | ${lat.join(' | ')} | ${fmt(one.batch.rowsPerS)} | ${fmt(one.rssBefore)} / ${fmt(one.rssLoaded)} / ${fmt(one.rssAfterBatch1)} | ${fmt(one.peakAfterBatch32)} |`,
    );
  }
  lines.push('');
  const [base, fp32, int8] = list.map((c) => c.name) as [string, string, string];
  const ratio = (of: string, to: string, pick: (r: Record<number, MeasureResult>, s: { bytes: number; parameters: number }) => number) =>
    pick(results[of]!, sizes[path.resolve(list.find((c) => c.name === of)!.file)]!) /
    pick(results[to]!, sizes[path.resolve(list.find((c) => c.name === to)!.file)]!);
  lines.push(
    `| ratio (BERT-base / model) | file | parameters | ${latencyCols.join(' | ')} | b32 throughput (model / BERT-base) | RSS after b1 | RSS after b1 above the no-model process | peak after b32 |`,
  );
  lines.push(`|---|---:|---:|${latencyCols.map(() => '---:').join('|')}|---:|---:|---:|---:|`);
  for (const to of [fp32, int8]) {
    const lat = THREADS.flatMap((t) => LENGTHS.map((l) => `${ratio(base, to, (r) => r[t]!.batch1[l]!.medianMs).toFixed(1)}x`));
    lines.push(
      `| ${to} | ${ratio(base, to, (_r, s) => s.bytes).toFixed(1)}x | ${ratio(base, to, (_r, s) => s.parameters).toFixed(1)}x | ${lat.join(' | ')} | ${(1 / ratio(base, to, (r) => r[THREADS[0]!]!.batch.rowsPerS)).toFixed(1)}x | ${ratio(base, to, (r) => r[THREADS[0]!]!.rssAfterBatch1).toFixed(1)}x | ${ratio(base, to, (r) => r[THREADS[0]!]!.rssAfterBatch1 - r[THREADS[0]!]!.rssBefore).toFixed(1)}x | ${ratio(base, to, (r) => r[THREADS[0]!]!.peakAfterBatch32).toFixed(1)}x |`,
    );
  }
  // What holds the RSS ratio back: the pages every process of Node and ONNX Runtime maps whatever
  // the model (their code), against the anonymous memory that grows with the model.
  lines.push('');
  lines.push('| resident after b1, 1T (MiB) | anonymous (heap, weights, arena) | Node binary | ONNX Runtime library | other files | all |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const c of list) {
    const p = results[c.name]![THREADS[0]!]!.partsAfterBatch1;
    lines.push(
      `| ${c.name} | ${fmt(p.anonymous)} | ${fmt(p.node)} | ${fmt(p.onnxruntime)} | ${fmt(p.otherFiles)} | ${fmt(p.anonymous + p.node + p.onnxruntime + p.otherFiles)} |`,
    );
  }
  // glibc's dynamic mmap threshold decides per run whether the buffers freed after loading go
  // back to the kernel, so a model's RSS can differ by its load-time copies between rounds.
  const spread = list.map((c) => {
    const values = rounds.map((r) => r[c.name]![THREADS[0]!]!.rssAfterBatch1);
    return `${c.name} ${fmt(Math.min(...values))}-${fmt(Math.max(...values))}`;
  });
  lines.push('');
  lines.push(`RSS after b1 over the ${rounds.length} rounds, 1T (MiB, min-max): ${spread.join('; ')}.`);
  const anonRatio = ratio(base, int8, (r) => r[THREADS[0]!]!.partsAfterBatch1.anonymous);
  const baseRss = results[base]![THREADS[0]!]!.rssAfterBatch1;
  lines.push('');
  lines.push(
    `Anonymous memory alone, BERT-base / INT8 student: ${anonRatio.toFixed(1)}x. For 8x in whole-process RSS the INT8 student's process would have to stay under ${fmt(baseRss / 8)} MiB.`,
  );
  const int8VsFp32 = THREADS.flatMap((t) => LENGTHS.map((l) => `${l} tok ${t}T ${ratio(fp32, int8, (r) => r[t]!.batch1[l]!.medianMs).toFixed(2)}x`));
  lines.push('');
  lines.push(`INT8 student vs FP32 student, batch-1 latency: ${int8VsFp32.join(', ')}; file ${ratio(fp32, int8, (_r, s) => s.bytes).toFixed(1)}x.`);
  const report = lines.join('\n');
  process.stdout.write(`${report}\n`);
  mkdirSync(path.dirname(args.out), { recursive: true });
  writeFileSync(args.out, JSON.stringify({ date: new Date().toISOString(), cpu, loadBefore, loadAfter, sizes, results, rounds, report }, null, 2));
}

await main();

/**
 * `models:build --base-from`: the base a GPU run brought back (tools/build/gpu-base.ts). A pack
 * is made here as gpu_base.py makes one (a tar of teacher/ and general-student/, cut into parts,
 * base.json with its sha256, events.jsonl) and imported into a real base cache; every way a pack
 * can arrive broken is refused with what to do, and nothing half-imported stays in the cache.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StageCache } from '../../tools/build/cache.js';
import { type BaseRecord, checkGpuBaseSeed, GpuBaseError, importGpuBase } from '../../tools/build/gpu-base.js';

const INPUTS = { vocab: 'v'.repeat(64), corpus: 'c'.repeat(64), seed: 1234 };

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'gpu-base-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** A pack as gpu_base.py writes it, with parts of `partBytes`; returns its folder. */
async function makePack(o: { partBytes: number; inputs?: typeof INPUTS; format?: number }): Promise<string> {
  const staging = path.join(root, 'staging');
  for (const name of ['teacher', 'general-student']) {
    await fs.mkdir(path.join(staging, name), { recursive: true });
    await fs.writeFile(path.join(staging, name, 'config.json'), JSON.stringify({ name }));
    await fs.writeFile(path.join(staging, name, 'model.safetensors'), Buffer.alloc(5000, name.length));
  }
  const tar = path.join(root, 'base.tar');
  execFileSync('tar', ['-cf', tar, '-C', staging, 'teacher', 'general-student']);
  const bytes = await fs.readFile(tar);
  const out = path.join(root, 'out');
  await fs.mkdir(out, { recursive: true });
  const parts: string[] = [];
  for (let at = 0; at < bytes.length; at += o.partBytes) {
    const part = `base.tar.part${String(parts.length).padStart(2, '0')}`;
    await fs.writeFile(path.join(out, part), bytes.subarray(at, at + o.partBytes));
    parts.push(part);
  }
  const events = [
    { type: 'start', job_id: 'gpu-base', device: 'cuda', precision: 'bf16', torch: '2.11.0', resumed_from: null },
    { type: 'stage', stage: 'mlm_pretrain', status: 'started' },
    { type: 'eval', stage: 'mlm_pretrain', step: 500, role: 'teacher', metrics: { masked_accuracy: 0.41, perplexity: 30.2 } },
    { type: 'stage', stage: 'mlm_pretrain', status: 'completed', step: 500, result_path: '/x' },
  ];
  await fs.writeFile(path.join(out, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n'));
  await fs.writeFile(
    path.join(out, 'base.json'),
    JSON.stringify({
      format: o.format ?? 1,
      inputs: { base_inputs: o.inputs ?? INPUTS, plan: { minutes: 6 } },
      device: 'cuda (NVIDIA H200), bf16',
      steps: { mlm_pretrain: 500, general_distill: 200 },
      seconds: { mlm_pretrain: 250.5, general_distill: 101.2 },
      pack: { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, parts, weights: 'fp16' },
    }),
  );
  return out;
}

const cacheAt = () => new StageCache<BaseRecord>(path.join(root, 'cache'), 'base');

describe('models:build --base-from', () => {
  it('joins the parts, checks them and caches the base with its device and curves', async () => {
    const dir = await makePack({ partBytes: 4096 });
    expect((await fs.readdir(dir)).filter((f) => f.startsWith('base.tar.part')).length).toBeGreaterThan(2);
    const base = await importGpuBase({ dir, cache: cacheAt(), inputs: INPUTS });
    expect(await fs.readFile(path.join(base.dir, 'teacher', 'model.safetensors'))).toEqual(Buffer.alloc(5000, 'teacher'.length));
    expect(JSON.parse(await fs.readFile(path.join(base.dir, 'general-student', 'config.json'), 'utf8'))).toEqual({ name: 'general-student' });
    expect(base.record.device).toBe('cuda (NVIDIA H200), bf16');
    expect(base.record.seconds).toEqual({ mlm_pretrain: 250.5, general_distill: 101.2 });
    expect(base.record.stages.mlm_pretrain?.evals).toEqual([{ step: 500, role: 'teacher', metrics: { masked_accuracy: 0.41, perplexity: 30.2 } }]);
    await expect(fs.access(path.join(base.dir, 'base.tar'))).rejects.toThrow();
    // A second import of the same pack is the cache entry, not a second copy.
    expect((await importGpuBase({ dir, cache: cacheAt(), inputs: INPUTS })).dir).toBe(base.dir);
    // ... and a damaged copy of the folder is refused even though the cache holds its base.
    await fs.rm(path.join(dir, 'base.tar.part01'));
    await expect(importGpuBase({ dir, cache: cacheAt(), inputs: INPUTS })).rejects.toThrow(/base\.tar\.part01 is missing/);
  });

  it('refuses a base pre-trained on another corpus, vocabulary or seed', async () => {
    const dir = await makePack({ partBytes: 1 << 20, inputs: { ...INPUTS, seed: 7 } });
    await expect(importGpuBase({ dir, cache: cacheAt(), inputs: INPUTS })).rejects.toThrow(
      /pre-trained on another seed than this build's \(its seed 7, this build's 1234\); build with the --seed and --quick it was prepared with/,
    );
    const other = await makePack({ partBytes: 1 << 20, inputs: { ...INPUTS, vocab: 'x'.repeat(64), corpus: 'y'.repeat(64) } });
    await expect(importGpuBase({ dir: other, cache: cacheAt(), inputs: INPUTS })).rejects.toThrow(/another corpus and vocab than this build's/);
  });

  it('refuses a missing or damaged part, and leaves no cache entry behind', async () => {
    const dir = await makePack({ partBytes: 4096 });
    await fs.rm(path.join(dir, 'base.tar.part01'));
    await expect(importGpuBase({ dir, cache: cacheAt(), inputs: INPUTS })).rejects.toThrow(/base\.tar\.part01 is missing .*bring back every part/);
    await fs.rm(dir, { recursive: true });
    const damaged = await makePack({ partBytes: 4096 });
    const part = path.join(damaged, 'base.tar.part00');
    const bytes = await fs.readFile(part);
    bytes[600] = (bytes[600] ?? 0) ^ 1;
    await fs.writeFile(part, bytes);
    await expect(importGpuBase({ dir: damaged, cache: cacheAt(), inputs: INPUTS })).rejects.toThrow(
      /sha256 is [0-9a-f]{64}, base\.json says .*a part is damaged/,
    );
    // Nothing under the cache counts as a finished base (record.json is written last).
    const entries = await fs.readdir(path.join(root, 'cache', 'base')).catch(() => []);
    for (const e of entries) await expect(fs.access(path.join(root, 'cache', 'base', e, 'record.json'))).rejects.toThrow();
  });

  it('imports a pack whose base.json lacks the optional records, saying what is unknown', async () => {
    const dir = await makePack({ partBytes: 1 << 20 });
    const base = JSON.parse(await fs.readFile(path.join(dir, 'base.json'), 'utf8'));
    delete base.seconds;
    delete base.device;
    await fs.writeFile(path.join(dir, 'base.json'), JSON.stringify(base));
    const imported = await importGpuBase({ dir, cache: cacheAt(), inputs: INPUTS });
    expect(imported.record.device).toBe('unknown (base.json names no device)');
    expect(imported.record.seconds).toEqual({ mlm_pretrain: 0, general_distill: 0 });
  });

  it('refuses parts that are not a tar, leaving no unfinished cache entry', async () => {
    const dir = await makePack({ partBytes: 1 << 20 });
    const junk = Buffer.from('not a tar archive at all'.repeat(100));
    await fs.writeFile(path.join(dir, 'base.tar.part00'), junk);
    const base = JSON.parse(await fs.readFile(path.join(dir, 'base.json'), 'utf8'));
    base.pack.sha256 = createHash('sha256').update(junk).digest('hex');
    await fs.writeFile(path.join(dir, 'base.json'), JSON.stringify(base));
    await expect(importGpuBase({ dir, cache: cacheAt(), inputs: INPUTS })).rejects.toThrow(
      /the joined parts are not a readable tar .*pre-train and bring the pack back again/,
    );
    expect(await fs.readdir(path.join(root, 'cache', 'base'))).toEqual([]);
  });

  it('checks the seed from base.json alone, before the build makes its corpus', async () => {
    const dir = await makePack({ partBytes: 1 << 20, inputs: { ...INPUTS, seed: 7 } });
    await expect(checkGpuBaseSeed(dir, 1234)).rejects.toThrow(/prepared with --seed 7, this build has --seed 1234; build with --seed 7/);
    await expect(checkGpuBaseSeed(dir, 7)).resolves.toBeUndefined();
  });

  it('names what is wrong with a folder that is not a pack', async () => {
    const empty = path.join(root, 'empty');
    await fs.mkdir(empty);
    const error = await importGpuBase({ dir: empty, cache: cacheAt(), inputs: INPUTS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GpuBaseError);
    expect((error as Error).message).toMatch(/no readable base\.json .*give the folder scripts\/gpu-pretrain-base\.sh wrote/);
    await fs.writeFile(path.join(empty, 'base.json'), 'null');
    await expect(importGpuBase({ dir: empty, cache: cacheAt(), inputs: INPUTS })).rejects.toThrow(/base\.json is not an object/);
    await fs.writeFile(path.join(empty, 'base.json'), JSON.stringify({ format: 1, pack: { parts: ['../x', 'base.tar.part00'] } }));
    await expect(importGpuBase({ dir: empty, cache: cacheAt(), inputs: INPUTS })).rejects.toThrow(
      /parts must be base\.tar\.partNN files beside it, not "\.\.\/x"/,
    );
    const future = await makePack({ partBytes: 1 << 20, format: 2 });
    await expect(importGpuBase({ dir: future, cache: cacheAt(), inputs: INPUTS })).rejects.toThrow(/base\.json has format 2; this build reads format 1/);
  });
});

/**
 * models/build.json: what the last `npm run models:build` did and measured (per-stage wall time,
 * the corpus, the base's pre-training curves, the ablations), the source models/README.md is
 * rendered from together with the bundled manifests.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Manifest, ModelMetrics } from '../../src/inference/registry/types.js';
import { type Baseline, firstSentenceBaseline, majorityClassBaseline } from '../baselines.js';
import { readCurrentCheckSetResults } from '../check-set/score.js';
import { renderModelsReadme } from '../models-readme.js';
import type { StageRecord } from './stage-log.js';

export interface BuildRecord {
  seed: number;
  quick: boolean;
  only: string | null;
  started_at: string;
  total_seconds: number;
  /** The CPU the build ran on, with the vector extensions that decide INT8 speed. */
  cpu: string;
  /** Training precision of the build's jobs (bf16 autocast on a CPU with native bf16). */
  precision: 'bf16' | 'fp32';
  /** Shared stages: wall seconds, and whether the cache supplied them. */
  stages: Record<string, { seconds: number; cached: boolean }>;
  datagen?: Record<string, unknown>;
  /** The corpus builder's corpus.json (sources, licenses, sizes). */
  corpus?: unknown;
  /** The base's record: seconds and evaluations of mlm_pretrain and general_distill. */
  base?: { device?: string; seconds: Record<string, number>; stages: Record<string, StageRecord> };
  tasks: Record<
    string,
    {
      seconds: number;
      stages: Record<string, StageRecord>;
      /** By variant (random-teacher, random-student): the same task stages without a pre-trained part. */
      ablation: Record<string, { seconds: number; metrics: Record<string, ModelMetrics>; stages: Record<string, StageRecord> }>;
    }
  >;
  /** Set on a record merged from an --only build: that build's own record. */
  last_partial?: BuildRecord;
}

export async function readBuildRecord(modelDir: string): Promise<BuildRecord> {
  return JSON.parse(await fs.readFile(path.join(modelDir, 'build.json'), 'utf8')) as BuildRecord;
}

async function activeManifests(modelDir: string): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for (const name of ['support-intent', 'support-qa']) {
    try {
      const state = JSON.parse(await fs.readFile(path.join(modelDir, name, 'state.json'), 'utf8')) as { active: number };
      manifests.push(JSON.parse(await fs.readFile(path.join(modelDir, name, String(state.active), 'manifest.json'), 'utf8')) as Manifest);
    } catch {
      // not built yet
    }
  }
  return manifests;
}

/** Rewrites models/README.md from the bundled manifests, build.json and the held-out data. */
export async function writeReadme(o: { modelDir: string; dataDir: string; record: BuildRecord | undefined }): Promise<void> {
  // A baseline needs the held-out split; a checkout without data/ renders without it.
  const baselines: Record<string, Baseline> = {};
  const sources: [string, () => Promise<Baseline>][] = [
    ['support-intent', () => majorityClassBaseline(path.join(o.dataDir, 'support-intent/test.jsonl'))],
    ['support-qa', () => firstSentenceBaseline(path.join(o.dataDir, 'support-qa/test.json'))],
  ];
  for (const [name, compute] of sources) {
    const baseline = await compute().catch(() => undefined);
    if (baseline) baselines[name] = baseline;
  }
  const manifests = await activeManifests(o.modelDir);
  // The check set's numbers only while they are of these very models (a rebuild rescores them).
  const checkSet = await readCurrentCheckSetResults(o.modelDir, manifests);
  await fs.writeFile(path.join(o.modelDir, 'README.md'), renderModelsReadme({ manifests, baselines, record: o.record, ...(checkSet ? { checkSet } : {}) }));
}

/**
 * models:build's plans and cache: every job spec the build can submit parses (a field a stage
 * does not know stops a build only after its corpus and vocabulary, minutes in), and the cache
 * key changes with exactly what it should.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../src/training/job-spec.js';
import { cacheKey, StageCache } from '../../tools/build/cache.js';
import { basePlan, taskPlans } from '../../tools/build/plans.js';

describe('models:build plans', () => {
  for (const quick of [false, true]) {
    for (const plan of taskPlans(quick)) {
      it(`${plan.name}${quick ? ' (--quick)' : ''}: the job with the base stages in it and the one from the cached base both parse`, () => {
        const base = basePlan(quick);
        const common = {
          type: 'distill',
          model: plan.name,
          task: plan.task,
          teacher: { path: `teachers/random/${plan.name}` },
          seed: 1,
          precision: 'bf16',
          ...plan.spec,
        };
        const withBase = parseJobSpec({
          ...common,
          data: { train: plan.train, eval: plan.eval, unlabeled: 'corpus.txt' },
          stages: { ...(plan.spec.stages as object), ...base.stages },
        });
        expect(withBase.stages.mlm_pretrain.enabled).toBe(true);
        expect(withBase.stages.general_distill.enabled).toBe(true);
        const fromCache = parseJobSpec({
          ...common,
          data: { train: plan.train, eval: plan.eval },
          student: { ...(plan.spec.student as object), init: { path: 'build-cache/base/x/general-student' } },
        });
        expect(fromCache.stages.mlm_pretrain.enabled).toBe(false);
      });
    }
  }

  it('pre-trains the teacher the tasks fine-tune, and distils the student shape they ship', () => {
    const base = basePlan(false);
    for (const plan of taskPlans(false)) {
      const student = plan.spec.student as Record<string, unknown>;
      for (const k of ['layers', 'hidden', 'heads', 'intermediate'] as const) expect(student[k]).toBe(base.student[k]);
    }
  });
});

describe('the build cache', () => {
  it('keys on content, not on the order of object keys', () => {
    expect(cacheKey({ a: 1, b: { c: 2, d: [1, 2] } })).toBe(cacheKey({ b: { d: [1, 2], c: 2 }, a: 1 }));
    expect(cacheKey({ a: 1, b: { c: 2, d: [1, 2] } })).not.toBe(cacheKey({ a: 1, b: { c: 2, d: [2, 1] } }));
    expect(cacheKey({ lr: 4e-4 })).not.toBe(cacheKey({ lr: 5e-4 }));
  });

  it('finds an entry only once it was committed, and prepare() clears an unfinished one', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'build-cache-'));
    try {
      const cache = new StageCache<{ n: number }>(root, 'base');
      const dir = await cache.prepare('k1');
      await fs.writeFile(path.join(dir, 'half-written'), 'x');
      expect(await cache.lookup('k1')).toBeUndefined();
      const again = await cache.prepare('k1');
      expect(await fs.readdir(again)).toEqual([]);
      await cache.commit('k1', { n: 3 });
      expect(await cache.lookup('k1')).toEqual({ dir, record: { n: 3 } });
      expect(await cache.lookup('k2')).toBeUndefined();
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ortSessionOptions, SessionPool } from '../../src/inference/session-pool.js';
import { tinyRegistry } from './helpers.js';

/** Nice value of every thread of this process (Linux /proc/<pid>/task/<tid>/stat, field 19). */
function threadNiceValues(): number[] {
  const tasks = `/proc/${process.pid}/task`;
  return readdirSync(tasks).flatMap((tid) => {
    try {
      const stat = readFileSync(path.join(tasks, tid, 'stat'), 'utf8');
      // The command name may hold spaces; the fields after its closing parenthesis do not.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return [Number(fields[16])];
    } catch {
      return []; // the thread ended meanwhile
    }
  });
}

describe('SessionPool', () => {
  let dir: string;
  beforeAll(() => {
    dir = tinyRegistry();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const open = (niceness: number, sessions = 2) =>
    SessionPool.create({
      modelPath: path.join(dir, 'tiny-intent/1/model.onnx'),
      sessions,
      intraOpThreads: 1,
      interOpThreads: 1,
      intraOpSpinning: false,
      niceness,
      executionProviders: ['cpu'],
      inputs: ['input_ids', 'attention_mask', 'token_type_ids'],
      outputs: ['logits'],
    });

  // The test process may itself run niced (CI under `nice`): compare with its own value.
  const base = os.getPriority();
  const target = Math.min(19, base + 3);

  it.runIf(process.platform === 'linux' && base < 19)('runs its sessions on threads with the configured nice value, leaving the others alone', async () => {
    const before = threadNiceValues().filter((n) => n === target).length;
    const pool = await open(target, 2);
    try {
      expect(threadNiceValues().filter((n) => n === target).length - before).toBeGreaterThanOrEqual(2);
      expect(os.getPriority()).toBe(base); // the main thread keeps its priority
      const ids = BigInt64Array.from([2n, 7n, 3n]);
      const out = await pool.run({ rows: 1, length: 3, inputIds: ids, attentionMask: BigInt64Array.from([1n, 1n, 1n]), tokenTypeIds: new BigInt64Array(3) });
      expect(out.logits!.dims[0]).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('with niceness 0 starts its session threads at normal priority', async () => {
    // ONNX Runtime keeps one process-wide thread from the first session it ever created, which
    // may carry an earlier pool's nice value: count, rather than expect none.
    const niced = () => threadNiceValues().filter((n) => n !== base).length;
    const before = niced();
    const pool = await open(0, 2);
    try {
      expect(niced()).toBe(before);
    } finally {
      await pool.close();
    }
  });

  it('turns ONNX Runtime spinning on or off through session config entries', () => {
    const base = { executionProviders: ['cpu'] as const, intraOpThreads: 2, interOpThreads: 1 };
    expect(ortSessionOptions({ ...base, intraOpSpinning: false }).extra).toEqual({
      session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } },
    });
    expect(ortSessionOptions({ ...base, intraOpSpinning: true }).extra).toEqual({
      session: { intra_op: { allow_spinning: '1' }, inter_op: { allow_spinning: '1' } },
    });
    expect(ortSessionOptions({ ...base, intraOpSpinning: true })).toMatchObject({ intraOpNumThreads: 2, interOpNumThreads: 1 });
  });
});

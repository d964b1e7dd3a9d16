/**
 * "Who decides this plan": the first replica to create the plan's claim file in the registry
 * (O_CREAT | O_EXCL, atomic on local and NFSv3+ filesystems) makes the decision; every other
 * replica that reaches the same verdict finds the file and leaves the plan alone. The registry
 * already is the one thing every replica shares, so this needs no Redis.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function claimDir(modelDir: string, model: string): string {
  return path.join(modelDir, model, '.rollout-decisions');
}

/** True when this process now owns the decision of `planId`; false when another replica does. */
export async function claimDecision(modelDir: string, model: string, planId: string, what: Record<string, unknown>): Promise<boolean> {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(planId)) throw new Error(`plan id ${JSON.stringify(planId)} is not a plan id`);
  const dir = claimDir(modelDir, model);
  await fs.mkdir(dir, { recursive: true });
  try {
    await fs.writeFile(path.join(dir, `${planId}.json`), JSON.stringify({ ...what, host: os.hostname(), pid: process.pid, at: new Date().toISOString() }), {
      flag: 'wx',
    });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Work-folder retention: completed jobs' folders go at once, failed and cancelled ones after
 * WORK_RETENTION_HOURS, live ones (no end marker) never.
 */
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ENDED_MARKER, finishWorkDir, jobWorkDir, reopenWorkDir, sweepWorkDirs } from '../../src/training/work-dirs.js';

let paths: { workDir: string };

async function jobFolder(id: string): Promise<string> {
  const dir = jobWorkDir(paths, id);
  await fs.mkdir(path.join(dir, 'checkpoints', 'task_distill'), { recursive: true });
  await fs.writeFile(path.join(dir, 'checkpoints', 'task_distill', 'model.safetensors'), Buffer.alloc(1024));
  return dir;
}

const hoursLater = (base: Date, h: number): Date => new Date(base.getTime() + h * 3_600_000);

beforeEach(async () => {
  paths = { workDir: await fs.mkdtemp(path.join(os.tmpdir(), 'distillery-workdirs-')) };
});

afterEach(async () => {
  await fs.rm(paths.workDir, { recursive: true, force: true });
});

describe('work folder retention', () => {
  it('defaults to 24 hours, is read from WORK_RETENTION_HOURS, and refuses a negative value', () => {
    expect(loadConfig({}).queue.workRetentionHours).toBe(24);
    expect(loadConfig({ WORK_RETENTION_HOURS: '0.5' }).queue.workRetentionHours).toBe(0.5);
    expect(() => loadConfig({ WORK_RETENTION_HOURS: '-1' })).toThrow(/WORK_RETENTION_HOURS/);
  });

  it('removes a completed job folder at once', async () => {
    const dir = await jobFolder('done-1');
    expect(await finishWorkDir({ paths, jobId: 'done-1', outcome: 'completed', retentionHours: 24 })).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });

  it('keeps failed and cancelled folders for the retention period, then the sweep removes them', async () => {
    const t0 = new Date('2026-01-01T00:00:00Z');
    const failed = await jobFolder('failed-1');
    const cancelled = await jobFolder('cancelled-1');
    const running = await jobFolder('running-1');
    await finishWorkDir({ paths, jobId: 'failed-1', outcome: 'failed', retentionHours: 24, now: t0 });
    await finishWorkDir({ paths, jobId: 'cancelled-1', outcome: 'cancelled', retentionHours: 24, now: hoursLater(t0, 2) });
    expect(JSON.parse(await fs.readFile(path.join(cancelled, ENDED_MARKER), 'utf8'))).toMatchObject({ outcome: 'cancelled' });

    expect(await sweepWorkDirs({ paths, retentionHours: 24, now: hoursLater(t0, 23) })).toEqual([]);
    expect(await sweepWorkDirs({ paths, retentionHours: 24, now: hoursLater(t0, 25) })).toEqual(['failed-1']);
    expect(existsSync(failed)).toBe(false);
    expect(existsSync(cancelled)).toBe(true);
    expect(await sweepWorkDirs({ paths, retentionHours: 24, now: hoursLater(t0, 1000) })).toEqual(['cancelled-1']);
    // No end marker: running, waiting for a retry, or stopped to be resumed. Never removed.
    expect(existsSync(running)).toBe(true);
  });

  it('retention 0 removes a failed folder at once', async () => {
    const dir = await jobFolder('failed-2');
    await finishWorkDir({ paths, jobId: 'failed-2', outcome: 'failed', retentionHours: 0 });
    expect(existsSync(dir)).toBe(false);
  });

  it('a job that runs again (retry, resume) is live again and not swept', async () => {
    const t0 = new Date('2026-01-01T00:00:00Z');
    const dir = await jobFolder('again-1');
    await finishWorkDir({ paths, jobId: 'again-1', outcome: 'failed', retentionHours: 1, now: t0 });
    await reopenWorkDir(paths, 'again-1');
    expect(await sweepWorkDirs({ paths, retentionHours: 1, now: hoursLater(t0, 100) })).toEqual([]);
    expect(existsSync(dir)).toBe(true);
  });

  it('a missing work folder is nothing to sweep', async () => {
    expect(await sweepWorkDirs({ paths: { workDir: path.join(paths.workDir, 'absent') }, retentionHours: 1 })).toEqual([]);
  });
});

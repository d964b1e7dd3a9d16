/**
 * The jobs' scratch folders, WORK_DIR/jobs/<id>: the spec, checkpoints and trainer outputs of
 * one job, reused by a retry or a resume. This module owns their end of life, so the work dir
 * stays bounded: a completed job's folder goes at once (its version, checkpoint included, is in
 * the registry), a failed or cancelled job's folder is kept for WORK_RETENTION_HOURS to look
 * at, then removed by the next sweep. A folder without an end marker belongs to a job that is
 * running, waiting for a retry or stopped to be resumed, and is never touched.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PathsConfig } from '../config.js';
import { writeFileAtomic } from '../inference/registry/atomic.js';

/** Written into a job's folder when the job has ended for good (no retry, no resume). */
export const ENDED_MARKER = 'ended.json';

export type EndedOutcome = 'completed' | 'failed' | 'cancelled';

interface EndedRecord {
  outcome: EndedOutcome;
  ended_at: string;
}

export function jobWorkDir(paths: Pick<PathsConfig, 'workDir'>, jobId: string): string {
  return path.join(paths.workDir, 'jobs', jobId.replace(/[^A-Za-z0-9._-]/g, '_'));
}

export interface FinishWorkDirOptions {
  paths: Pick<PathsConfig, 'workDir'>;
  jobId: string;
  outcome: EndedOutcome;
  /** How long a failed or cancelled job's folder is kept (hours; 0 removes it at once). */
  retentionHours: number;
  now?: Date;
}

/**
 * Ends a job's folder: removed when the job completed or nothing is to be kept, otherwise marked
 * for removal after the retention period. Returns whether the folder is gone.
 */
export async function finishWorkDir(opts: FinishWorkDirOptions): Promise<boolean> {
  const dir = jobWorkDir(opts.paths, opts.jobId);
  if (opts.outcome === 'completed' || opts.retentionHours === 0) {
    await fs.rm(dir, { recursive: true, force: true });
    return true;
  }
  if (
    !(await fs.stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    return true;
  const record: EndedRecord = { outcome: opts.outcome, ended_at: (opts.now ?? new Date()).toISOString() };
  await writeFileAtomic(path.join(dir, ENDED_MARKER), `${JSON.stringify(record)}\n`);
  return false;
}

/** A job runs again (a retry from Bull Board, a local run with the same --job-id): not ended any more. */
export async function reopenWorkDir(paths: Pick<PathsConfig, 'workDir'>, jobId: string): Promise<void> {
  await fs.rm(path.join(jobWorkDir(paths, jobId), ENDED_MARKER), { force: true });
}

export interface SweepOptions {
  paths: Pick<PathsConfig, 'workDir'>;
  retentionHours: number;
  now?: Date;
}

/**
 * Removes the folders of jobs that ended more than `retentionHours` ago. Folders without an end
 * marker, or with one that cannot be read, are left alone. Returns the removed folder names.
 */
export async function sweepWorkDirs(opts: SweepOptions): Promise<string[]> {
  const root = path.join(opts.paths.workDir, 'jobs');
  const names = await fs.readdir(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const cutoff = (opts.now ?? new Date()).getTime() - opts.retentionHours * 3_600_000;
  const removed: string[] = [];
  for (const name of names) {
    const dir = path.join(root, name);
    let record: EndedRecord;
    try {
      record = JSON.parse(await fs.readFile(path.join(dir, ENDED_MARKER), 'utf8')) as EndedRecord;
    } catch {
      continue;
    }
    const endedAt = Date.parse(record.ended_at);
    if (!Number.isFinite(endedAt) || endedAt > cutoff) continue;
    await fs.rm(dir, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

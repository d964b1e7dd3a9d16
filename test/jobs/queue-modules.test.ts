/**
 * An API with jobs on loads BullMQ and Bull Board only when a job route or the dashboard is
 * used (JobService.bullQueue, plugins/queue-dashboard.ts): a replica that only serves never
 * holds them. Checked in a process of its own, since this one has loaded everything.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const PROBE = path.join(import.meta.dirname, 'queue-modules-probe.ts');

describe('job-queue libraries load on first use', () => {
  it('not at start; BullMQ with the first job route; Bull Board with the dashboard', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', PROBE], { timeout: 120_000 });
    const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    expect(report).toEqual({
      atStart: { bullmq: false, bullBoard: false },
      jobStatus: 200,
      afterJobRoute: { bullmq: true, bullBoard: false },
      dashboardStatus: 200,
      afterDashboard: { bullmq: true, bullBoard: true },
    });
  });
});

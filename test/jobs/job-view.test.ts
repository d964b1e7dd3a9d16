/**
 * A job's view is one consistent picture even when the job ends between reading the job and
 * reading its state (a real Redis, a real BullMQ worker; the race is pinned by handing the service
 * the snapshot taken before the job completed).
 */
import { Job, Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EnvReader, loadPathsConfig, loadQueueConfig } from '../../src/config.js';
import type { DistillJobData, JobResult } from '../../src/queue/job-types.js';
import { JobService } from '../../src/queue/job-service.js';
import { deleteRedisKeys } from '../redis-keys.js';

const prefix = `dtest-view-${process.pid}-${Date.now()}`;
const env = new EnvReader({ ...process.env, QUEUE_PREFIX: prefix });
const queueConfig = loadQueueConfig(env);
let service: JobService;
let queue: Queue<DistillJobData, JobResult>;

beforeAll(async () => {
  service = new JobService({ queue: queueConfig, paths: loadPathsConfig(env) });
  queue = new Queue(service.names.queue, { connection: { url: queueConfig.redisUrl }, prefix: service.names.bullPrefix });
  const until = Date.now() + 30_000;
  while (!service.isAvailable() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
});

afterAll(async () => {
  vi.restoreAllMocks();
  await queue.close();
  await service.close();
  await deleteRedisKeys(queueConfig.redisUrl, prefix);
});

describe('job view', () => {
  it('a job that completes between the snapshot and the state read shows its result, not completed with none', async () => {
    const result = { model: 'm', version: 7 } as unknown as JobResult;
    await queue.add('distill', { spec: { model: 'm', task: 'classification' } } as unknown as DistillJobData, { jobId: 'race-1' });
    const stale = (await Job.fromId<DistillJobData, JobResult>(queue, 'race-1')) as Job<DistillJobData, JobResult>;
    expect(stale.returnvalue ?? null).toBeNull();
    const worker = new Worker<DistillJobData, JobResult>(service.names.queue, async () => result, {
      connection: { url: queueConfig.redisUrl },
      prefix: service.names.bullPrefix,
    });
    const completed = new Promise<void>((resolve) => worker.on('completed', () => resolve()));
    await completed;
    await worker.close();

    // The service reads the job first (the snapshot from before it completed), its state after.
    vi.spyOn(Queue.prototype, 'getJob').mockResolvedValueOnce(stale);
    const view = await service.get('race-1');
    expect(view.state).toBe('completed');
    expect(view.result).toEqual(result);
    expect(view.finished_at).not.toBeNull();
  });
});

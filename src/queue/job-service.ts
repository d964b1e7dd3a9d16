/**
 * The API's side of the job queue: submit (validated before queueing), read, list, cancel, and
 * the run's logs and history. Every call fails fast with JobsUnavailableError while Redis is down,
 * so the HTTP layer answers 503 and inference is unaffected.
 *
 * The Redis connection opens at construction (model events are announced on it); BullMQ and the
 * job preparation code are imported on the first call that needs them. An API replica that never
 * sees a job call never loads them: about 9 MiB of resident memory and 4 MiB of V8 heap
 * (npm run bench:memory, variants jobs-on and defaults).
 */
import { randomUUID } from 'node:crypto';
import type { Job, JobType, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { PathsConfig, QueueConfig } from '../config.js';
import type { JobSpec } from '../training/job-spec.js';
import { JobNotFoundError, JobStateError, JobsUnavailableError } from './errors.js';
import { CANCELLED_REASON, type DistillJobData, type HistoryPoint, type JobProgress, type JobResult, type JobState, type JobView } from './job-types.js';
import { type ModelEvent, publishModelEvent } from './model-events.js';
import { queueNames, type QueueNames } from './names.js';
import { createRedis, isRedisReady } from './redis-connection.js';
import { KeyedMutex } from '../inference/keyed-mutex.js';

function alreadyEnded(id: string, state: JobState): JobStateError {
  return new JobStateError(`job ${id} is already ${state}; only queued or active jobs can be cancelled`);
}

const BULL_TYPES: Record<JobState, JobType[]> = {
  queued: ['waiting', 'delayed', 'prioritized', 'waiting-children'],
  active: ['active'],
  completed: ['completed'],
  failed: ['failed'],
  cancelled: ['failed'],
};

/** What the cancelled-jobs hash holds per job: the job as it ended. */
interface CancelRecord {
  view: JobView;
}

export interface JobServiceOptions {
  queue: QueueConfig;
  paths: PathsConfig;
  onRedisError?: (err: Error) => void;
}

export class JobService {
  readonly names: QueueNames;
  private readonly redis: Redis;
  /** Created by the first call that needs it (bullQueue); its one owner. */
  private queue?: Promise<Queue<DistillJobData, JobResult>>;
  private closed = false;
  private readonly cancels = new KeyedMutex();

  constructor(private readonly opts: JobServiceOptions) {
    this.names = queueNames(opts.queue.prefix);
    this.redis = createRedis(opts.queue.redisUrl, 'api', opts.onRedisError);
  }

  /**
   * The BullMQ queue (also for the operators' dashboard), on the service's Redis connection.
   * Throws JobsUnavailableError once the service is closed.
   */
  bullQueue(): Promise<Queue<DistillJobData, JobResult>> {
    if (this.closed) return Promise.reject(new JobsUnavailableError('the job service is closed'));
    if (this.queue) return this.queue;
    const created = import('bullmq').then(({ Queue }) => {
      const queue = new Queue<DistillJobData, JobResult>(this.names.queue, {
        connection: this.redis,
        prefix: this.names.bullPrefix,
        defaultJobOptions: {
          attempts: this.opts.queue.jobAttempts,
          backoff: { type: 'exponential', delay: this.opts.queue.jobBackoffMs },
          removeOnComplete: false,
          removeOnFail: false,
        },
      });
      queue.on('error', (err) => this.opts.onRedisError?.(err));
      return queue;
    });
    this.queue = created;
    // A failed import or construction is tried again by the next call, not kept until a restart.
    created.catch(() => {
      if (this.queue === created) this.queue = undefined;
    });
    return this.queue;
  }

  isAvailable(): boolean {
    return isRedisReady(this.redis);
  }

  /**
   * Tell every API replica that a model's state.json changed, so they follow now rather than at
   * their next poll. Best effort: with Redis down the watcher and the poll still get there.
   */
  async announceModelChange(event: ModelEvent): Promise<void> {
    if (this.closed || !this.isAvailable()) return;
    await publishModelEvent(this.redis, this.names.modelEvents, event).catch(() => {});
  }

  private ensureAvailable(): void {
    if (!this.isAvailable()) throw new JobsUnavailableError(`status ${this.redis.status}`);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    this.ensureAvailable();
    try {
      return await fn();
    } catch (err) {
      if (!this.isAvailable()) throw new JobsUnavailableError((err as Error).message);
      throw err;
    }
  }

  /**
   * Resolves a validated spec (JobSpecError when a path or shape is wrong: nothing is queued) and
   * queues it.
   */
  async submit(spec: JobSpec): Promise<JobView> {
    const id = randomUUID();
    const { prepareJob } = await import('../training/distill-job.js');
    await prepareJob(spec, id, this.opts.paths);
    return this.call(async () => {
      const job = await (await this.bullQueue()).add('distill', { spec, submitted_at: new Date().toISOString() }, { jobId: id });
      return this.view(job, 'queued');
    });
  }

  async get(id: string): Promise<JobView> {
    return this.call(async () => {
      const job = await (await this.bullQueue()).getJob(id);
      if (!job) {
        const tomb = await this.redis.hget(this.names.cancelled, id);
        if (tomb) return (JSON.parse(tomb) as CancelRecord).view;
        throw new JobNotFoundError(id);
      }
      return this.viewNow(job);
    });
  }

  async list(opts: { state?: JobState; offset: number; limit: number }): Promise<{ jobs: JobView[]; total: number }> {
    return this.call(async () => {
      const types = opts.state ? BULL_TYPES[opts.state] : (['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed'] as JobType[]);
      const jobs = (await (await this.bullQueue()).getJobs(types, 0, -1, false)).filter((j): j is Job<DistillJobData, JobResult> => Boolean(j));
      const views: JobView[] = [];
      for (const job of jobs) views.push(await this.viewNow(job));
      const queuedCancels = opts.state === undefined || opts.state === 'cancelled' ? await this.queuedCancellations() : [];
      const all = [...views, ...queuedCancels]
        .filter((v) => opts.state === undefined || v.state === opts.state)
        .sort((a, b) => b.created_at.localeCompare(a.created_at));
      return { jobs: all.slice(opts.offset, opts.offset + opts.limit), total: all.length };
    });
  }

  /**
   * Cancels a queued job (removed, kept as a cancelled record) or stops a running one. Cancels of
   * one job take turns in this process. A repeat while the stop is still in progress answers the
   * job again and does nothing new; once the job has ended in any way (completed, failed,
   * cancelled) it is a JobStateError (409). Across API replicas the cancelled-record hash is
   * written once (HSETNX), so only one replica removes or signals.
   */
  async cancel(id: string): Promise<JobView> {
    return this.cancels.run(id, () =>
      this.call(async () => {
        const job = await (await this.bullQueue()).getJob(id);
        if (!job) {
          if (await this.redis.hexists(this.names.cancelled, id)) throw alreadyEnded(id, 'cancelled');
          throw new JobNotFoundError(id);
        }
        const state = await this.stateOf(job);
        if (state === 'completed' || state === 'failed' || state === 'cancelled') throw alreadyEnded(id, state);
        const view = this.view(job, state);
        const now = new Date().toISOString();
        const record: CancelRecord = { view: { ...view, state: 'cancelled', error: CANCELLED_REASON, finished_at: now } };
        const first = (await this.redis.hsetnx(this.names.cancelled, id, JSON.stringify(record))) === 1;
        if (!first) return view;
        if (state === 'queued') {
          try {
            await job.remove();
            return record.view;
          } catch {
            // It was picked up in the meantime: stop it like an active job below.
          }
        }
        await this.redis.publish(this.names.cancel, id);
        return { ...view, state: 'active' };
      }),
    );
  }

  /** The spec as submitted (defaults filled), or null when the job is gone (cancelled while queued). */
  async spec(id: string): Promise<DistillJobData['spec'] | null> {
    return this.call(async () => (await (await this.bullQueue()).getJob(id))?.data?.spec ?? null);
  }

  async logs(id: string, start = 0): Promise<{ logs: string[]; count: number }> {
    return this.call(async () => {
      const { logs, count } = await (await this.bullQueue()).getJobLogs(id, start, -1, true);
      return { logs, count };
    });
  }

  async history(id: string): Promise<HistoryPoint[]> {
    return this.call(async () => {
      const raw = await this.redis.lrange(this.names.history(id), 0, -1);
      return raw.map((r) => JSON.parse(r) as HistoryPoint);
    });
  }

  /** Job counts by BullMQ state, for metrics. */
  async counts(): Promise<Record<string, number>> {
    return this.call(async () => (await this.bullQueue()).getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed'));
  }

  private async queuedCancellations(): Promise<JobView[]> {
    const all = await this.redis.hgetall(this.names.cancelled);
    const out: JobView[] = [];
    for (const [id, raw] of Object.entries(all)) {
      // Active jobs that were cancelled still exist in BullMQ and are listed from there.
      if (await (await this.bullQueue()).getJob(id)) continue;
      out.push((JSON.parse(raw) as CancelRecord).view);
    }
    return out;
  }

  /**
   * The job's view as one consistent picture. A Job object is a snapshot and its state is read
   * after it: a job that ended in between would show "completed" with the snapshot's missing
   * result (seen under load: state completed, result null). An ended job is read again, once
   * its fields are final.
   */
  private async viewNow(job: Job<DistillJobData, JobResult>): Promise<JobView> {
    const state = await this.stateOf(job);
    const ended = state === 'completed' || state === 'failed' || state === 'cancelled';
    const current = ended && !job.finishedOn ? ((await (await this.bullQueue()).getJob(job.id as string)) ?? job) : job;
    return this.view(current, state);
  }

  private async stateOf(job: Job<DistillJobData, JobResult>): Promise<JobState> {
    const s = await job.getState();
    if (s === 'completed') return 'completed';
    if (s === 'failed') {
      // A job whose cancel was asked for ends cancelled however it went down after the request
      // (a worker that lost its lock while the trainer checkpointed fails it with BullMQ's reason).
      if (job.failedReason === CANCELLED_REASON) return 'cancelled';
      return (await this.redis.hexists(this.names.cancelled, job.id as string)) === 1 ? 'cancelled' : 'failed';
    }
    if (s === 'active') return 'active';
    return 'queued';
  }

  private view(job: Job<DistillJobData, JobResult>, state: JobState): JobView {
    // Jobs written by older versions, or added from the queue dashboard, may lack fields or the
    // spec itself: read them defensively.
    const spec = (job.data?.spec ?? {}) as Partial<JobSpec>;
    const progress = typeof job.progress === 'object' && job.progress !== null ? (job.progress as unknown as JobProgress) : null;
    const iso = (ms: number | undefined): string | null => (ms ? new Date(ms).toISOString() : null);
    return {
      id: job.id as string,
      state,
      model: spec.model ?? '',
      task: spec.task ?? '',
      progress,
      result: state === 'completed' ? (job.returnvalue ?? null) : null,
      error: state === 'failed' || state === 'cancelled' ? (job.failedReason ?? null) : null,
      attempts: job.attemptsMade,
      created_at: new Date(job.timestamp).toISOString(),
      started_at: iso(job.processedOn),
      finished_at: state === 'completed' || state === 'failed' || state === 'cancelled' ? iso(job.finishedOn) : null,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await (await this.queue)?.close();
    } catch {
      // closing while Redis is down must not throw out of shutdown
    }
    try {
      this.redis.disconnect();
    } catch {
      // already gone
    }
  }
}

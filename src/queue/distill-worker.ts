/**
 * The worker's side of the job queue: takes distillation jobs from BullMQ and runs each through
 * the distill job (trainer process, evaluation, publishing), forwarding progress and logs to the
 * job, keeping a history for the report, and announcing the new version on Redis.
 *
 * Reliability: a job's work dir is keyed by its id, so a retry (after a crash, or another worker
 * picking up a stalled job) resumes from the trainer's last checkpoint. Bad specs and bad data
 * fail at once (UnrecoverableError); crashes retry with backoff. A cancelled job ends as failed
 * with CANCELLED_REASON, which the API reports as "cancelled".
 */
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { InferenceConfig, PathsConfig, QueueConfig, TrainerConfig } from '../config.js';
import { runDistillJob } from '../training/distill-job.js';
import { describeLocation, TrainerStoppedError, TrainingError } from '../training/errors.js';
import { parseJobSpec, upgradeStoredSpec } from '../training/job-spec.js';
import type { TrainerEvent } from '../training/trainer-events.js';
import { trainerWarning } from '../training/trainer-log.js';
import { type EndedOutcome, finishWorkDir, reopenWorkDir, sweepWorkDirs } from '../training/work-dirs.js';
import { CANCELLED_REASON, type DistillJobData, type HistoryPoint, type JobProgress, type JobResult } from './job-types.js';
import { publishModelEvent } from './model-events.js';
import { queueNames, type QueueNames } from './names.js';
import { createRedis } from './redis-connection.js';
import type { WorkerMetrics } from '../metrics.js';

const HISTORY_CAP = 5000;
/** Progress is forwarded at most this often per job; the trainer may report every step. */
const PROGRESS_INTERVAL_MS = 1000;
/** How often ended jobs' work folders past WORK_RETENTION_HOURS are looked for. */
const SWEEP_INTERVAL_MS = 10 * 60_000;

export interface DistillWorkerOptions {
  queue: QueueConfig;
  paths: PathsConfig;
  trainer: TrainerConfig;
  /** Inference settings for scoring the outputs through the serving code. */
  inference?: InferenceConfig;
  logger: Logger;
  metrics?: WorkerMetrics;
}

export class DistillWorker {
  readonly names: QueueNames;
  private readonly worker: Worker<DistillJobData, JobResult>;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  /** Running jobs of this worker, so a cancel message can stop the right trainer. */
  private readonly running = new Map<string, AbortController>();
  private closing: Promise<void> | undefined;
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(private readonly opts: DistillWorkerOptions) {
    this.names = queueNames(opts.queue.prefix);
    const onError = (err: Error): void => opts.logger.warn({ err: err.message }, 'redis error');
    this.redis = createRedis(opts.queue.redisUrl, 'worker', onError);
    this.subscriber = createRedis(opts.queue.redisUrl, 'subscriber', onError);
    void this.subscriber.subscribe(this.names.cancel).catch(onError);
    this.subscriber.on('message', (_channel: string, jobId: string) => {
      const controller = this.running.get(jobId);
      if (controller) {
        opts.logger.info({ jobId }, 'cancel requested: stopping the trainer');
        controller.abort();
      }
    });
    this.worker = new Worker<DistillJobData, JobResult>(this.names.queue, (job) => this.process(job), {
      connection: createRedis(opts.queue.redisUrl, 'worker', onError),
      prefix: this.names.bullPrefix,
      concurrency: opts.queue.workerConcurrency,
      lockDuration: opts.queue.jobLockMs,
      stalledInterval: opts.queue.stalledIntervalMs,
      // A job whose worker died twice is still worth a third try: it resumes from its checkpoint.
      maxStalledCount: 2,
      autorun: true,
    });
    this.worker.on('error', onError);
    this.worker.on('failed', (job, err) => {
      if (!job) return;
      opts.logger.warn({ jobId: job.id, attempt: job.attemptsMade, err: err.message }, 'job attempt failed');
    });
    void this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** Removes work folders of jobs that ended more than WORK_RETENTION_HOURS ago. */
  async sweep(): Promise<string[]> {
    try {
      const removed = await sweepWorkDirs({ paths: this.opts.paths, retentionHours: this.opts.queue.workRetentionHours });
      if (removed.length) this.opts.logger.info({ removed, retentionHours: this.opts.queue.workRetentionHours }, 'removed work folders of ended jobs');
      return removed;
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'could not sweep the work folder');
      return [];
    }
  }

  private async finishWorkDir(jobId: string, outcome: EndedOutcome): Promise<void> {
    try {
      await finishWorkDir({ paths: this.opts.paths, jobId, outcome, retentionHours: this.opts.queue.workRetentionHours });
    } catch (err) {
      this.opts.logger.warn({ jobId, err: (err as Error).message }, 'could not clean up the job work folder');
    }
  }

  /** Resolves once the worker is connected and taking jobs. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  private async isCancelled(jobId: string): Promise<boolean> {
    return (await this.redis.hexists(this.names.cancelled, jobId)) === 1;
  }

  private async pushHistory(jobId: string, point: HistoryPoint): Promise<void> {
    const key = this.names.history(jobId);
    await this.redis.multi().rpush(key, JSON.stringify(point)).ltrim(key, -HISTORY_CAP, -1).exec();
  }

  private async process(job: Job<DistillJobData, JobResult>): Promise<JobResult> {
    const jobId = job.id as string;
    const log = this.opts.logger.child({ jobId });
    if (await this.isCancelled(jobId)) throw new UnrecoverableError(CANCELLED_REASON);
    const controller = new AbortController();
    this.running.set(jobId, controller);
    await reopenWorkDir(this.opts.paths, jobId).catch(() => undefined);
    const started = Date.now();
    let lastProgress = 0;
    const forward = (event: TrainerEvent): void => {
      const t = Date.now();
      // Events are forwarded without awaiting: a slow Redis must not stall the trainer's pipe.
      const swallow = (err: Error): void => log.warn({ err: err.message }, 'could not record job event');
      switch (event.type) {
        case 'progress': {
          this.opts.metrics?.stepRate.set({ stage: event.stage }, event.steps_per_sec);
          if (t - lastProgress < PROGRESS_INTERVAL_MS && event.step !== event.total) return;
          lastProgress = t;
          const progress: JobProgress = {
            stage: event.stage,
            epoch: event.epoch,
            step: event.step,
            total: event.total,
            losses: event.losses,
            steps_per_sec: event.steps_per_sec,
            eta_s: event.eta_s,
          };
          void job.updateProgress(progress as unknown as object).catch(swallow);
          void this.pushHistory(jobId, {
            kind: 'progress',
            t,
            stage: event.stage,
            step: event.step,
            total: event.total,
            epoch: event.epoch,
            losses: event.losses,
          }).catch(swallow);
          return;
        }
        case 'eval':
          void this.pushHistory(jobId, { kind: 'eval', t, stage: event.stage, step: event.step, role: event.role, metrics: event.metrics }).catch(swallow);
          void job.log(`eval ${event.stage} ${event.role} ${JSON.stringify(event.metrics)}`).catch(swallow);
          return;
        case 'stage':
          void this.pushHistory(jobId, { kind: 'stage', t, stage: event.stage, status: event.status }).catch(swallow);
          void job.log(`stage ${event.stage} ${event.status}${event.reason ? ` (${event.reason})` : ''}`).catch(swallow);
          return;
        case 'start':
          void job
            .log(
              `trainer started on ${event.device} (${event.precision}, torch ${event.torch})${event.resumed_from ? ` resuming ${event.resumed_from.stage} at step ${event.resumed_from.step}` : ''}`,
            )
            .catch(swallow);
          return;
        case 'checkpoint':
          void job.log(`checkpoint ${event.stage} step ${event.step}`).catch(swallow);
          return;
        case 'error':
          void job.log(`error: ${event.message}${describeLocation(event)}`).catch(swallow);
          return;
        default:
          return;
      }
    };
    try {
      const result = await runDistillJob({
        // Redis is a process boundary: the data is checked here once, whatever wrote it. A job
        // queued under an earlier version may carry what this one refuses from users (a retired
        // field as a filled-in default, QA window sizes on a classification job).
        spec: parseJobSpec(upgradeStoredSpec(job.data.spec)),
        jobId,
        paths: this.opts.paths,
        trainer: this.opts.trainer,
        ...(this.opts.inference ? { evaluation: { inference: this.opts.inference } } : {}),
        signal: controller.signal,
        onEvent: forward,
        onLog: (line) => {
          const warning = trainerWarning(line);
          if (warning === null) {
            log.debug({ trainer: line });
            return;
          }
          // A warning is about the job's input (tensors ignored, a vocabulary's case): its submitter reads the job log.
          log.warn({ trainer: warning });
          void job.log(`trainer warning: ${warning}`).catch(() => undefined);
        },
        onPhase: (phase, detail) => {
          void job.updateProgress({ stage: phase } satisfies JobProgress as unknown as object).catch(() => undefined);
          void job.log(`${phase}: ${detail}`).catch(() => undefined);
        },
      });
      await job.log(result.gate.reason);
      await publishModelEvent(this.redis, this.names.modelEvents, {
        type: 'published',
        model: result.model,
        version: result.version,
        active: result.gate.activated,
        job_id: jobId,
      });
      this.opts.metrics?.jobs.inc({ type: 'distill', state: 'completed' });
      this.opts.metrics?.jobDuration.observe({ type: 'distill', state: 'completed' }, (Date.now() - started) / 1000);
      log.info({ model: result.model, version: result.version, gate: result.gate.reason }, 'job completed');
      await this.finishWorkDir(jobId, 'completed');
      return { model: result.model, version: result.version, metrics: result.metrics, gate: result.gate };
    } catch (err) {
      // A cancel the user asked for ends the job cancelled however the trainer ended after the
      // SIGTERM (stopped, killed after the grace period, or an error raised while it was stopping);
      // a stop without one (worker shutdown) leaves it to be retried from its checkpoint.
      const cancelled = (err instanceof TrainerStoppedError || controller.signal.aborted) && (await this.isCancelled(jobId).catch(() => false));
      const final = cancelled || (err instanceof TrainingError && !err.retryable) || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (final) {
        const state = cancelled ? 'cancelled' : 'failed';
        this.opts.metrics?.jobs.inc({ type: 'distill', state });
        this.opts.metrics?.jobDuration.observe({ type: 'distill', state }, (Date.now() - started) / 1000);
        await this.finishWorkDir(jobId, state);
      }
      if (cancelled) throw new UnrecoverableError(CANCELLED_REASON);
      if (err instanceof TrainingError && !err.retryable) throw new UnrecoverableError(`${err.code}: ${err.message}`);
      throw err;
    } finally {
      this.running.delete(jobId);
    }
  }

  /**
   * Stops taking jobs; running trainers get SIGTERM (they checkpoint and exit) and their jobs are
   * retried later, by this worker or another, from that checkpoint. Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sweepTimer);
      for (const controller of this.running.values()) controller.abort();
      try {
        await this.worker.close();
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'closing the worker');
      }
      for (const r of [this.subscriber, this.redis]) {
        try {
          r.disconnect();
        } catch {
          // already closed
        }
      }
    })();
    return this.closing;
  }
}

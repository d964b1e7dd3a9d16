/** Every Redis name the job system uses, derived from QUEUE_PREFIX so deployments can share a Redis. */
export interface QueueNames {
  /** BullMQ prefix for the queue's keys. */
  bullPrefix: string;
  /** The distillation queue. */
  queue: string;
  /** Pub/sub channel: a model version was published or activated. */
  modelEvents: string;
  /** Pub/sub channel: stop this running job. */
  cancel: string;
  /** Hash: job id -> cancellation record. */
  cancelled: string;
  /** List per job: progress and eval points for the report. */
  history: (jobId: string) => string;
}

export function queueNames(prefix: string): QueueNames {
  return {
    bullPrefix: prefix,
    queue: 'distill',
    modelEvents: `${prefix}:model-events`,
    cancel: `${prefix}:cancel`,
    cancelled: `${prefix}:cancelled`,
    history: (jobId) => `${prefix}:history:${jobId}`,
  };
}

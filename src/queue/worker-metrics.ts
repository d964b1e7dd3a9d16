/** Metrics of a training worker, on the worker's own /metrics listener. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface WorkerMetrics {
  jobs: Counter<'type' | 'state'>;
  jobDuration: Histogram<'type' | 'state'>;
  stepRate: Gauge<'stage'>;
}

export function createWorkerMetrics(registry: Registry, prefix: string): WorkerMetrics {
  return {
    jobs: new Counter({
      name: `${prefix}jobs_total`,
      help: 'Jobs that reached a final state, by type and state (completed, failed, cancelled)',
      labelNames: ['type', 'state'],
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: `${prefix}job_duration_seconds`,
      help: 'Wall time of a job attempt from start to final state',
      labelNames: ['type', 'state'],
      buckets: [10, 30, 60, 120, 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 86400],
      registers: [registry],
    }),
    stepRate: new Gauge({
      name: `${prefix}trainer_steps_per_second`,
      help: "The running trainer's latest optimisation step rate, by stage",
      labelNames: ['stage'],
      registers: [registry],
    }),
  };
}

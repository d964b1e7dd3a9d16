/**
 * Every Prometheus metric of Distillery, defined in one place.
 *
 * Names start with `distillery_`, labels stay low-cardinality (model, version, bucket, reason,
 * route), and every histogram has explicit buckets: geometric for durations, powers of two for
 * rows and tokens. Metrics live on their own Registry (not prom-client's global) so each test can
 * build a fresh set and a process can expose exactly one.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRIC_PREFIX = 'distillery_';

/** `count` values from `start`, each `factor` times the previous (rounded to 6 significant digits). */
export function geometricBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Number((start * factor ** i).toPrecision(6)));
}

/** Powers of two from 1 up to and including `max`. */
export function powersOfTwo(max: number): number[] {
  const out: number[] = [];
  for (let v = 1; v <= max; v *= 2) out.push(v);
  return out;
}

/** 0.5 ms .. ~33 s: HTTP requests, queue waits, batch compute. */
const DURATION_BUCKETS = geometricBuckets(0.0005, 2, 17);
/** 50 ms .. ~13 min: loading and warming a model version. */
const LOAD_BUCKETS = geometricBuckets(0.05, 2, 14);

export interface MetricsOptions {
  /** Node process metrics (memory, CPU, handles, GC) with the project prefix; default true. */
  defaultMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  /** Recorded by the HTTP server; route is the route pattern, never the raw URL. */
  readonly httpRequestDuration: Histogram<'route' | 'method' | 'status'>;
  readonly queueWait: Histogram<'model'>;
  readonly batchDuration: Histogram<'model' | 'bucket'>;
  readonly batchRows: Histogram<'model'>;
  readonly batchTokens: Histogram<'model'>;
  readonly paddingRatio: Histogram<'model' | 'bucket'>;
  readonly queueDepth: Gauge<'model'>;
  /** reason: queue_full (refused at admission), deadline, aborted (dropped, ideally before compute). */
  readonly requestsDropped: Counter<'model' | 'reason'>;
  readonly inferenceRequests: Counter<'model' | 'task' | 'outcome'>;
  readonly modelVersionInfo: Gauge<'model' | 'version'>;
  readonly modelLoadDuration: Histogram<'model'>;
  readonly modelLoadFailures: Counter<'model' | 'stage'>;
  readonly modelSwaps: Counter<'model'>;
  /** Bytes of the ONNX file of every loaded version (active, pinned, canary), set while it is loaded. */
  readonly modelFileBytes: Gauge<'model' | 'version'>;
  /** ONNX Runtime sessions (each in its own worker thread) of every loaded version. */
  readonly modelSessions: Gauge<'model' | 'version'>;
  readonly eventLoopLag: Gauge;
  /** Unpinned requests by the version and role (active, canary, shadow) that answered or replayed them; outcome ok or error. */
  readonly rolloutRequests: Counter<'model' | 'version' | 'role' | 'outcome'>;
  readonly rolloutDuration: Histogram<'model' | 'version' | 'role'>;
  /** Inputs a shadow version answered the same (agree) or otherwise (disagree) as the active one. */
  readonly shadowComparisons: Counter<'model' | 'version' | 'result'>;
  /** Agreement of a shadow with the active version since its plan started, by metric. */
  readonly shadowAgreement: Gauge<'model' | 'version' | 'metric'>;
  readonly shadowDropped: Counter<'model' | 'version'>;
  /** Running plans: canary weight or shadow sample by candidate version. */
  readonly rolloutPlan: Gauge<'model' | 'version' | 'role'>;
  readonly rolloutDecisions: Counter<'model' | 'role' | 'action'>;
  /** Stops the event-loop monitor; safe to call twice. */
  close(): void;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const p = METRIC_PREFIX;
  const registers = [registry];
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: p });
    // These gauges end in _total, which promtool (rightly) rejects for non-counters; the same
    // numbers remain, split by type, in nodejs_active_{handles,requests,resources}.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      registry.removeSingleMetric(`${p}${name}`);
    }
  }

  // prom-client's default lag gauge samples one setImmediate per scrape; the p99 of a
  // continuous monitor over the scrape interval shows stalls (e.g. a synchronous tokenizer
  // call) that a single sample misses.
  let monitor: IntervalHistogram | undefined = monitorEventLoopDelay({ resolution: 10 });
  monitor.enable();
  const eventLoopLag = new Gauge({
    name: `${p}event_loop_lag_p99_seconds`,
    help: '99th percentile of event-loop delay since the previous scrape, in seconds',
    registers,
    collect() {
      if (!monitor) return;
      const v = monitor.percentile(99) / 1e9;
      this.set(Number.isFinite(v) ? v : 0);
      monitor.reset();
    },
  });

  return {
    registry,
    httpRequestDuration: new Histogram({
      name: `${p}http_request_duration_seconds`,
      help: 'HTTP request duration in seconds by route pattern, method and status code',
      labelNames: ['route', 'method', 'status'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    queueWait: new Histogram({
      name: `${p}queue_wait_seconds`,
      help: 'Time a row waited in the batch queue before its batch started, in seconds',
      labelNames: ['model'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    batchDuration: new Histogram({
      name: `${p}batch_duration_seconds`,
      help: 'Compute time of one batch on the backend, in seconds',
      labelNames: ['model', 'bucket'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    batchRows: new Histogram({
      name: `${p}batch_rows`,
      help: 'Rows in one batch',
      labelNames: ['model'],
      buckets: powersOfTwo(1024),
      registers,
    }),
    batchTokens: new Histogram({
      name: `${p}batch_tokens`,
      help: 'Padded tokens (rows x padded length) in one batch',
      labelNames: ['model'],
      buckets: powersOfTwo(65536),
      registers,
    }),
    paddingRatio: new Histogram({
      name: `${p}batch_padding_ratio`,
      help: 'Real tokens divided by padded tokens in one batch (1 = no padding)',
      labelNames: ['model', 'bucket'],
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1],
      registers,
    }),
    queueDepth: new Gauge({
      name: `${p}queue_depth_rows`,
      help: 'Rows admitted and waiting for a batch, by model',
      labelNames: ['model'],
      registers,
    }),
    requestsDropped: new Counter({
      name: `${p}requests_dropped_total`,
      help: 'Inference requests refused or dropped, by reason (queue_full, deadline, aborted)',
      labelNames: ['model', 'reason'],
      registers,
    }),
    inferenceRequests: new Counter({
      name: `${p}inference_requests_total`,
      help: 'Inference requests handled by the engine, by task and outcome (ok or an error code)',
      labelNames: ['model', 'task', 'outcome'],
      registers,
    }),
    modelVersionInfo: new Gauge({
      name: `${p}model_version_info`,
      help: 'Active version of each served model (value is always 1)',
      labelNames: ['model', 'version'],
      registers,
    }),
    modelLoadDuration: new Histogram({
      name: `${p}model_load_duration_seconds`,
      help: 'Time to load, verify and warm a model version, in seconds',
      labelNames: ['model'],
      buckets: LOAD_BUCKETS,
      registers,
    }),
    modelLoadFailures: new Counter({
      name: `${p}model_load_failures_total`,
      help: 'Model versions that failed to load, by stage (read, verify, tokenizer, session, warmup)',
      labelNames: ['model', 'stage'],
      registers,
    }),
    modelSwaps: new Counter({
      name: `${p}model_swaps_total`,
      help: 'Hot swaps of the active version of a model',
      labelNames: ['model'],
      registers,
    }),
    modelFileBytes: new Gauge({
      name: `${p}model_file_bytes`,
      help: 'Size of the ONNX file of each loaded model version, in bytes (each of its sessions holds the weights once more, prepacked)',
      labelNames: ['model', 'version'],
      registers,
    }),
    modelSessions: new Gauge({
      name: `${p}model_sessions`,
      help: 'ONNX Runtime sessions of each loaded model version, each in its own worker thread with its own memory arena',
      labelNames: ['model', 'version'],
      registers,
    }),
    eventLoopLag,
    rolloutRequests: new Counter({
      name: `${p}rollout_requests_total`,
      help: 'Unpinned requests by version and role (active, canary, shadow) and outcome (ok, error)',
      labelNames: ['model', 'version', 'role', 'outcome'],
      registers,
    }),
    rolloutDuration: new Histogram({
      name: `${p}rollout_request_duration_seconds`,
      help: 'Engine time of unpinned requests by version and role (active, canary, shadow), in seconds',
      labelNames: ['model', 'version', 'role'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    shadowComparisons: new Counter({
      name: `${p}shadow_comparisons_total`,
      help: 'Inputs replayed on a shadow version, by whether it agreed with the active version (top-1 label or exact-match answer)',
      labelNames: ['model', 'version', 'result'],
      registers,
    }),
    shadowAgreement: new Gauge({
      name: `${p}shadow_agreement_ratio`,
      help: 'Agreement of a shadow version with the active one since its plan started, by metric (top1, mean_abs_score_diff, exact_match, token_f1, no_answer)',
      labelNames: ['model', 'version', 'metric'],
      registers,
    }),
    shadowDropped: new Counter({
      name: `${p}shadow_dropped_total`,
      help: 'Sampled requests not replayed on a shadow version because its queue was full',
      labelNames: ['model', 'version'],
      registers,
    }),
    rolloutPlan: new Gauge({
      name: `${p}rollout_plan_share`,
      help: 'Running roll-out plans: canary weight or shadow sample of the candidate version',
      labelNames: ['model', 'version', 'role'],
      registers,
    }),
    rolloutDecisions: new Counter({
      name: `${p}rollout_decisions_total`,
      help: "Roll-out decisions made by this replica from a plan's rules, by action (promoted, aborted, kept)",
      labelNames: ['model', 'role', 'action'],
      registers,
    }),
    close() {
      monitor?.disable();
      monitor = undefined;
    },
  };
}

/** Metrics of a training worker (npm run worker), exposed on its own /metrics listener. */
export interface WorkerMetrics {
  readonly registry: Registry;
  /** Jobs that reached a final state: completed, failed, cancelled. */
  readonly jobs: Counter<'type' | 'state'>;
  readonly jobDuration: Histogram<'type' | 'state'>;
  /** The running trainer's latest optimisation step rate, by stage. */
  readonly stepRate: Gauge<'stage'>;
}

export interface WorkerMetricsOptions {
  /** Job counts by BullMQ state, read at scrape time; a rejection keeps the last values. */
  /** Jobs not finished, by BullMQ state (waiting, delayed, prioritized, active). */
  unfinishedJobCounts: () => Promise<Record<string, number>>;
}

export function createWorkerMetrics({ unfinishedJobCounts }: WorkerMetricsOptions): WorkerMetrics {
  const registry = new Registry();
  const p = METRIC_PREFIX;
  collectDefaultMetrics({ register: registry, prefix: p });
  new Gauge({
    name: `${p}job_queue_depth`,
    help: 'Jobs waiting for or held by a worker, by BullMQ state (finished jobs are not counted)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      try {
        for (const [state, n] of Object.entries(await unfinishedJobCounts())) this.set({ state }, n);
      } catch {
        // Redis down: keep the last values rather than failing the scrape.
      }
    },
  });
  return {
    registry,
    jobs: new Counter({
      name: `${p}jobs_total`,
      help: 'Jobs that reached a final state, by type and state (completed, failed, cancelled)',
      labelNames: ['type', 'state'],
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: `${p}job_duration_seconds`,
      help: 'Wall time of a job attempt from start to final state',
      labelNames: ['type', 'state'],
      // 10 s .. ~1 day, geometric: tiny smoke jobs to full distillation runs.
      buckets: geometricBuckets(10, 2, 14),
      registers: [registry],
    }),
    stepRate: new Gauge({
      name: `${p}trainer_steps_per_second`,
      help: "The running trainer's latest optimisation step rate, by stage",
      labelNames: ['stage'],
      registers: [registry],
    }),
  };
}

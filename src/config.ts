/**
 * Every setting of Distillery, read once from the environment and validated at start-up.
 *
 * Each field is documented in README.md ("Configuration"). A bad value stops start-up with a
 * ConfigError that names the variable and says what to change; nothing reads process.env
 * elsewhere.
 */
import os from 'node:os';
import path from 'node:path';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

/** Small typed readers: each names the variable in its error so the operator knows what to fix. */
export class EnvReader {
  constructor(private readonly env: Env) {}

  string(name: string, fallback: string): string {
    const raw = this.env[name];
    return raw === undefined || raw.trim() === '' ? fallback : raw.trim();
  }

  optionalString(name: string): string | undefined {
    const raw = this.env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value)) {
      throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a whole number; set it to an integer such as ${fallback}`);
    }
    return checkRange(name, value, range);
  }

  number(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value)) {
      throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a number; set it to a number such as ${fallback}`);
    }
    return checkRange(name, value, range);
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a boolean; use true or false`);
  }

  list(name: string, fallback: readonly string[] = []): string[] {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return [...fallback];
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }

  intList(name: string, fallback: readonly number[]): number[] {
    const items = this.list(name, fallback.map(String));
    return items.map((item) => {
      const value = Number(item);
      if (!Number.isInteger(value) || value <= 0) {
        throw new ConfigError(`${name} must be a comma-separated list of positive integers (got ${JSON.stringify(item)})`);
      }
      return value;
    });
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name, fallback);
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new ConfigError(`${name}=${JSON.stringify(raw)} is not one of ${allowed.join(', ')}`);
    }
    return raw as T;
  }
}

function checkRange(name: string, value: number, range: { min?: number; max?: number }): number {
  if (range.min !== undefined && value < range.min) {
    throw new ConfigError(`${name}=${value} is below the minimum ${range.min}`);
  }
  if (range.max !== undefined && value > range.max) {
    throw new ConfigError(`${name}=${value} is above the maximum ${range.max}`);
  }
  return value;
}

export interface PathsConfig {
  /** Model registry root (MODEL_DIR). */
  modelDir: string;
  /** Root that every data path of a job spec is resolved inside (DATA_DIR). */
  dataDir: string;
  /** Scratch space for jobs: checkpoints, staged artifacts (WORK_DIR). */
  workDir: string;
}

export interface TrainerConfig {
  /** Interpreter that runs the PyTorch trainer (TRAINER_PYTHON). */
  python: string;
  /** Hard limit on one trainer run, in seconds (TRAINER_TIMEOUT_S). */
  timeoutS: number;
  /** Grace period between SIGTERM and SIGKILL when stopping a trainer (TRAINER_KILL_GRACE_MS). */
  killGraceMs: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The HTTP server: where it listens, who may call it, and how much one request may ask for. */
export interface ServerConfig {
  /** TCP port (PORT, default 8080; 0 picks a free port). */
  port: number;
  /** Interface to bind (HOST, default 0.0.0.0). */
  host: string;
  /** Bearer keys for inference routes (API_KEYS, comma-separated). Empty: inference is open. */
  apiKeys: string[];
  /** Bearer keys for admin routes; they also work for inference (ADMIN_API_KEYS). Empty: admin refused. */
  adminApiKeys: string[];
  /** Largest request body accepted, in bytes; more is answered 413 (BODY_LIMIT_BYTES). */
  bodyLimitBytes: number;
  /**
   * How long a request may take to arrive in full, headers and body, in ms (REQUEST_TIMEOUT_MS,
   * default 30000); a slower one is answered 408 and its connection closed. Fastify turns Node's
   * 300 s default off, so without it a client that sends headers and never finishes its body held
   * its socket open indefinitely (and held up a graceful shutdown for SHUTDOWN_GRACE_MS).
   */
  requestTimeoutMs: number;
  /** Most inputs in one classify or QA request (MAX_INPUTS_PER_REQUEST). */
  maxInputsPerRequest: number;
  /** Longest text, text_pair, question or context, in characters (MAX_TEXT_CHARS). */
  maxTextChars: number;
  /** Largest top_k a request may ask for (MAX_TOP_K). */
  maxTopK: number;
  /** Largest max_answer_length (in tokens) a QA request may ask for (MAX_ANSWER_LENGTH). */
  maxAnswerLength: number;
  /**
   * Largest deadline a client may ask for with x-request-deadline-ms (MAX_DEADLINE_MS, default
   * 60000). Requests without the header get the engine's REQUEST_DEADLINE_MS.
   */
  maxDeadlineMs: number;
  /** pino level (LOG_LEVEL, default info). */
  logLevel: LogLevel;
  /** How long shutdown waits for in-flight requests before closing anyway (SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
}

/**
 * ONNX Runtime's memory behaviour per session. Our inputs have dynamic shapes (rows x bucket
 * length), which is where ONNX Runtime's defaults cost resident memory: see docs/benchmarks.md
 * (memory) for what each costs and saves with the bundled models.
 */
export interface OrtMemoryOptions {
  /**
   * The CPU arena (ORT_CPU_MEM_ARENA): a per-session pool that grows to the largest batch's
   * tensors and never gives memory back. Off, tensors are allocated and freed per run.
   */
  cpuMemArena: boolean;
  /**
   * Memory patterns (ORT_MEM_PATTERN, default false): ONNX Runtime plans one block per input
   * shape it has seen and caches it; with our many bucket x rows shapes that raised the peak
   * after a mixed load by about 150 MiB, for no measurable speed (same time per batch, A/B).
   */
  memPattern: boolean;
  /**
   * Weight prepacking (ORT_PREPACKING; session.disable_prepacking when false): MatMul weights
   * re-laid out once for the kernels, kept beside the original weights.
   */
  prepacking: boolean;
}

/**
 * The inference engine (src/inference): sessions, batching, admission, registry watching.
 * Per-request input limits (MAX_INPUTS_PER_REQUEST, MAX_TEXT_CHARS, MAX_TOP_K) live in
 * ServerConfig; the engine only bounds what depends on the model (windows, queue, batch).
 */
export interface InferenceConfig {
  /**
   * ONNX Runtime sessions per loaded model version, each in its own thread running one batch at a
   * time (SESSIONS_PER_MODEL, default: one per CPU core, at most 8; 2 with CUDA, where each session
   * holds its own GPU memory and two keep the GPU busy while one batch is copied). For models of this size
   * independent single-threaded sessions beat one session with many threads: measured on 2
   * cores, in-process on ideal batches, 2 x 1 thread gave 2245 rows/s, 1 x 2 threads 1440.
   */
  sessionsPerModel: number;
  /** Threads inside one operator per session (INTRA_OP_THREADS, default: CPU cores / SESSIONS_PER_MODEL, at least 1). */
  intraOpThreads: number;
  /** Threads running independent operators in parallel per session (INTER_OP_THREADS, default 1). */
  interOpThreads: number;
  /**
   * Whether ONNX Runtime's intra-op threads busy-wait for work between operators (INTRA_OP_SPINNING,
   * default false). Spinning saves microseconds per operator when the cores are ONNX Runtime's
   * alone; in a server they are shared with the event loop, and a spinning thread takes the core
   * that would read, tokenize and answer the next requests.
   */
  intraOpSpinning: boolean;
  /**
   * Nice value of the threads that run ONNX Runtime sessions (SESSION_THREAD_NICENESS, 0-19,
   * default 10; 0 = leave alone; Linux only). Batches are throughput work, the event loop is
   * latency work: when they compete for cores, the event loop that reads requests, tokenizes and
   * answers should win, or the sessions starve for the rows it has not yet queued.
   */
  sessionThreadNiceness: number;
  /** How ONNX Runtime sessions hold memory (ORT_CPU_MEM_ARENA, ORT_MEM_PATTERN, ORT_PREPACKING); see OrtMemoryOptions. */
  ortMemory: OrtMemoryOptions;
  /** Execution providers in order of preference (EXECUTION_PROVIDERS: cpu, or cuda = CUDA with CPU fallback; default cpu). */
  executionProviders: Array<'cpu' | 'cuda'>;
  /** Length bucket edges in tokens, increasing (BUCKETS, default 8,12,16,24,32,48,64,128,256,512: fine at the short end, where chat traffic is). A row joins the smallest bucket that holds it. */
  buckets: number[];
  /**
   * Token budget of one batch, padded length x rows (MAX_BATCH_TOKENS, default 512, the largest
   * default bucket; at least the largest bucket). Each session's ONNX Runtime arena grows to the
   * largest batch it has run and keeps it: with the bundled models (4 sessions) 512 holds 149 MiB
   * less than 2048 at idle and 143 MiB less at peak, while 4 x 128 QA rows ran no slower per row
   * than 16 x 128 and the serving bench kept its throughput with a lower p99 (docs/benchmarks.md,
   * memory).
   */
  maxBatchTokens: number;
  /** Rows in one batch at most (MAX_BATCH_ROWS, default 32). */
  maxBatchRows: number;
  /** How long a partial batch may wait for more rows while another batch computes, in ms (MAX_BATCH_DELAY_MS, default 2; 0 = never wait). With every session idle a batch runs at once. */
  maxBatchDelayMs: number;
  /** Rows waiting per model version before new requests are refused with queue_full (MAX_QUEUED_ROWS, default 1024). */
  maxQueuedRows: number;
  /** Deadline of a request that names none, in ms (REQUEST_DEADLINE_MS, default 10000). The HTTP server passes its own. */
  requestDeadlineMs: number;
  /** Windows one QA input may produce at most; bounds the compute of one long context (MAX_QA_WINDOWS, default 64). */
  maxQaWindows: number;
  /** Registry poll period in ms, the fallback when file-system events are missed (REGISTRY_POLL_MS, default 5000; 0 = no polling). */
  registryPollMs: number;
  /** Watch MODEL_DIR with fs.watch for new versions and state.json changes (REGISTRY_WATCH, default true). */
  registryWatch: boolean;
  /**
   * Requests waiting to be replayed on a shadow version before new samples are dropped and
   * counted (SHADOW_MAX_QUEUED, default 64). Shadow work runs one request at a time, only while
   * the active version has nothing queued, so it never delays live batches.
   */
  shadowMaxQueued: number;
  /** Nice value of a shadow version's session thread (SHADOW_THREAD_NICENESS, 0-19, default 19): it loses the cores to live work. */
  shadowThreadNiceness: number;
  /** Extra (non-active) versions kept loaded for requests that pin one (MAX_PINNED_VERSIONS, default 2; 0 = pinning refused). */
  maxPinnedVersions: number;
  /** Warm every bucket with real forward passes before a version serves (WARMUP, default true). */
  warmup: boolean;
}

/** The job queue (BullMQ on Redis) and its workers. */
export interface QueueConfig {
  /** Mount the /v1/jobs routes and listen for model events in the API (JOBS_ENABLED, default true). */
  enabled: boolean;
  /** Redis holding the job queue and the model-published channel (REDIS_URL, default redis://127.0.0.1:6379). */
  redisUrl: string;
  /** Prefix of every Redis key and channel, so deployments can share a Redis (QUEUE_PREFIX, default distillery). */
  prefix: string;
  /** Jobs one worker runs at once; one per GPU (WORKER_CONCURRENCY, default 1). */
  workerConcurrency: number;
  /** Tries of a job whose trainer crashed; each resumes from the last checkpoint (JOB_ATTEMPTS, default 3). */
  jobAttempts: number;
  /** First retry delay, doubled each time (JOB_BACKOFF_MS, default 10000). */
  jobBackoffMs: number;
  /** How long a worker's lock on a job lasts without renewal; a dead worker's job is recovered after it (JOB_LOCK_MS, default 30000). */
  jobLockMs: number;
  /** How often workers look for stalled jobs (JOB_STALLED_INTERVAL_MS, default 30000). */
  stalledIntervalMs: number;
  /** Port of the worker's /metrics listener (WORKER_METRICS_PORT, default 9464; 0 picks a free one). */
  workerMetricsPort: number;
  /** Interface of the worker's /metrics listener (WORKER_METRICS_HOST, default 0.0.0.0). */
  workerMetricsHost: string;
  /**
   * Hours a failed or cancelled job's work folder (checkpoints, outputs) is kept for a look
   * before it is removed; a completed job's goes at once (WORK_RETENTION_HOURS, default 24; 0 = at once).
   */
  workRetentionHours: number;
}

export interface AppConfig {
  paths: PathsConfig;
  trainer: TrainerConfig;
  server: ServerConfig;
  inference: InferenceConfig;
  queue: QueueConfig;
}

export function loadQueueConfig(r: EnvReader): QueueConfig {
  const redisUrl = r.string('REDIS_URL', 'redis://127.0.0.1:6379');
  if (!/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError(`REDIS_URL=${JSON.stringify(redisUrl)} must start with redis:// or rediss://`);
  }
  const prefix = r.string('QUEUE_PREFIX', 'distillery');
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) {
    throw new ConfigError(`QUEUE_PREFIX=${JSON.stringify(prefix)} may hold only letters, digits, _ and -`);
  }
  const jobLockMs = r.int('JOB_LOCK_MS', 30_000, { min: 1000 });
  const stalledIntervalMs = r.int('JOB_STALLED_INTERVAL_MS', 30_000, { min: 1000 });
  return {
    enabled: r.bool('JOBS_ENABLED', true),
    redisUrl,
    prefix,
    workerConcurrency: r.int('WORKER_CONCURRENCY', 1, { min: 1, max: 64 }),
    jobAttempts: r.int('JOB_ATTEMPTS', 3, { min: 1, max: 100 }),
    jobBackoffMs: r.int('JOB_BACKOFF_MS', 10_000, { min: 0 }),
    jobLockMs,
    stalledIntervalMs,
    workerMetricsPort: r.int('WORKER_METRICS_PORT', 9464, { min: 0, max: 65_535 }),
    workerMetricsHost: r.string('WORKER_METRICS_HOST', '0.0.0.0'),
    workRetentionHours: r.number('WORK_RETENTION_HOURS', 24, { min: 0, max: 24 * 365 }),
  };
}

export function loadPathsConfig(r: EnvReader, cwd = process.cwd()): PathsConfig {
  return {
    modelDir: path.resolve(cwd, r.string('MODEL_DIR', './models')),
    dataDir: path.resolve(cwd, r.string('DATA_DIR', './data')),
    workDir: path.resolve(cwd, r.string('WORK_DIR', './.work')),
  };
}

export function loadTrainerConfig(r: EnvReader): TrainerConfig {
  return {
    python: r.string('TRAINER_PYTHON', '/usr/bin/python3'),
    timeoutS: r.int('TRAINER_TIMEOUT_S', 24 * 3600, { min: 1 }),
    killGraceMs: r.int('TRAINER_KILL_GRACE_MS', 30_000, { min: 0 }),
  };
}

/** A key shorter than this is too easy to guess; refusing it at start-up beats a weak deployment. */
const MIN_API_KEY_CHARS = 16;

function readKeys(r: EnvReader, name: string): string[] {
  const keys = r.list(name);
  for (const key of keys) {
    if (key.length < MIN_API_KEY_CHARS) {
      throw new ConfigError(
        `${name} holds a key of ${key.length} characters; use keys of at least ${MIN_API_KEY_CHARS} characters (e.g. openssl rand -hex 24)`,
      );
    }
  }
  return keys;
}

export function loadServerConfig(r: EnvReader): ServerConfig {
  return {
    port: r.int('PORT', 8080, { min: 0, max: 65_535 }),
    host: r.string('HOST', '0.0.0.0'),
    apiKeys: readKeys(r, 'API_KEYS'),
    adminApiKeys: readKeys(r, 'ADMIN_API_KEYS'),
    bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 1_048_576, { min: 1024, max: 1_073_741_824 }),
    requestTimeoutMs: r.int('REQUEST_TIMEOUT_MS', 30_000, { min: 1000, max: 3_600_000 }),
    maxInputsPerRequest: r.int('MAX_INPUTS_PER_REQUEST', 64, { min: 1, max: 100_000 }),
    maxTextChars: r.int('MAX_TEXT_CHARS', 20_000, { min: 1, max: 10_000_000 }),
    maxTopK: r.int('MAX_TOP_K', 20, { min: 1, max: 1000 }),
    maxAnswerLength: r.int('MAX_ANSWER_LENGTH', 64, { min: 1, max: 512 }),
    maxDeadlineMs: r.int('MAX_DEADLINE_MS', 60_000, { min: 1, max: 3_600_000 }),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    shutdownGraceMs: r.int('SHUTDOWN_GRACE_MS', 10_000, { min: 0, max: 600_000 }),
  };
}

export function loadInferenceConfig(r: EnvReader, cpus = os.availableParallelism()): InferenceConfig {
  const executionProviders = r.list('EXECUTION_PROVIDERS', ['cpu']).map((p) => {
    if (p !== 'cpu' && p !== 'cuda') {
      throw new ConfigError(`EXECUTION_PROVIDERS contains ${JSON.stringify(p)}; use cpu, or cuda (CUDA with CPU fallback)`);
    }
    return p;
  });
  const defaultSessions = executionProviders.includes('cuda') ? 2 : Math.min(8, Math.max(1, cpus));
  const sessionsPerModel = r.int('SESSIONS_PER_MODEL', defaultSessions, { min: 1, max: 64 });
  // CUDA alone would fail on any operator it lacks: CPU is always the last resort.
  if (!executionProviders.includes('cpu')) executionProviders.push('cpu');
  const config: InferenceConfig = {
    sessionsPerModel,
    intraOpThreads: r.int('INTRA_OP_THREADS', Math.max(1, Math.floor(cpus / sessionsPerModel)), { min: 1, max: 256 }),
    interOpThreads: r.int('INTER_OP_THREADS', 1, { min: 1, max: 256 }),
    intraOpSpinning: r.bool('INTRA_OP_SPINNING', false),
    sessionThreadNiceness: r.int('SESSION_THREAD_NICENESS', 10, { min: 0, max: 19 }),
    ortMemory: {
      cpuMemArena: r.bool('ORT_CPU_MEM_ARENA', true),
      memPattern: r.bool('ORT_MEM_PATTERN', false),
      prepacking: r.bool('ORT_PREPACKING', true),
    },
    executionProviders,
    buckets: r.intList('BUCKETS', [8, 12, 16, 24, 32, 48, 64, 128, 256, 512]),
    maxBatchTokens: r.int('MAX_BATCH_TOKENS', 512, { min: 1 }),
    maxBatchRows: r.int('MAX_BATCH_ROWS', 32, { min: 1, max: 4096 }),
    maxBatchDelayMs: r.number('MAX_BATCH_DELAY_MS', 2, { min: 0, max: 10_000 }),
    maxQueuedRows: r.int('MAX_QUEUED_ROWS', 1024, { min: 1 }),
    requestDeadlineMs: r.int('REQUEST_DEADLINE_MS', 10_000, { min: 1 }),
    maxQaWindows: r.int('MAX_QA_WINDOWS', 64, { min: 1 }),
    registryPollMs: r.int('REGISTRY_POLL_MS', 5000, { min: 0 }),
    registryWatch: r.bool('REGISTRY_WATCH', true),
    maxPinnedVersions: r.int('MAX_PINNED_VERSIONS', 2, { min: 0, max: 64 }),
    warmup: r.bool('WARMUP', true),
    shadowMaxQueued: r.int('SHADOW_MAX_QUEUED', 64, { min: 1, max: 100_000 }),
    shadowThreadNiceness: r.int('SHADOW_THREAD_NICENESS', 19, { min: 0, max: 19 }),
  };
  validateInferenceConfig(config);
  return config;
}

/** Settings each valid alone but contradicting one another: stop and say which to change. */
export function validateInferenceConfig(c: InferenceConfig): void {
  if (c.buckets.length === 0) throw new ConfigError('BUCKETS must name at least one length, e.g. 16,32,64,128,256,512');
  for (let i = 1; i < c.buckets.length; i++) {
    if (c.buckets[i]! <= c.buckets[i - 1]!) {
      throw new ConfigError(`BUCKETS must be strictly increasing (got ${c.buckets.join(',')})`);
    }
  }
  const largest = c.buckets[c.buckets.length - 1]!;
  if (c.maxBatchTokens < largest) {
    throw new ConfigError(
      `MAX_BATCH_TOKENS=${c.maxBatchTokens} is smaller than the largest bucket (${largest}), so a full-length row could never run; raise MAX_BATCH_TOKENS to at least ${largest} or lower BUCKETS`,
    );
  }
  if (c.maxQueuedRows < c.maxBatchRows) {
    throw new ConfigError(
      `MAX_QUEUED_ROWS=${c.maxQueuedRows} is below MAX_BATCH_ROWS=${c.maxBatchRows}, so batches could never fill; raise MAX_QUEUED_ROWS or lower MAX_BATCH_ROWS`,
    );
  }
  if (c.maxQaWindows > c.maxQueuedRows) {
    throw new ConfigError(
      `MAX_QA_WINDOWS=${c.maxQaWindows} is above MAX_QUEUED_ROWS=${c.maxQueuedRows}, so one long context could never be admitted; lower MAX_QA_WINDOWS or raise MAX_QUEUED_ROWS`,
    );
  }
}

export function loadConfig(env: Env = process.env, cwd = process.cwd()): AppConfig {
  const r = new EnvReader(env);
  return {
    paths: loadPathsConfig(r, cwd),
    trainer: loadTrainerConfig(r),
    server: loadServerConfig(r),
    inference: loadInferenceConfig(r),
    queue: loadQueueConfig(r),
  };
}

/**
 * For process entry points (server, worker, CLI): the configuration, or the ConfigError's message
 * on stderr and exit, so a bad setting reads as one line that names it rather than a stack trace.
 */
export function loadConfigOrExit(exitCode = 1, env: Env = process.env): AppConfig {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`distillery: bad setting: ${err.message}\n`);
      process.exit(exitCode);
    }
    throw err;
  }
}

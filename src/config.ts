/**
 * Every setting of Distillery, read once from the environment and validated at start-up.
 *
 * Each field is documented in README.md ("Configuration"). A bad value stops start-up with a
 * ConfigError that names the variable and says what to change; nothing reads process.env
 * elsewhere.
 */
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
    return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
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

export interface AppConfig {
  paths: PathsConfig;
  trainer: TrainerConfig;
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

export function loadConfig(env: Env = process.env, cwd = process.cwd()): AppConfig {
  const r = new EnvReader(env);
  return { paths: loadPathsConfig(r, cwd), trainer: loadTrainerConfig(r) };
}

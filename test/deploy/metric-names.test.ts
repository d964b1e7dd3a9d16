/**
 * Every metric that the dashboard and the alert rules query must be one the API or the worker
 * really exposes, with the right type: histograms only through _bucket (inside
 * histogram_quantile, keeping `le`), _sum and _count; counters only through rate-like functions.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { apiMetricFamilies, workerMetricFamilies, type MetricFamilies } from './exposed-metrics.js';
import { parsePromQL, withoutGrafanaVariables, type Selector } from './promql.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ALERTS = path.join(ROOT, 'deploy/prometheus/alerts.yml');
const DASHBOARD = path.join(ROOT, 'deploy/grafana/dashboards/distillery.json');

/** Series Prometheus makes itself for every target. */
const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
/** Functions that turn a counter (or a histogram's series) into something meaningful. */
const COUNTER_FUNCTIONS = new Set(['rate', 'irate', 'increase', 'resets']);
const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

interface Query {
  where: string;
  expr: string;
}

interface AlertRules {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}

interface DashboardPanel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: DashboardPanel[];
}

function alertQueries(): Query[] {
  const rules = parseYaml(readFileSync(ALERTS, 'utf8')) as AlertRules;
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert ?? r.record}`, expr: r.expr })));
}

function dashboardQueries(): Query[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: DashboardPanel[];
    templating?: { list: { name: string; query?: string | { query?: string } }[] };
  };
  const out: Query[] = [];
  const visit = (panels: DashboardPanel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        if (t.expr) out.push({ where: `panel "${p.title}"`, expr: withoutGrafanaVariables(t.expr) });
      }
      visit(p.panels ?? []);
    }
  };
  visit(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    // label_values(metric, label): the metric part is a selector like any other.
    const m = q ? /^label_values\((.+),\s*\w+\)$/.exec(q.trim()) : null;
    if (m) out.push({ where: `variable $${v.name}`, expr: m[1]! });
  }
  return out;
}

/** What is wrong with one selector, or undefined when it is fine. */
function problemWith(s: Selector, families: MetricFamilies): string | undefined {
  if (s.name === '') return 'selector without a metric name';
  if (SYNTHETIC.has(s.name)) return undefined;
  const rated = s.functions.some((f) => COUNTER_FUNCTIONS.has(f));
  // count() and absent() look at which series exist, never at a counter's value.
  const presenceOnly = s.aggregations.includes('count') || s.functions.some((f) => f.startsWith('absent'));
  const type = families.get(s.name);
  if (type === 'histogram' || type === 'summary') return `${s.name} is a ${type}: query ${s.name}_bucket, _sum or _count`;
  if (type === 'counter') return rated || presenceOnly ? undefined : `counter ${s.name} is used without rate() or increase()`;
  if (type !== undefined) return undefined;

  const suffix = HISTOGRAM_SUFFIX.exec(s.name);
  const base = suffix ? s.name.slice(0, suffix.index) : undefined;
  if (!suffix || !base || families.get(base) !== 'histogram') return `${s.name} is not exposed by the API or the worker`;
  if (!rated) return `${s.name} is used without rate() or increase()`;
  if (suffix[1] === 'bucket') {
    if (!s.functions.includes('histogram_quantile')) return `${s.name} is used outside histogram_quantile()`;
    const dropsLe = s.aggregationsInsideQuantile.find((a) => (a.by ? !a.by.includes('le') : (a.without ?? []).includes('le') || !a.without));
    if (dropsLe) return `${s.name}: ${dropsLe.op}() inside histogram_quantile() must keep le (sum by (le, ...))`;
  } else if (s.functions.includes('histogram_quantile')) {
    return `histogram_quantile() over ${s.name}: it takes the _bucket series`;
  }
  return undefined;
}

let families: MetricFamilies;
let apiFamilies: MetricFamilies;
let workerFamilies: MetricFamilies;

beforeAll(async () => {
  apiFamilies = await apiMetricFamilies();
  workerFamilies = await workerMetricFamilies();
  families = new Map([...workerFamilies, ...apiFamilies]);
});

describe('exposed metrics', () => {
  it('the API exposes its metrics and process metrics with the project prefix', () => {
    for (const name of ['distillery_http_request_duration_seconds', 'distillery_batch_padding_ratio', 'distillery_process_resident_memory_bytes']) {
      expect(apiFamilies.has(name), name).toBe(true);
    }
  });

  it('the worker exposes job metrics and process metrics with the project prefix', () => {
    for (const name of ['distillery_jobs_total', 'distillery_job_duration_seconds', 'distillery_job_queue_depth', 'distillery_process_resident_memory_bytes']) {
      expect(workerFamilies.has(name), name).toBe(true);
    }
  });
});

describe.each([
  ['alert rules', alertQueries],
  ['dashboard', dashboardQueries],
])('%s', (_name, queries) => {
  it('parse as PromQL', () => {
    const bad = queries().flatMap((q) => parsePromQL(q.expr).errors.map((e) => `${q.where}: ${e}`));
    expect(bad).toEqual([]);
  });

  it('query only metrics that exist, each used as its type allows', () => {
    const list = queries();
    expect(list.length).toBeGreaterThan(5);
    const problems: string[] = [];
    for (const q of list) {
      const { selectors } = parsePromQL(q.expr);
      expect(selectors.length, `${q.where} selects nothing`).toBeGreaterThan(0);
      for (const s of selectors) {
        const problem = problemWith(s, families);
        if (problem) problems.push(`${q.where}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('the checker itself', () => {
  const check = (expr: string) =>
    parsePromQL(expr)
      .selectors.map((s) => problemWith(s, families))
      .filter((p): p is string => p !== undefined);

  it('accepts a quantile that keeps le, and rejects misuse', () => {
    expect(check('histogram_quantile(0.99, sum by (le) (rate(distillery_http_request_duration_seconds_bucket[5m])))')).toEqual([]);
    expect(check('histogram_quantile(0.99, sum by (route) (rate(distillery_http_request_duration_seconds_bucket[5m])))')[0]).toMatch(/keep le/);
    expect(check('sum(rate(distillery_http_request_duration_seconds_bucket[5m]))')[0]).toMatch(/outside histogram_quantile/);
    expect(check('distillery_http_request_duration_seconds')[0]).toMatch(/is a histogram/);
    expect(check('distillery_jobs_total')[0]).toMatch(/without rate/);
    expect(check('rate(distillery_no_such_metric_total[5m])')[0]).toMatch(/not exposed/);
  });
});

/**
 * Grafana provisioning: the datasource the dashboard names, a provider that loads the folder
 * compose mounts, and a dashboard whose panels and queries hold together.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(path.join(ROOT, p), 'utf8');

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
}

const datasources = (parseYaml(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { uid: string; type: string; url: string }[] })
  .datasources;
const providers = (parseYaml(read('deploy/grafana/provisioning/dashboards/distillery.yml')) as { providers: { type: string; options: { path: string } }[] })
  .providers;
const dashboard = JSON.parse(read('deploy/grafana/dashboards/distillery.json')) as {
  uid: string;
  panels: Panel[];
  templating: { list: { datasource?: { uid: string } }[] };
};
const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as { services: Record<string, { volumes?: string[] }> };

describe('Grafana provisioning', () => {
  it('points the Prometheus datasource at the compose service', () => {
    expect(datasources).toEqual([expect.objectContaining({ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus:9090' })]);
  });

  it('loads dashboards from the folder compose mounts', () => {
    const mounts = compose.services.grafana?.volumes ?? [];
    expect(providers.map((p) => p.options.path)).toEqual(['/etc/grafana/dashboards']);
    expect(mounts).toContain('./deploy/grafana/dashboards:/etc/grafana/dashboards:ro');
  });
});

describe('dashboard', () => {
  const panels = dashboard.panels;
  const graphs = panels.filter((p) => p.type !== 'row');

  it('has unique panel ids inside the 24-column grid', () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
  });

  it('queries only the provisioned datasource, every target with its own refId', () => {
    const uids = new Set(datasources.map((d) => d.uid));
    for (const p of graphs) {
      expect(uids.has(p.datasource?.uid ?? ''), p.title).toBe(true);
      const targets = p.targets ?? [];
      expect(targets.length, p.title).toBeGreaterThan(0);
      expect(new Set(targets.map((t) => t.refId)).size, p.title).toBe(targets.length);
    }
    for (const v of dashboard.templating.list) expect(uids.has(v.datasource?.uid ?? '')).toBe(true);
  });

  it('shows what the issue asks for', () => {
    const exprs = graphs.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const metric of [
      'distillery_http_request_duration_seconds_count', // request rate and errors by route
      'distillery_http_request_duration_seconds_bucket', // latency quantiles
      'distillery_batch_rows_sum', // batch size
      'distillery_batch_padding_ratio_sum', // padding efficiency by bucket
      'distillery_queue_depth_rows',
      'distillery_requests_dropped_total', // rejections
      'distillery_model_version_info',
      'distillery_model_swaps_total',
      'distillery_process_resident_memory_bytes',
      'distillery_model_file_bytes', // what explains the memory: loaded model files
      'distillery_model_sessions', // and sessions per model version
      'distillery_event_loop_lag_p99_seconds',
      'distillery_job_queue_depth',
      'distillery_jobs_total',
      'distillery_job_duration_seconds_bucket',
      'distillery_rollout_requests_total', // roll-outs: requests and errors by version and role
      'distillery_rollout_request_duration_seconds_bucket', // latency by version and role
      'distillery_shadow_agreement_ratio',
      'distillery_shadow_comparisons_total',
      'distillery_shadow_dropped_total',
      'distillery_rollout_plan_share',
      'distillery_rollout_decisions_total',
    ]) {
      expect(exprs, metric).toContain(metric);
    }
    for (const q of ['0.5', '0.95', '0.99'])
      expect(exprs).toContain(`histogram_quantile(${q}, sum by (le) (rate(distillery_http_request_duration_seconds_bucket`);
  });
});

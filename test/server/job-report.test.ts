/**
 * The job report page, checked at DOM level (linkedom parses the rendered HTML as a browser
 * would build its tree): evaluation series with one point each are drawn as visible markers,
 * series that coincide stay distinguishable, the page reloads itself while the job runs, and the
 * spec's notes are on it. Also through the route, which must hand the spec to the page.
 */
import { readFileSync } from 'node:fs';
import { parseHTML } from 'linkedom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryPoint, JobView } from '../../src/queue/job-types.js';
import { buildApp } from '../../src/server/app.js';
import type { ServerJobs } from '../../src/server/routes/jobs.js';
import { renderJobReport } from '../../src/server/views/job-report.js';
import { parseJobSpec } from '../../src/training/job-spec.js';
import { ADMIN_KEY, bearer, startServer, type TestServer } from './helpers.js';

const job = (over: Partial<JobView> = {}): JobView => ({
  id: 'job-1',
  state: 'completed',
  model: 'my-intent',
  task: 'classification',
  progress: null,
  result: null,
  error: null,
  attempts: 1,
  created_at: '2026-01-01T00:00:00.000Z',
  started_at: null,
  finished_at: null,
  ...over,
});

// What a real run records: one eval per stage, each role evaluated once.
const history: HistoryPoint[] = [
  { kind: 'progress', t: 1, stage: 'qat', step: 1, total: 3, epoch: 1, losses: { total: 0.9, pred: 0.9 } },
  { kind: 'progress', t: 2, stage: 'qat', step: 2, total: 3, epoch: 1, losses: { total: 0.5, pred: 0.5 } },
  { kind: 'progress', t: 3, stage: 'qat', step: 3, total: 3, epoch: 1, losses: { total: 0.4, pred: 0.4 } },
  { kind: 'eval', t: 4, stage: 'teacher_finetune', step: 10, role: 'teacher', metrics: { accuracy: 0.73, macro_f1: 0.73 } },
  { kind: 'eval', t: 5, stage: 'task_distill', step: 20, role: 'student', metrics: { accuracy: 0.71, macro_f1: 0.7 } },
];

function dom(html: string): Document {
  return parseHTML(html).document as unknown as Document;
}

function figure(doc: Document, title: string): Element {
  const svg = [...doc.querySelectorAll('svg')].find((s) => s.getAttribute('aria-label') === title);
  expect(svg, `chart "${title}"`).toBeDefined();
  return svg as Element;
}

describe('job report page (DOM)', () => {
  it('draws every single-point evaluation series as a visible marker', () => {
    const doc = dom(renderJobReport({ job: job(), history }));
    const svg = figure(doc, 'eval metrics over the run');
    const groups = [...svg.querySelectorAll('g.markers')];
    expect(groups.map((g) => g.getAttribute('data-series')).sort()).toEqual(['student accuracy', 'student macro_f1', 'teacher accuracy', 'teacher macro_f1']);
    for (const g of groups) {
      expect(g.children.length).toBe(1);
      const shape = g.children[0] as Element;
      // A visible shape: filled, or stroked with a width.
      expect(shape.getAttribute('fill') !== 'none' || Number(shape.getAttribute('stroke-width')) > 0).toBe(true);
    }
    // The numbers are on the page too.
    const rows = [...doc.querySelectorAll('table.evals tbody tr')].map((r) => r.textContent);
    expect(rows).toEqual(['1teacher_finetuneteacher73.0073.00', '2task_distillstudent71.0070.00']);
  });

  it('gives series that coincide different dash patterns and marker shapes', () => {
    const doc = dom(renderJobReport({ job: job(), history }));
    // total and pred are the same numbers in QAT: one line lies exactly on the other.
    const svg = figure(doc, 'qat: loss terms');
    const paths = [...svg.querySelectorAll('path.series')];
    expect(paths.map((p) => p.getAttribute('data-series'))).toEqual(['total', 'pred']);
    expect(paths[0]!.getAttribute('d')).toBe(paths[1]!.getAttribute('d'));
    expect(paths[0]!.getAttribute('stroke-dasharray') ?? '').not.toBe(paths[1]!.getAttribute('stroke-dasharray') ?? '');
    expect(paths[0]!.getAttribute('stroke')).not.toBe(paths[1]!.getAttribute('stroke'));
    const shapes = [...svg.querySelectorAll('g.markers')].map((g) => (g.children[0] as Element).tagName.toLowerCase());
    expect(new Set(shapes).size).toBe(2);
  });

  it('reloads itself while the job is queued or running, and not once it ended', () => {
    for (const state of ['queued', 'active'] as const) {
      const refresh = dom(renderJobReport({ job: job({ state }), history })).querySelector('meta[http-equiv="refresh"]');
      expect(Number(refresh?.getAttribute('content'))).toBeGreaterThan(0);
    }
    for (const state of ['completed', 'failed', 'cancelled'] as const) {
      expect(dom(renderJobReport({ job: job({ state }), history })).querySelector('meta[http-equiv="refresh"]')).toBeNull();
    }
  });

  it('compares the post-training INT8 baseline beside the QAT student, and leaves it out when there is none', () => {
    const m = (accuracy: number, file_bytes: number) => ({ accuracy, macro_f1: accuracy, parameters: 4.4e6, file_bytes, latency_ms_b1_128: 2 });
    const metrics = { teacher: m(0.9, 4e8), student_fp32: m(0.89, 5.6e7), student_int8: m(0.88, 1.5e7), student_ptq_int8: m(0.84, 1.5e7) };
    const rowsOf = (doc: Document) => [...doc.querySelectorAll('table')][0]!.querySelectorAll('tbody tr');
    const barsOf = (doc: Document) => [...figure(doc, 'teacher vs students').querySelectorAll('text')].map((t) => t.textContent);
    const gate = { passed: true, activated: true, reason: 'gate passed' };
    const withPtq = dom(renderJobReport({ job: job({ result: { model: 'my-intent', version: 2, metrics, gate } }), history }));
    const rows = [...rowsOf(withPtq)].map((r) => [...r.children].slice(0, 2).map((c) => c.textContent));
    expect(rows).toEqual([
      ['teacher (FP32)', '90.00'],
      ['student FP32', '89.00'],
      ['student INT8', '88.00'],
      ['student PTQ INT8', '84.00'],
    ]);
    expect(withPtq.querySelector('p.ptq')?.textContent).toMatch(/without QAT/);
    expect(barsOf(withPtq).filter((t) => t === 'student PTQ INT8').length).toBe(4); // accuracy, macro_f1, size, latency

    const { student_ptq_int8: _, ...withoutBaseline } = metrics;
    const without = dom(renderJobReport({ job: job({ result: { model: 'my-intent', version: 2, metrics: withoutBaseline, gate } }), history }));
    expect([...rowsOf(without)].map((r) => r.children[0]!.textContent)).toEqual(['teacher (FP32)', 'student FP32', 'student INT8']);
    expect(without.querySelector('p.ptq')).toBeNull();
    expect(barsOf(without)).not.toContain('student PTQ INT8');
  });

  it("shows the spec's notes, escaped", () => {
    const doc = dom(renderJobReport({ job: job(), history, spec: { notes: { ticket: 'SUP-1234 <b>retrain</b>', dataset: { rows: 7820 } } } }));
    const cells = [...doc.querySelectorAll('table.notes tr')].map((r) => [r.querySelector('th')?.textContent, r.querySelector('td')?.textContent]);
    expect(cells).toEqual([
      ['ticket', 'SUP-1234 <b>retrain</b>'],
      ['dataset', '{"rows":7820}'],
    ]);
    expect(doc.querySelector('table.notes b')).toBeNull();
  });
});

describe('GET /v1/jobs/{id}/report', () => {
  let server: TestServer;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    server = await startServer({ ADMIN_API_KEYS: ADMIN_KEY });
    const unused = (): never => {
      throw new Error('not used by the report');
    };
    // The route's own wiring: it must hand the submitted spec to the page.
    const jobs: ServerJobs = {
      submit: unused,
      list: unused,
      cancel: unused,
      logs: unused,
      get: async (id) => job({ id, state: 'active' }),
      history: async () => history,
      // The README's example as the worker would hold it (typed through the queue), with notes.
      spec: async () => ({ ...parseJobSpec(JSON.parse(readFileSync('examples/distill-support-intent.json', 'utf8'))), notes: { ticket: 'SUP-77' } }),
    };
    app = await buildApp({ config: server.config, engine: server.engine, metrics: server.metrics, jobs });
  });

  afterAll(async () => {
    await app.close();
    await server.close();
  });

  it('serves the page with the notes of the submitted spec, reloading while the job runs', async () => {
    const res = await app.inject({ url: '/v1/jobs/job-9/report', headers: bearer(ADMIN_KEY) });
    expect(res.statusCode).toBe(200);
    const doc = dom(res.body);
    expect(doc.querySelector('table.notes td')?.textContent).toBe('SUP-77');
    expect(doc.querySelector('meta[http-equiv="refresh"]')).not.toBeNull();
    expect(doc.querySelectorAll('svg g.markers').length).toBeGreaterThan(0);
  });
});

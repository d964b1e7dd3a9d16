/**
 * GET /v1/jobs/{id}/report: one self-contained HTML page for a run, for the ML engineer who
 * submitted it: state, the spec's notes, loss curves per stage, eval metrics over time, and the
 * teacher / FP32 student / INT8 student (and post-training INT8 baseline) comparison as a table
 * and a chart. It reloads itself
 * while the job is queued or running.
 */
import type { ModelMetrics, RolloutEvent } from '../../inference/registry/types.js';
import type { HistoryPoint, JobView } from '../../queue/job-types.js';
import { barChart, escapeHtml, lineChart, type Series } from './svg-chart.js';

const ROLES: Array<[string, string]> = [
  ['teacher', 'teacher (FP32)'],
  ['student_fp32', 'student FP32'],
  ['student_int8', 'student INT8'],
  // Post-training INT8 without QAT: what QAT gains over it (scored, not published).
  ['student_ptq_int8', 'student PTQ INT8'],
];

function lossCharts(history: HistoryPoint[]): string {
  const byStage = new Map<string, Map<string, Array<[number, number]>>>();
  for (const p of history) {
    if (p.kind !== 'progress') continue;
    const terms = byStage.get(p.stage) ?? new Map<string, Array<[number, number]>>();
    byStage.set(p.stage, terms);
    for (const [term, value] of Object.entries(p.losses)) {
      const pts = terms.get(term) ?? [];
      pts.push([p.step, value]);
      terms.set(term, pts);
    }
  }
  if (byStage.size === 0) return '<p class="empty">No training progress recorded yet.</p>';
  return [...byStage.entries()]
    .map(([stage, terms]) => {
      const series: Series[] = [...terms.entries()].map(([name, points]) => ({ name, points }));
      return lineChart(series, { title: `${stage}: loss terms`, xLabel: 'step', logY: true });
    })
    .join('\n');
}

function evalCharts(history: HistoryPoint[]): string {
  const series = new Map<string, Array<[number, number]>>();
  let index = 0;
  for (const p of history) {
    if (p.kind !== 'eval') continue;
    index += 1;
    for (const [metric, value] of Object.entries(p.metrics)) {
      const key = `${p.role} ${metric}`;
      const pts = series.get(key) ?? [];
      pts.push([index, value]);
      series.set(key, pts);
    }
  }
  if (series.size === 0) return '<p class="empty">No evaluation recorded yet.</p>';
  const chart = lineChart(
    [...series.entries()].map(([name, points]) => ({ name, points })),
    { title: 'eval metrics over the run', xLabel: 'evaluation #' },
  );
  return chart + evalTable(history);
}

/** The numbers behind the chart, one row per evaluation. */
function evalTable(history: HistoryPoint[]): string {
  const evals = history.filter((p): p is Extract<HistoryPoint, { kind: 'eval' }> => p.kind === 'eval');
  const metrics = [...new Set(evals.flatMap((p) => Object.keys(p.metrics)))];
  const rows = evals
    .map(
      (p, i) =>
        `<tr><td>${i + 1}</td><th>${escapeHtml(p.stage)}</th><th>${escapeHtml(p.role)}</th>${metrics.map((m) => `<td>${p.metrics[m] === undefined ? '-' : (100 * (p.metrics[m] as number)).toFixed(2)}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table class="evals"><thead><tr><th>#</th><th>stage</th><th>role</th>${metrics.map((m) => `<th>${escapeHtml(m)} (%)</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** The spec's free-form notes (ticket, dataset provenance, ...), as the submitter wrote them. */
function notesSection(notes: Record<string, unknown> | undefined): string {
  if (!notes || Object.keys(notes).length === 0) return '<p class="empty">The spec has no notes.</p>';
  const rows = Object.entries(notes)
    .map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td class="note">${escapeHtml(typeof value === 'string' ? value : JSON.stringify(value))}</td></tr>`)
    .join('');
  return `<table class="notes"><tbody>${rows}</tbody></table>`;
}

/** Seconds between reloads while the job can still change; a finished job's page stays put. */
export const REPORT_REFRESH_S = 10;

function comparison(metrics: Record<string, ModelMetrics> | undefined, task: string): string {
  if (!metrics) return '<p class="empty">The comparison appears when the job completes.</p>';
  const qualityKeys: Array<keyof ModelMetrics> = task === 'qa' ? ['exact_match', 'f1'] : ['accuracy', 'macro_f1'];
  const cell = (v: number | undefined, f: (n: number) => string): string => (v === undefined ? '-' : f(v));
  // Roles without metrics (no PTQ baseline beside an INT8 model that is itself PTQ) are left out.
  const present = ROLES.filter(([role]) => metrics[role]);
  const rows = present
    .map(([role, label]) => {
      const m = metrics[role] as ModelMetrics;
      return (
        `<tr><th>${label}</th>${qualityKeys.map((k) => `<td>${cell(m[k], (v) => (100 * v).toFixed(2))}</td>`).join('')}` +
        `<td>${cell(m.parameters, (v) => (v / 1e6).toFixed(2))}</td><td>${cell(m.file_bytes, (v) => (v / 1e6).toFixed(2))}</td>` +
        `<td>${cell(m.latency_ms_b1_128, (v) => v.toFixed(2))}</td></tr>`
      );
    })
    .join('');
  const table = `<table><thead><tr><th>model</th>${qualityKeys.map((k) => `<th>${k} (%)</th>`).join('')}<th>parameters (M)</th><th>file (MB)</th><th>latency b1/128 (ms)</th></tr></thead><tbody>${rows}</tbody></table>`;
  const groups = [
    ...qualityKeys.map((k) => ({ label: String(k), values: present.map(([role, name]) => ({ name, value: metrics[role]?.[k] })) })),
    {
      label: 'file size',
      values: present.map(([role, name]) => ({
        name,
        value: metrics[role]?.file_bytes === undefined ? undefined : (metrics[role]?.file_bytes as number) / 1e6,
      })),
    },
    { label: 'latency', values: present.map(([role, name]) => ({ name, value: metrics[role]?.latency_ms_b1_128 })) },
  ];
  const chart = barChart(groups, 'teacher vs students', (label) => (label === 'file size' ? 'MB' : label === 'latency' ? 'ms' : ''));
  const ptq = metrics.student_ptq_int8
    ? '<p class="ptq">student PTQ INT8: the FP32 student quantized after training, without QAT, on the same calibration batches; a baseline for what QAT gains, not published.</p>'
    : '';
  return table + ptq + chart;
}

/** The roll-out events of the job's version: who started, promoted or aborted it, when, on what evidence. */
function rolloutSection(events: readonly RolloutEvent[]): string {
  if (events.length === 0) return '';
  const evidence = (e: RolloutEvent): string => {
    const ev = e.evidence as
      | { candidate?: { requests?: number; error_rate?: number; p99_ms?: number | null }; agreement?: { top1_agreement?: number; exact_match?: number } }
      | undefined;
    if (!ev?.candidate) return '-';
    const agreement = ev.agreement?.top1_agreement ?? ev.agreement?.exact_match;
    return (
      `${ev.candidate.requests ?? 0} requests, error rate ${(ev.candidate.error_rate ?? 0).toFixed(3)}, p99 ${ev.candidate.p99_ms ?? '-'} ms` +
      (agreement === undefined ? '' : `, agreement ${agreement.toFixed(3)}`)
    );
  };
  const rows = events
    .map(
      (e) =>
        `<tr><th>${escapeHtml(e.at)}</th><td>${escapeHtml(e.role)}</td><td>${escapeHtml(e.action)}</td><td>${escapeHtml(e.by)}</td><td>${escapeHtml(e.reason ?? '')}</td><td>${escapeHtml(evidence(e))}</td></tr>`,
    )
    .join('');
  return `<h2>Roll-out</h2><table><thead><tr><th>when</th><th>role</th><th>action</th><th>by</th><th>why</th><th>evidence</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export interface JobReportInput {
  job: JobView;
  history: HistoryPoint[];
  /** The job spec as submitted; absent for a job cancelled before it ran. */
  spec?: { notes?: Record<string, unknown> } | null;
  /** The model's roll-out history (state.json); the events of the job's version are shown. */
  rollout?: readonly RolloutEvent[];
}

/** The whole page, as one string of HTML (no script, no external asset). */
export function renderJobReport({ job, history, spec, rollout = [] }: JobReportInput): string {
  const title = `Distillery job ${job.id}`;
  const live = job.state === 'queued' || job.state === 'active';
  // A meta refresh, not a script: the page stays a plain document that works offline.
  const refresh = live ? `<meta http-equiv="refresh" content="${REPORT_REFRESH_S}">` : '';
  const stages = history
    .filter((p): p is Extract<HistoryPoint, { kind: 'stage' }> => p.kind === 'stage')
    .map((p) => `<li>${new Date(p.t).toISOString()} ${escapeHtml(p.stage)}: ${escapeHtml(p.status)}</li>`)
    .join('');
  const gate = job.result?.gate ? `<p><strong>Quality gate:</strong> ${escapeHtml(job.result.gate.reason)}</p>` : '';
  const published = job.result ? `<p>Published <code>${escapeHtml(job.result.model)}</code> version ${job.result.version}.</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">${refresh}<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:980px;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
th:first-child{text-align:left}figure{margin:1rem 0}.empty{color:#777}.state{font-weight:bold}
.notes th,.notes td.note{text-align:left;white-space:pre-wrap}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>Model <code>${escapeHtml(job.model)}</code> (${escapeHtml(job.task)}) · state <span class="state">${escapeHtml(job.state)}</span> · attempts ${job.attempts} ·
created ${escapeHtml(job.created_at)}${job.started_at ? ` · started ${escapeHtml(job.started_at)}` : ''}${job.finished_at ? ` · finished ${escapeHtml(job.finished_at)}` : ''}</p>
${live ? `<p class="refresh">This page reloads every ${REPORT_REFRESH_S} s while the job runs.</p>` : ''}
${job.error ? `<p><strong>Error:</strong> ${escapeHtml(job.error)}</p>` : ''}
${published}${gate}
${rolloutSection(job.result ? rollout.filter((e) => e.version === job.result!.version) : [])}
<h2>Notes</h2>
${notesSection(spec?.notes)}
<h2>Teacher and students</h2>
${comparison(job.result?.metrics, job.task)}
<h2>Loss curves</h2>
${lossCharts(history)}
<h2>Evaluation</h2>
${evalCharts(history)}
<h2>Stages</h2>
<ul>${stages || '<li class="empty">none yet</li>'}</ul>
</body></html>
`;
}

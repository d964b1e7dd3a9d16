/** Renders models/README.md from the bundled versions' manifests: what they are, how good, how to rebuild. */
import type { Manifest, ModelMetrics } from '../src/inference/registry/types.js';
import type { Baseline } from './baselines.js';

export interface ReadmeInput {
  manifests: Manifest[];
  /** Trivial baselines on the same test split, by model name. */
  baselines: Record<string, Baseline>;
  buildMinutes: number;
  /** The build rebuilt only this model (its time is not the whole build's). */
  only?: string;
}

const pct = (v: number | undefined): string => (v === undefined ? '-' : (100 * v).toFixed(1));
const mb = (v: number | undefined): string => (v === undefined ? '-' : (v / 1e6).toFixed(1));
const ms = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(2));
const millions = (v: number | undefined): string => (v === undefined ? '-' : (v / 1e6).toFixed(2));

function row(role: string, m: ModelMetrics | undefined, task: string): string {
  if (!m) return `| ${role} | - | - | - | - | - |`;
  const quality = task === 'qa' ? `${pct(m.exact_match)} / ${pct(m.f1)}` : `${pct(m.accuracy)} / ${pct(m.macro_f1)}`;
  return `| ${role} | ${quality} | ${millions(m.parameters)} | ${mb(m.file_bytes)} | ${ms(m.latency_ms_b1_128)} |`;
}

export function renderModelsReadme({ manifests, baselines, buildMinutes, only }: ReadmeInput): string {
  const sections = manifests.map((m) => {
    const quality = m.task === 'qa' ? 'EM / F1 (%)' : 'accuracy / macro-F1 (%)';
    const notes = (m.lineage.notes ?? {}) as { datagen?: { seed?: number; hash?: string }; teacher_init?: Record<string, number> };
    return [
      `## ${m.model} (version ${m.version}, ${m.task})`,
      '',
      `Held-out test split; latency is ONNX Runtime on this machine's CPU, batch 1, 128 tokens, one thread.`,
      '',
      `| model | ${quality} | parameters (M) | file (MB) | latency (ms) |`,
      '|---|---|---|---|---|',
      row('teacher (FP32)', m.metrics.teacher, m.task),
      row('student FP32', m.metrics.student_fp32, m.task),
      row('student INT8 (served)', m.metrics.student_int8, m.task),
      ...(baselines[m.model] ? [row(`trivial baseline: ${baselines[m.model]!.name}`, baselines[m.model], m.task)] : []),
      '',
      `Gate: ${m.gate?.reason ?? 'n/a'}`,
      '',
      `Shapes: \`${JSON.stringify(m.shapes)}\``,
      '',
      `Data generator seed ${notes.datagen?.seed ?? '?'}, hash \`${notes.datagen?.hash ?? '?'}\`; teacher initialised at random (${JSON.stringify(notes.teacher_init ?? {})}) and fine-tuned by the trainer. Every hyperparameter is in \`${m.model}/${m.version}/manifest.json\`.`,
      '',
    ].join('\n');
  });
  return [
    '# Bundled models',
    '',
    'The models `npm start` serves with nothing to download. Both were built by our own trainer from data our own',
    'generator writes (tools/datagen): a support-chatbot intent classifier and a help-center QA model. The active',
    'version of each is the INT8 (QAT, QDQ) TinyBERT-shaped student: 4 layers, hidden 312, intermediate 1200.',
    '',
    '## Rebuild',
    '',
    '```sh',
    'npm run models:build            # about the time below on a 2-core CPU; same seed, same metrics within noise',
    'npm run models:build -- --seed 7 --only support-intent',
    '```',
    '',
    only
      ? `Last build (${only} only): ${buildMinutes.toFixed(1)} minutes.`
      : `Last build (both models): ${buildMinutes.toFixed(1)} minutes on this 2-core machine.`,
    '',
    ...sections,
  ].join('\n');
}

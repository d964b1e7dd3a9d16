import { promises as fs } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../src/training/job-spec.js';

/** The README's section that starts with `heading`, up to the next heading of any level. */
async function readmeSection(heading: string): Promise<string> {
  const readme = await fs.readFile('README.md', 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const rest = readme.slice(start + heading.length + 2);
  const end = rest.search(/\n#{2,3} /);
  return end < 0 ? rest : rest.slice(0, end);
}

describe('examples/', () => {
  it('every example spec is valid against the job spec schema', async () => {
    const files = (await fs.readdir('examples')).filter((f) => f.endsWith('.json'));
    expect(files).toEqual(expect.arrayContaining(['distill-support-intent.json', 'distill-support-qa.json', 'distill-manpages.json']));
    for (const file of files) {
      const spec = parseJobSpec(JSON.parse(await fs.readFile(`examples/${file}`, 'utf8')));
      expect(spec.type).toBe('distill');
    }
  });

  it('the man-page example keeps every default but the fields a random 6-head teacher and its data need', async () => {
    const example = JSON.parse(await fs.readFile('examples/distill-manpages.json', 'utf8')) as Record<string, unknown>;
    const spec = parseJobSpec(example);
    const minimal = parseJobSpec({ type: 'distill', model: 'x', task: 'classification', teacher: { path: 'x' }, data: { train: 'x', eval: 'x' } });
    const leaves = (value: unknown, prefix = ''): Map<string, unknown> => {
      const out = new Map<string, unknown>();
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const [key, child] of Object.entries(value)) for (const [p, v] of leaves(child, `${prefix}/${key}`)) out.set(p, v);
      } else {
        out.set(prefix, JSON.stringify(value));
      }
      return out;
    };
    const given = leaves(spec);
    const defaults = leaves(minimal);
    const changed = [...new Set([...given.keys(), ...defaults.keys()])].filter((p) => given.get(p) !== defaults.get(p)).sort();
    expect(changed.filter((p) => !p.startsWith('/notes/'))).toEqual([
      '/data/eval',
      '/data/train',
      '/data/unlabeled',
      '/max_length',
      '/model',
      '/stages/teacher_finetune/epochs',
      '/stages/teacher_finetune/lr',
      '/teacher/path',
    ]);
    expect(spec.stages.teacher_finetune.enabled).toBe('auto');
    expect(Object.keys(spec.notes ?? {})).toEqual(expect.arrayContaining(['teacher_finetune', 'max_length']));
  });

  it('the full spec shown under "The job spec" in the README is accepted as written', async () => {
    const section = await readmeSection('### The job spec');
    const block = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const spec = parseJobSpec(JSON.parse(block as string));
    expect(spec.labels).toBeNull();
    expect(spec.notes).toEqual({ ticket: 'free-form provenance, kept in the manifest' });
  });

  it("the README's job cycle looks at the model that its example spec publishes", async () => {
    const section = await readmeSection('## Jobs: the model lifecycle');
    const submitted = /-d @(examples\/[\w.-]+\.json)/.exec(section)?.[1];
    expect(submitted).toBeDefined();
    const model = (JSON.parse(await fs.readFile(submitted as string, 'utf8')) as { model: string }).model;
    const modelCalls = [...section.matchAll(/localhost:8080\/v1\/(?:models\/([\w-]+)|classify[\s\S]*?"model":"([\w-]+)")/g)].map((m) => m[1] ?? m[2]);
    expect(modelCalls.length).toBeGreaterThan(0);
    expect(new Set(modelCalls)).toEqual(new Set([model]));
  });
});

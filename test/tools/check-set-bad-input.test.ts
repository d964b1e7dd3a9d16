/**
 * A check set or command line that models:check cannot use is refused with what to fix and exit
 * code 2, before any model is opened: a malformed --fixture-dir (answer not at its offset,
 * missing fields, missing files), a --model-dir that is not a registry, unknown options.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckSetInputError, DEFAULT_FIXTURE_DIR, readCheckSet } from '../../tools/check-set/fixture.js';

let root: string;
const QA = {
  data: [
    {
      title: 'Returns',
      paragraphs: [
        {
          context: 'Returns are free within 30 days of delivery.',
          qas: [{ id: 'r1', question: 'How long do I have?', answers: [{ text: '30 days', answer_start: 24 }] }],
        },
      ],
    },
  ],
};

/** A fixture folder holding `qa` as support-qa.json and one valid utterance. */
async function fixture(name: string, qa: unknown): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'support-qa.json'), typeof qa === 'string' ? qa : JSON.stringify(qa));
  await fs.writeFile(path.join(dir, 'support-intent.jsonl'), '{"text": "hi there", "label": "greeting"}\n');
  return dir;
}

const withQa = (qa: Record<string, unknown>) => ({ data: [{ paragraphs: [{ context: QA.data[0]!.paragraphs[0]!.context, qas: [qa] }] }] });

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'check-set-bad-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('check set reader', () => {
  it('reads a well-formed fixture', async () => {
    const set = await readCheckSet(await fixture('good', QA));
    expect(set.questions.map((q) => [q.id, q.gold, q.answerStart])).toEqual([['r1', '30 days', 24]]);
  });

  it.each([
    [
      'answer not at its offset',
      withQa({ id: 'q', question: 'How long?', answers: [{ text: '30 days', answer_start: 20 }] }),
      /question q\): answer "30 days" is not at answer_start 20 of its context \(it is at 24\)/,
    ],
    [
      'answer not in the context',
      withQa({ id: 'q', question: 'How long?', answers: [{ text: '60 days', answer_start: 24 }] }),
      /the context does not contain it/,
    ],
    [
      'answer_start not an integer',
      withQa({ id: 'q', question: 'How long?', answers: [{ text: '30 days', answer_start: '24' }] }),
      /"answer_start": integer offset/,
    ],
    ['no answer, not impossible', withQa({ id: 'q', question: 'How long?', answers: [] }), /question q\): has no answer and is not marked is_impossible/],
    ['no question', withQa({ id: 'q', answers: [{ text: '30 days', answer_start: 24 }] }), /question q\): needs a non-empty string "question"/],
    ['no id', withQa({ question: 'How long?', is_impossible: true }), /data\[0\]\.paragraphs\[0\]: needs a string "id"/],
    ['no paragraphs', { data: [{ title: 'x' }] }, /data\[0\] needs a "paragraphs" list/],
    ['no context', { data: [{ paragraphs: [{ qas: [] }] }] }, /paragraphs\[0\] needs a non-empty string "context"/],
    ['no questions at all', { data: [] }, /has no questions to score/],
    ['not JSON', '{"data": [', /support-qa\.json: not valid JSON/],
  ])('refuses %s, naming the file and item', async (name, qa, message) => {
    const dir = await fixture(name.replace(/\W+/g, '-'), qa);
    const err = await readCheckSet(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckSetInputError);
    expect((err as Error).message).toMatch(message);
  });

  it('says which file a fixture folder lacks', async () => {
    const err = await readCheckSet(path.join(root, 'nowhere')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckSetInputError);
    expect((err as Error).message).toMatch(
      /nowhere\/support-qa\.json: cannot read it \(ENOENT\); --fixture-dir needs support-qa\.json and support-intent\.jsonl/,
    );
  });
});

describe('npm run models:check on bad input', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'tools/check-set.ts', ...args], { encoding: 'utf8' });

  it('exits 2 with the usage on an unknown option, 0 with it on --help', () => {
    const bad = run('--bogus');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--bogus'\nusage: npm run models:check/);
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--fixture-dir DIR/);
  });

  it('exits 2 naming the folder for a model dir that is missing or lacks a model, and for a malformed fixture', async () => {
    const missing = run('--model-dir', path.join(root, 'no-models'), '--dry-run');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--model-dir .*no-models is not a folder/);
    await fs.mkdir(path.join(root, 'registry', 'support-intent'), { recursive: true });
    const partial = run('--model-dir', path.join(root, 'registry'), '--dry-run');
    expect(partial.status).toBe(2);
    expect(partial.stderr).toMatch(/registry\/support-qa: no state\.json naming an active version/);
    const bad = run(
      '--fixture-dir',
      await fixture('cli-offset', withQa({ id: 'q', question: 'How long?', answers: [{ text: '30 days', answer_start: 3 }] })),
      '--dry-run',
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/is not at answer_start 3/);
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('still reads the bundled check set', async () => {
    expect((await readCheckSet(DEFAULT_FIXTURE_DIR)).questions.length).toBeGreaterThan(50);
  });
});

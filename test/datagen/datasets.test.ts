import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approxTokens,
  buildDatasets,
  FACT_KINDS,
  FILES,
  generateDatasets,
  INTENTS,
  OUT_OF_SCOPE,
  PASSAGE_STYLES,
  TOPICS,
  verifySquad,
  wordCount,
  type DatasetSummary,
  type SquadDocument,
} from '../../tools/datagen/index.js';
import { sha256 } from '../../tools/datagen/writers.js';

const SEED = 1234;
const DATA_FILES = [FILES.intentTrain, FILES.intentTest, FILES.qaTrain, FILES.qaTest, FILES.corpus];
let root: string;
let dirA: string;
let first: DatasetSummary;
let again: DatasetSummary;
let other: DatasetSummary;

async function read(rel: string, dir = dirA): Promise<string> {
  return fs.readFile(path.join(dir, rel), 'utf8');
}

async function readJsonl(rel: string): Promise<Array<{ text: string; label: string }>> {
  return (await read(rel))
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { text: string; label: string });
}

async function readSquad(rel: string): Promise<SquadDocument> {
  return JSON.parse(await read(rel)) as SquadDocument;
}

function questions(doc: SquadDocument) {
  return doc.data.flatMap((a) => a.paragraphs.flatMap((p) => p.qas));
}

function contexts(doc: SquadDocument): string[] {
  return doc.data.flatMap((a) => a.paragraphs.map((p) => p.context));
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'datagen-test-'));
  dirA = path.join(root, 'a');
  first = await generateDatasets({ outDir: dirA, seed: SEED });
  again = await generateDatasets({ outDir: path.join(root, 'b'), seed: SEED });
  other = await generateDatasets({ outDir: path.join(root, 'c'), seed: SEED + 1 });
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('determinism and provenance', () => {
  it('writes byte-identical files for the same seed', async () => {
    expect(again.files).toEqual(first.files);
    expect(again.hash).toBe(first.hash);
    for (const rel of [...DATA_FILES, FILES.manifest]) {
      expect(await read(rel, path.join(root, 'b')), rel).toBe(await read(rel));
    }
  });

  it('writes different data for a different seed', () => {
    expect(other.hash).not.toBe(first.hash);
    for (const rel of DATA_FILES) expect(other.files[rel], rel).not.toBe(first.files[rel]);
  });

  it('records seed, version, file hashes and counts in datagen.json', async () => {
    const manifest = JSON.parse(await read(FILES.manifest)) as Record<string, unknown>;
    expect(manifest.seed).toBe(SEED);
    expect(manifest.generator_version).toBe(first.generatorVersion);
    expect(manifest.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.counts).toEqual(first.counts);
    const hashes = manifest.sha256 as Record<string, string>;
    expect(Object.keys(hashes).sort()).toEqual([...DATA_FILES].sort());
    for (const rel of DATA_FILES) expect(hashes[rel], rel).toBe(sha256(await read(rel)));
  });

  it('runs in well under 10 seconds', () => {
    expect(first.elapsedMs).toBeLessThan(10_000);
  });
});

describe('support-intent', () => {
  it('has at least 20 snake_case intents plus out_of_scope, each with 30+ templates', () => {
    const labels = INTENTS.map((i) => i.label);
    expect(labels).toContain(OUT_OF_SCOPE);
    expect(labels.filter((l) => l !== OUT_OF_SCOPE).length).toBeGreaterThanOrEqual(20);
    expect(new Set(labels).size).toBe(labels.length);
    for (const spec of INTENTS) {
      expect(spec.label).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(spec.templates.length, spec.label).toBeGreaterThanOrEqual(30);
    }
  });

  it('writes balanced classes: 300+ train and ~100 test examples per intent', async () => {
    const train = await readJsonl(FILES.intentTrain);
    const test = await readJsonl(FILES.intentTest);
    expect(train.length).toBeGreaterThanOrEqual(7000);
    expect(train.length).toBeLessThanOrEqual(9000);
    const count = (rows: Array<{ label: string }>) => rows.reduce((m, r) => m.set(r.label, (m.get(r.label) ?? 0) + 1), new Map<string, number>());
    const trainCounts = count(train);
    const testCounts = count(test);
    expect([...trainCounts.keys()].sort()).toEqual(INTENTS.map((i) => i.label).sort());
    for (const spec of INTENTS) {
      expect(trainCounts.get(spec.label), spec.label).toBeGreaterThanOrEqual(300);
      expect(testCounts.get(spec.label), spec.label).toBeGreaterThanOrEqual(90);
    }
    expect(new Set(trainCounts.values()).size).toBe(1);
    for (const row of [...train, ...test]) {
      expect(Object.keys(row).sort()).toEqual(['label', 'text']);
      expect(row.text.trim().length).toBeGreaterThan(0);
      expect(row.text).not.toMatch(/[\n{}[\]]/);
    }
  });

  it('is shuffled rather than grouped by label', async () => {
    const train = await readJsonl(FILES.intentTrain);
    const sameAsNext = train.slice(1).filter((row, i) => row.label === train[i]?.label).length;
    expect(sameAsNext / train.length).toBeLessThan(0.15);
  });

  it('builds test examples only from held-out templates, and no test text appears in train', async () => {
    const { intents } = buildDatasets(SEED);
    const trainTemplates = new Set(intents.templates.train);
    expect(intents.templates.test.filter((id) => trainTemplates.has(id))).toEqual([]);
    for (const spec of INTENTS) {
      const held = intents.templates.test.filter((id) => id.startsWith(`${spec.label}/`)).length;
      expect(held / spec.templates.length, spec.label).toBeGreaterThanOrEqual(0.2);
      expect(held / spec.templates.length, spec.label).toBeLessThanOrEqual(0.3);
    }
    expect(intents.train.every((e) => trainTemplates.has(e.templateId))).toBe(true);
    expect(intents.test.every((e) => !trainTemplates.has(e.templateId))).toBe(true);
    const trainTexts = new Set((await readJsonl(FILES.intentTrain)).map((r) => r.text));
    expect((await readJsonl(FILES.intentTest)).filter((r) => trainTexts.has(r.text))).toEqual([]);
    expect(trainTexts.size).toBe(intents.train.length);
  });
});

describe('support-qa', () => {
  it('is valid SQuAD v2.0 with exact answer spans', async () => {
    for (const rel of [FILES.qaTrain, FILES.qaTest]) {
      const doc = await readSquad(rel);
      expect(doc.version).toBe('v2.0');
      expect(verifySquad(doc), rel).toEqual([]);
      for (const article of doc.data) {
        expect(typeof article.title).toBe('string');
        for (const { context, qas } of article.paragraphs) {
          for (const qa of qas) {
            expect(Object.keys(qa).sort()).toEqual(['answers', 'id', 'is_impossible', 'question']);
            expect(qa.answers.length).toBe(qa.is_impossible ? 0 : 1);
            for (const a of qa.answers) expect(context.slice(a.answer_start, a.answer_start + a.text.length)).toBe(a.text);
          }
        }
      }
    }
  });

  it('has 240+ passages of 60-480 words, 4000-10000 train and 600-1200 test questions, 10-25% unanswerable', async () => {
    const train = await readSquad(FILES.qaTrain);
    const test = await readSquad(FILES.qaTest);
    const all = [...contexts(train), ...contexts(test)];
    expect(all.length).toBeGreaterThanOrEqual(240);
    for (const c of all) {
      expect(wordCount(c)).toBeGreaterThanOrEqual(60);
      expect(wordCount(c)).toBeLessThanOrEqual(480);
    }
    expect(all.some((c) => /[^\p{ASCII}]/u.test(c))).toBe(true);
    const qs = [...questions(train), ...questions(test)];
    expect(questions(train).length).toBeGreaterThanOrEqual(4000);
    expect(questions(train).length).toBeLessThanOrEqual(10_000);
    expect(questions(test).length).toBeGreaterThanOrEqual(600);
    expect(questions(test).length).toBeLessThanOrEqual(1200);
    const impossibleShare = qs.filter((q) => q.is_impossible).length / qs.length;
    expect(impossibleShare).toBeGreaterThanOrEqual(0.1);
    expect(impossibleShare).toBeLessThanOrEqual(0.25);
    expect(new Set(qs.map((q) => q.id)).size).toBe(qs.length);
  });

  it('asks test questions only on held-out passages (~20%)', async () => {
    const train = contexts(await readSquad(FILES.qaTrain));
    const test = contexts(await readSquad(FILES.qaTest));
    const trainSet = new Set(train);
    expect(test.filter((c) => trainSet.has(c))).toEqual([]);
    const share = test.length / (train.length + test.length);
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.25);
    const { qa } = buildDatasets(SEED);
    const trainIds = new Set(qa.train.map((p) => p.id));
    expect(qa.test.filter((p) => trainIds.has(p.id))).toEqual([]);
  });
});

describe('support-qa variety', () => {
  const { qa } = buildDatasets(SEED);

  it('asks about every kind of fact (prices, durations, places, contacts, conditions, steps) in both splits', () => {
    for (const [split, passages] of [
      ['train', qa.train],
      ['test', qa.test],
    ] as const) {
      const kinds = new Set(passages.flatMap((p) => p.info.map((i) => i.kind)));
      for (const kind of FACT_KINDS.filter((k) => k !== 'other')) expect(kinds.has(kind), `${split} ${kind}`).toBe(true);
    }
  });

  it('uses many distinct question templates per fact kind in train', () => {
    const templates = new Map<string, Set<string>>();
    for (const p of qa.train) {
      for (const info of p.info) {
        if (info.kind) templates.set(info.kind, (templates.get(info.kind) ?? new Set()).add(info.template));
      }
    }
    // The floors sit just under what seed 1234 gives (step 13, condition 8, place 49, contact 54,
    // price 90, duration 172), so losing a handful of phrasings fails here.
    const floors: Record<string, number> = { step: 10, condition: 6, place: 40, contact: 45, price: 75, duration: 150 };
    for (const [kind, floor] of Object.entries(floors)) expect(templates.get(kind)?.size ?? 0, kind).toBeGreaterThanOrEqual(floor);
  });

  it('lays passages out in every style, in both splits', () => {
    for (const passages of [qa.train, qa.test]) {
      expect(new Set(passages.map((p) => p.style))).toEqual(new Set(PASSAGE_STYLES));
    }
    const faq = qa.train.find((p) => p.style === 'faq');
    expect(faq?.context).toMatch(/ Q: .+\? A: /);
  });

  it('puts a fifth or more of the answers past the first 128 tokens', () => {
    const answers = qa.train.flatMap((p) => p.qas.flatMap((q) => q.answers.map((a) => approxTokens(p.context.slice(0, a.answer_start)))));
    const late = answers.filter((n) => n >= 128).length;
    expect(late / answers.length).toBeGreaterThanOrEqual(0.2);
    expect(late / answers.length).toBeLessThanOrEqual(0.7);
  });

  it('writes some questions the way customers type them (lower case, no question mark)', () => {
    const qs = qa.train.flatMap((p) => p.qas.map((q) => q.question));
    const casual = qs.filter((q) => q === q.toLowerCase() || !q.endsWith('?'));
    expect(casual.length / qs.length).toBeGreaterThan(0.1);
    expect(casual.length / qs.length).toBeLessThan(0.4);
  });

  it('builds every topic the same number of times and keeps test passages and ids out of train', () => {
    const all = [...qa.train, ...qa.test];
    for (const topic of TOPICS) expect(all.filter((p) => p.topic === topic.id).length, topic.id).toBe(12);
    const trainContexts = new Set(qa.train.map((p) => p.context));
    expect(qa.test.filter((p) => trainContexts.has(p.context))).toEqual([]);
    const trainIds = new Set(qa.train.flatMap((p) => p.qas.map((q) => q.id)));
    expect(qa.test.flatMap((p) => p.qas.map((q) => q.id)).filter((id) => trainIds.has(id))).toEqual([]);
  });

  it('records late answers in the counts', () => {
    expect(first.counts.qa.late_answers_train).toBeGreaterThan(0);
    expect(first.counts.qa.late_answers_test).toBeGreaterThan(0);
  });
});

describe('corpus.txt', () => {
  it('holds deduplicated training text and no held-out text', async () => {
    const lines = (await read(FILES.corpus)).trimEnd().split('\n');
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines.every((l) => l.trim().length > 0)).toBe(true);
    const set = new Set(lines);
    for (const c of contexts(await readSquad(FILES.qaTrain))) expect(set.has(c)).toBe(true);
    for (const r of (await readJsonl(FILES.intentTrain)).slice(0, 200)) expect(set.has(r.text)).toBe(true);
    expect(contexts(await readSquad(FILES.qaTest)).filter((c) => set.has(c))).toEqual([]);
    expect((await readJsonl(FILES.intentTest)).filter((r) => set.has(r.text))).toEqual([]);
  });
});

describe('CLI', () => {
  it('writes the same files as generateDatasets', async () => {
    const out = path.join(root, 'cli');
    const tsx = path.resolve('node_modules/.bin/tsx');
    const { stdout } = await promisify(execFile)(tsx, ['tools/datagen/main.ts', '--out', out, '--seed', String(SEED)]);
    expect(stdout).toContain(first.hash);
    for (const rel of [...DATA_FILES, FILES.manifest]) expect(await read(rel, out), rel).toBe(await read(rel));
  });

  it('refuses a bad seed with exit code 2', async () => {
    const tsx = path.resolve('node_modules/.bin/tsx');
    await expect(promisify(execFile)(tsx, ['tools/datagen/main.ts', '--out', path.join(root, 'bad'), '--seed', 'abc'])).rejects.toMatchObject({ code: 2 });
  });
});

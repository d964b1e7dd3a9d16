/**
 * Builds a tiny, learnable distillation task on disk for end-to-end tests: data in the trainer's
 * formats, a WordPiece vocabulary built by the trainer, and a random-initialised teacher in
 * Hugging Face layout (init-model). Deterministic: the same seed gives the same files.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { TrainerConfig } from '../../src/config.js';
import { runTrainerProcess } from '../../src/training/trainer-runner.js';
import { Rng } from '../../tools/datagen/prng.js';

export const trainerConfig: TrainerConfig = { python: '/usr/bin/python3', timeoutS: 600, killGraceMs: 20_000 };

const FILLER = [
  'please',
  'hello',
  'i',
  'need',
  'help',
  'with',
  'my',
  'the',
  'today',
  'again',
  'now',
  'thanks',
  'quick',
  'question',
  'about',
  'it',
  'this',
  'week',
  'could',
  'you',
];
const TOPICS: Record<string, string[]> = {
  billing: ['invoice', 'charge', 'refund', 'payment', 'card'],
  shipping: ['package', 'delivery', 'courier', 'tracking', 'parcel'],
  account: ['password', 'login', 'username', 'email', 'profile'],
};

function sentence(rand: () => number, keyword: string): string {
  const words: string[] = [];
  const n = 4 + Math.floor(rand() * 6);
  for (let i = 0; i < n; i += 1) words.push(FILLER[Math.floor(rand() * FILLER.length)] as string);
  words.splice(Math.floor(rand() * (words.length + 1)), 0, keyword);
  const text = words.join(' ');
  return rand() < 0.3 ? `${text.charAt(0).toUpperCase() + text.slice(1)}?` : text;
}

function classificationRows(rand: () => number, count: number): string {
  const labels = Object.keys(TOPICS);
  const rows: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const label = labels[i % labels.length] as string;
    const words = TOPICS[label] as string[];
    rows.push(JSON.stringify({ text: sentence(rand, words[Math.floor(rand() * words.length)] as string), label }));
  }
  return `${rows.join('\n')}\n`;
}

/** Contexts with an order code somewhere (sometimes past the first window); some have none. */
function qaDoc(rand: () => number, count: number, prefix: string): unknown {
  const paragraphs: unknown[] = [];
  for (let i = 0; i < count; i += 1) {
    const before = Array.from({ length: 3 + Math.floor(rand() * 40) }, () => FILLER[Math.floor(rand() * FILLER.length)]).join(' ');
    const after = Array.from({ length: 3 + Math.floor(rand() * 10) }, () => FILLER[Math.floor(rand() * FILLER.length)]).join(' ');
    const code = String(100 + Math.floor(rand() * 900));
    const answerable = rand() > 0.15;
    const fact = answerable ? `your order number is ${code} .` : 'your order has not shipped .';
    const context = `${before} ${fact} ${after}`;
    const start = context.indexOf(code);
    paragraphs.push({
      context,
      qas: [
        {
          id: `${prefix}-${i}`,
          question: rand() < 0.5 ? 'what is the order number ?' : 'which order number do i have ?',
          answers: answerable ? [{ text: code, answer_start: start }] : [],
          is_impossible: !answerable,
        },
      ],
    });
  }
  return { version: 'v2.0', data: [{ title: prefix, paragraphs }] };
}

export interface TinyTask {
  dataDir: string;
  teacherRel: string;
  trainRel: string;
  evalRel: string;
}

export async function makeTinyTask(root: string, task: 'classification' | 'qa', seed = 7): Promise<TinyTask> {
  const rng = Rng.fromSeed(seed);
  const rand = (): number => rng.next();
  const dataDir = path.join(root, 'data');
  await fs.mkdir(dataDir, { recursive: true });
  let trainRel: string;
  let evalRel: string;
  if (task === 'classification') {
    trainRel = 'train.jsonl';
    evalRel = 'eval.jsonl';
    await fs.writeFile(path.join(dataDir, trainRel), classificationRows(rand, 360));
    await fs.writeFile(path.join(dataDir, evalRel), classificationRows(rand, 120));
  } else {
    trainRel = 'train.json';
    evalRel = 'eval.json';
    await fs.writeFile(path.join(dataDir, trainRel), JSON.stringify(qaDoc(rand, 300, 'train')));
    await fs.writeFile(path.join(dataDir, evalRel), JSON.stringify(qaDoc(rand, 100, 'eval')));
  }
  const corpus = path.join(dataDir, 'corpus.txt');
  const words = [...FILLER, ...Object.values(TOPICS).flat(), 'your', 'order', 'number', 'is', 'has', 'not', 'shipped', 'what', 'which', 'do', 'have'];
  const digits = Array.from({ length: 900 }, (_, i) => String(100 + i));
  await fs.writeFile(corpus, `${[...words, ...digits].join(' ')}\n${words.join(' ')}\n`);
  const vocab = path.join(dataDir, 'vocab.txt');
  await runTrainerProcess({ config: trainerConfig, args: ['build-vocab', '--corpus', corpus, '--size', '2000', '--out', vocab] });
  const teacherRel = 'teacher';
  await runTrainerProcess({
    config: trainerConfig,
    args: [
      'init-model',
      '--out',
      path.join(dataDir, teacherRel),
      '--vocab',
      vocab,
      '--task',
      task,
      ...(task === 'classification' ? ['--labels', Object.keys(TOPICS).join(',')] : []),
      '--layers',
      '2',
      '--hidden',
      '64',
      '--heads',
      '4',
      '--intermediate',
      '128',
      '--max-position',
      '128',
      '--seed',
      String(seed),
    ],
  });
  return { dataDir, teacherRel, trainRel, evalRel };
}

/**
 * Reads the hand-written check set (test/fixtures/check-set/): help-center passages with
 * questions in SQuAD v2.0 JSON, and chatbot utterances as `{"text", "label"}` JSONL, the formats
 * the evaluator already reads. Bad rows throw an Error naming the file and the item to fix.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type ClassificationExample, readClassificationJsonl } from '../../src/training/evaluation/eval-data.js';

/** The fixture folder in this repository. */
export const DEFAULT_FIXTURE_DIR = path.resolve(import.meta.dirname, '../../test/fixtures/check-set');

export interface CheckQuestion {
  id: string;
  question: string;
  context: string;
  /** Passage title and writing style (FAQ, policy page, ...), as the fixture states them. */
  title: string;
  style: string;
  /** The gold answer as written in the context; null when the passage does not answer it. */
  gold: string | null;
  /** UTF-16 offset of `gold` in `context` (equal to the code point offset: the text stays in the BMP). */
  answerStart: number | null;
  /** The answer starts at context token 128 or later: outside the first window whatever the question. */
  beyondFirst128Tokens: boolean;
}

export interface CheckSet {
  passages: number;
  questions: CheckQuestion[];
  utterances: ClassificationExample[];
}

interface SquadQa {
  id: string;
  question: string;
  answers?: { text: string; answer_start: number }[];
  is_impossible?: boolean;
  beyond_first_128_tokens?: boolean;
}

interface SquadDoc {
  data?: { title?: string; style?: string; paragraphs: { context: string; qas: SquadQa[] }[] }[];
}

/** Reads `support-qa.json` and `support-intent.jsonl` from `dir`. */
export async function readCheckSet(dir: string = DEFAULT_FIXTURE_DIR): Promise<CheckSet> {
  const qaFile = path.join(dir, 'support-qa.json');
  let doc: SquadDoc;
  try {
    doc = JSON.parse(await fs.readFile(qaFile, 'utf8')) as SquadDoc;
  } catch (err) {
    throw new Error(`${qaFile}: cannot read it as JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(doc.data)) throw new Error(`${qaFile}: not SQuAD v2.0 JSON (no "data" list)`);
  const questions: CheckQuestion[] = [];
  let passages = 0;
  for (const article of doc.data) {
    for (const paragraph of article.paragraphs) {
      passages += 1;
      for (const qa of paragraph.qas) {
        const answer = qa.is_impossible ? undefined : qa.answers?.[0];
        if (!qa.is_impossible && !answer) throw new Error(`${qaFile}: question ${qa.id} has no answer and is not marked is_impossible`);
        questions.push({
          id: qa.id,
          question: qa.question,
          context: paragraph.context,
          title: article.title ?? '',
          style: article.style ?? '',
          gold: answer?.text ?? null,
          answerStart: answer?.answer_start ?? null,
          beyondFirst128Tokens: qa.beyond_first_128_tokens === true,
        });
      }
    }
  }
  const utterances = await readClassificationJsonl(path.join(dir, 'support-intent.jsonl'));
  return { passages, questions, utterances };
}

/**
 * Reads the hand-written check set (test/fixtures/check-set/): help-center passages with
 * questions in SQuAD v2.0 JSON, and chatbot utterances as `{"text", "label"}` JSONL, the formats
 * the evaluator already reads. Bad rows throw CheckSetInputError naming the file and the item to fix.
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

/**
 * A check set that cannot be scored as given: a missing or malformed file, a question without
 * an answer, an answer not at its offset. The message names the file and the item to fix;
 * `npm run models:check` exits 2 on it.
 */
export class CheckSetInputError extends Error {
  override name = 'CheckSetInputError';
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/** The question, or CheckSetInputError naming the field to fix (`where`: file and item). */
function readQuestion(qa: unknown, where: string, context: string, article: Json): CheckQuestion {
  if (!isObject(qa)) throw new CheckSetInputError(`${where}: each of "qas" must be an object {id, question, answers, is_impossible}`);
  if (!isText(qa.id)) throw new CheckSetInputError(`${where}: needs a string "id"`);
  const at = `${where} (question ${qa.id})`;
  if (!isText(qa.question)) throw new CheckSetInputError(`${at}: needs a non-empty string "question"`);
  let gold: string | null = null;
  let answerStart: number | null = null;
  if (qa.is_impossible !== true) {
    const answer: unknown = Array.isArray(qa.answers) ? qa.answers[0] : undefined;
    if (answer === undefined) throw new CheckSetInputError(`${at}: has no answer and is not marked is_impossible`);
    if (!isObject(answer) || !isText(answer.text) || !Number.isInteger(answer.answer_start)) {
      throw new CheckSetInputError(`${at}: an answer is {"text": non-empty string, "answer_start": integer offset in the context}`);
    }
    const start = answer.answer_start as number;
    if (context.slice(start, start + answer.text.length) !== answer.text) {
      const found = context.indexOf(answer.text);
      throw new CheckSetInputError(
        `${at}: answer ${JSON.stringify(answer.text)} is not at answer_start ${start} of its context${found >= 0 ? ` (it is at ${found})` : ' (the context does not contain it)'}`,
      );
    }
    gold = answer.text;
    answerStart = start;
  }
  return {
    id: qa.id,
    question: qa.question,
    context,
    title: typeof article.title === 'string' ? article.title : '',
    style: typeof article.style === 'string' ? article.style : '',
    gold,
    answerStart,
    beyondFirst128Tokens: qa.beyond_first_128_tokens === true,
  };
}

/**
 * Reads `support-qa.json` and `support-intent.jsonl` from `dir`. Throws CheckSetInputError for a
 * missing or malformed file or item, naming the file and the item (question id or line).
 */
export async function readCheckSet(dir: string = DEFAULT_FIXTURE_DIR): Promise<CheckSet> {
  const qaFile = path.join(dir, 'support-qa.json');
  const text = await fs.readFile(qaFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new CheckSetInputError(`${qaFile}: cannot read it (${err.code ?? err.message}); --fixture-dir needs support-qa.json and support-intent.jsonl`);
  });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CheckSetInputError(`${qaFile}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(doc) || !Array.isArray(doc.data)) throw new CheckSetInputError(`${qaFile}: not SQuAD v2.0 JSON (no "data" list)`);
  const questions: CheckQuestion[] = [];
  let passages = 0;
  doc.data.forEach((article: unknown, a: number) => {
    if (!isObject(article) || !Array.isArray(article.paragraphs)) throw new CheckSetInputError(`${qaFile}: data[${a}] needs a "paragraphs" list`);
    article.paragraphs.forEach((paragraph: unknown, p: number) => {
      const where = `${qaFile}: data[${a}].paragraphs[${p}]`;
      if (!isObject(paragraph) || !isText(paragraph.context) || !Array.isArray(paragraph.qas)) {
        throw new CheckSetInputError(`${where} needs a non-empty string "context" and a "qas" list`);
      }
      passages += 1;
      for (const qa of paragraph.qas) questions.push(readQuestion(qa, where, paragraph.context, article));
    });
  });
  if (questions.length === 0) throw new CheckSetInputError(`${qaFile}: has no questions to score`);
  let utterances: ClassificationExample[];
  try {
    utterances = await readClassificationJsonl(path.join(dir, 'support-intent.jsonl'));
  } catch (err) {
    throw new CheckSetInputError((err as Error).message);
  }
  if (utterances.length === 0) throw new CheckSetInputError(`${path.join(dir, 'support-intent.jsonl')}: has no utterances to score`);
  return { passages, questions, utterances };
}

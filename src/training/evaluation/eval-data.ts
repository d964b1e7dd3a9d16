/**
 * Reads an eval split in the trainer's formats into what the serving API takes, so a model is
 * scored through exactly the code path that serves it.
 */
import { promises as fs } from 'node:fs';

export interface ClassificationExample {
  input: string | { text: string; text_pair: string };
  label: string;
}

export interface QaExample {
  id: string;
  question: string;
  context: string;
  /** Acceptable answers; empty when the question is unanswerable. */
  answers: string[];
}

/**
 * Reads a classification JSONL eval file. A label is a class name or, GLUE style, an integer
 * row of the classifier: `labels` (the served config's names in row order) turns row i into
 * labels[i], the rule the trainer applies (trainer/distillery_trainer/labels.py).
 */
export async function readClassificationJsonl(file: string, labels: readonly string[] = []): Promise<ClassificationExample[]> {
  const text = await readUtf8(file);
  const out: ClassificationExample[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let row: { text?: unknown; text_pair?: unknown; label?: unknown };
    try {
      row = JSON.parse(line) as typeof row;
    } catch {
      throw new Error(`${file}:${i + 1}: not valid JSON`);
    }
    const integer = typeof row.label === 'number' && Number.isInteger(row.label);
    if (typeof row.text !== 'string' || !(typeof row.label === 'string' || integer)) {
      throw new Error(`${file}:${i + 1}: needs a string "text" and a "label" (class name or integer row of the classifier)`);
    }
    const label = integer ? labels[row.label as number] : (row.label as string);
    if (label === undefined) {
      throw new Error(`${file}:${i + 1}: integer label ${row.label} is not a row of the model's ${labels.length} labels`);
    }
    const input = typeof row.text_pair === 'string' ? { text: row.text, text_pair: row.text_pair } : row.text;
    out.push({ input, label });
  });
  return out;
}

/** A UTF-8 file's text, without the byte order mark "UTF-8 with BOM" editors write (the trainer reads it as utf-8-sig). */
async function readUtf8(file: string): Promise<string> {
  const text = await fs.readFile(file, 'utf8');
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

interface SquadFile {
  data: { paragraphs: { context: string; qas: { id: string; question: string; answers?: { text: string }[]; is_impossible?: boolean }[] }[] }[];
}

export async function readSquad(file: string): Promise<QaExample[]> {
  let doc: SquadFile;
  try {
    doc = JSON.parse(await readUtf8(file)) as SquadFile;
  } catch {
    throw new Error(`${file}: not valid JSON`);
  }
  if (!Array.isArray(doc?.data)) throw new Error(`${file}: not SQuAD JSON (no "data" list)`);
  const out: QaExample[] = [];
  for (const article of doc.data) {
    for (const paragraph of article.paragraphs) {
      for (const qa of paragraph.qas) {
        const answers = qa.is_impossible ? [] : (qa.answers ?? []).map((a) => a.text);
        out.push({ id: qa.id, question: qa.question, context: paragraph.context, answers });
      }
    }
  }
  return out;
}

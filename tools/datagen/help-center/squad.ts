/** SQuAD v2.0 documents: building them from passages and checking every answer span. */
import type { Passage, QaQuestion } from './index.js';

export interface SquadDocument {
  version: 'v2.0';
  data: Array<{ title: string; paragraphs: Array<{ context: string; qas: QaQuestion[] }> }>;
}

export function toSquad(passages: readonly Passage[]): SquadDocument {
  return {
    version: 'v2.0',
    data: passages.map((p) => ({ title: p.title, paragraphs: [{ context: p.context, qas: p.qas }] })),
  };
}

/**
 * Every problem in a document, or [] when it is sound: answers must be exact substrings at
 * answer_start, unanswerable questions must have no answers, ids must be unique, and text
 * must be NFC without characters outside the BMP (where JS and Python offsets would differ).
 */
export function verifySquad(doc: SquadDocument): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  if (doc.version !== 'v2.0') problems.push(`version is ${String(doc.version)}`);
  for (const article of doc.data) {
    for (const { context, qas } of article.paragraphs) {
      if (context !== context.normalize('NFC')) problems.push(`context of "${article.title}" is not NFC`);
      if (/[\uD800-\uDFFF]/.test(context)) problems.push(`context of "${article.title}" has characters outside the BMP`);
      if (/[\n\r]/.test(context)) problems.push(`context of "${article.title}" has a line break`);
      for (const qa of qas) {
        if (ids.has(qa.id)) problems.push(`duplicate id ${qa.id}`);
        ids.add(qa.id);
        if (!qa.question.trim()) problems.push(`${qa.id}: empty question`);
        if (qa.is_impossible && qa.answers.length > 0) problems.push(`${qa.id}: impossible but has answers`);
        if (!qa.is_impossible && qa.answers.length === 0) problems.push(`${qa.id}: answerable but no answers`);
        for (const a of qa.answers) {
          const found = context.slice(a.answer_start, a.answer_start + a.text.length);
          if (!a.text || found !== a.text) problems.push(`${qa.id}: span at ${a.answer_start} is "${found}", not "${a.text}"`);
        }
      }
    }
  }
  return problems;
}

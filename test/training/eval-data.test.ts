import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClassificationJsonl } from '../../src/training/evaluation/eval-data.js';

let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'distillery-eval-data-'));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function file(name: string, lines: object[]): Promise<string> {
  const p = path.join(dir, name);
  await fs.writeFile(p, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  return p;
}

describe('classification eval data', () => {
  it("integer labels (GLUE style) name the served model's rows, as in the trainer", async () => {
    const glue = await file('glue.jsonl', [
      { text: 'a', label: 1 },
      { text: 'b', text_pair: 'c', label: 0 },
    ]);
    expect(await readClassificationJsonl(glue, ['refund', 'late'])).toEqual([
      { input: 'a', label: 'late' },
      { input: { text: 'b', text_pair: 'c' }, label: 'refund' },
    ]);
  });

  it('refuses an integer label past the last row, or a label of another type, naming the line', async () => {
    const past = await file('past.jsonl', [
      { text: 'a', label: 0 },
      { text: 'b', label: 2 },
    ]);
    await expect(readClassificationJsonl(past, ['x', 'y'])).rejects.toThrow(`${past}:2: integer label 2 is not a row of the model's 2 labels`);
    const other = await file('other.jsonl', [{ text: 'a', label: 1.5 }]);
    await expect(readClassificationJsonl(other, ['x', 'y'])).rejects.toThrow(`${other}:1: needs a string "text" and a "label"`);
  });

  it('reads a file saved as UTF-8 with a byte order mark, as the trainer does', async () => {
    const bom = path.join(dir, 'bom.jsonl');
    await fs.writeFile(bom, '\uFEFF{"text":"a","label":"x"}\r\n{"text":"b","label":0}\r\n');
    expect(await readClassificationJsonl(bom, ['y'])).toEqual([
      { input: 'a', label: 'x' },
      { input: 'b', label: 'y' },
    ]);
  });
});

/** Serialising the datasets: JSONL and JSON text, hashing, and writing files whole. */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../src/inference/registry/atomic.js';

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function toJsonl(rows: readonly unknown[]): string {
  return `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`;
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** Lines in first-seen order with duplicates and blanks removed. */
export function dedupeLines(lines: Iterable<string>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of lines) {
    const line = raw.replace(/[\r\n]+/g, ' ').trim();
    if (!line || seen.has(line)) continue;
    seen.add(line);
    out.push(line);
  }
  return out;
}

/**
 * Write `content` to `outDir/relPath` through a temp file and a rename, so a reader never sees
 * half a file. Returns the content's sha256.
 */
export async function writeOutput(outDir: string, relPath: string, content: string): Promise<string> {
  await writeFileAtomic(path.join(outDir, ...relPath.split('/')), content);
  return sha256(content);
}

/** sha256 over every .ts file under `dir` (sorted relative paths and contents) plus `extra`. */
export async function hashSources(dir: string, extra: string): Promise<string> {
  const files: string[] = [];
  const walk = async (sub: string): Promise<void> => {
    const entries = await fs.readdir(path.join(dir, sub), { withFileTypes: true });
    for (const entry of entries) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isFile() && entry.name.endsWith('.ts')) files.push(rel);
    }
  };
  await walk('');
  files.sort();
  const hash = createHash('sha256');
  for (const rel of files) {
    hash.update(`${rel}\0`);
    hash.update(await fs.readFile(path.join(dir, ...rel.split('/'))));
    hash.update('\0');
  }
  hash.update(extra);
  return hash.digest('hex');
}

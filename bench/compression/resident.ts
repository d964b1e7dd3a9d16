/**
 * Resident memory of a process by what it maps, from Linux's /proc/<pid>/smaps: the part a model
 * adds (anonymous memory) told apart from the code every Node + ONNX Runtime process holds.
 */
import { readFileSync, realpathSync } from 'node:fs';

/** MiB of resident memory by mapping; file-backed pages are mostly code. */
export interface ResidentParts {
  /** Anonymous memory: V8's heap, ONNX Runtime's weights, prepacked copies, arena and graph. */
  anonymous: number;
  /** Pages of the Node binary (its code, the V8 snapshot and ICU data it touched). */
  node: number;
  /** Pages of ONNX Runtime's shared library and its Node binding. */
  onnxruntime: number;
  /** Every other mapped file (libc, libstdc++ ...). */
  otherFiles: number;
}

const MAPPING = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/;
const RSS = /^Rss:\s+(\d+) kB/;

/**
 * Sums the `Rss:` lines of an smaps text (kB) into MiB per part. A mapping without a path (or a
 * pseudo-path such as `[heap]`, `[stack]`) counts as anonymous; `nodeBinary` is the resolved path
 * of the Node executable; ONNX Runtime is any path naming it.
 */
export function parseSmaps(smaps: string, nodeBinary: string): ResidentParts {
  const parts: ResidentParts = { anonymous: 0, node: 0, onnxruntime: 0, otherFiles: 0 };
  let part: keyof ResidentParts = 'anonymous';
  for (const line of smaps.split('\n')) {
    const mapping = MAPPING.exec(line);
    if (mapping) {
      const file = mapping[1]!;
      if (!file.startsWith('/')) part = 'anonymous';
      else if (file === nodeBinary) part = 'node';
      else if (file.includes('onnxruntime')) part = 'onnxruntime';
      else part = 'otherFiles';
      continue;
    }
    const rss = RSS.exec(line);
    if (rss) parts[part] += Number(rss[1]) / 1024;
  }
  return parts;
}

/** This process's resident MiB by part; all zero where /proc/self/smaps cannot be read (not Linux). */
export function residentParts(): ResidentParts {
  let smaps: string;
  try {
    smaps = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return { anonymous: 0, node: 0, onnxruntime: 0, otherFiles: 0 };
  }
  return parseSmaps(smaps, realpathSync(process.execPath));
}

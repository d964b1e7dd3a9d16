/** A small Dockerfile reader for the deploy tests: instructions grouped by build stage. */

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  /** The `AS name`, or the stage index when there is none. */
  name: string;
  /** Base image with global ARG defaults substituted. */
  from: string;
  instructions: Instruction[];
}

/** Logical lines: comments and blank lines dropped, backslash continuations joined. */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (current !== '' && line.startsWith('#')) continue; // comment inside a continued instruction
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    out.push((current + line).trim());
    current = '';
  }
  if (current.trim() !== '') out.push(current.trim());
  return out;
}

export function dockerfileStages(text: string): Stage[] {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logicalLines(text)) {
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!;
    if (keyword === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`cannot read FROM ${args}`);
      const from = f[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_w, a, b) => globalArgs.get((a ?? b) as string) ?? '');
      stages.push({ name: f[2] ?? String(stages.length), from, instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      if (keyword === 'ARG') {
        const a = /^(\w+)(?:=(.*))?$/.exec(args);
        if (a)
          globalArgs.set(
            a[1]!,
            (a[2] ?? '').replace(/\$\{(\w+)\}/g, (_w, n: string) => globalArgs.get(n) ?? ''),
          );
      }
      continue;
    }
    stage.instructions.push({ keyword, args });
  }
  return stages;
}

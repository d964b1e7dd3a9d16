import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** Scripts that chain several programs: no one process can take the shell's place. */
const CHAINS = new Set(['test']);

describe('npm scripts', () => {
  // npm runs a script under `sh -c` and forwards SIGTERM to that shell. Debian's dash forks the
  // command instead of replacing itself, so without exec the shell dies and the program runs on
  // as an orphan: `npm run models:build` stopped that way kept training in the background.
  it.each(Object.entries(scripts).filter(([name]) => !CHAINS.has(name)))('%s runs its program with exec, in the shell’s place', (_name, command) => {
    // Optional `cd DIR &&`, optional VAR=value assignments, then exec.
    expect(command).toMatch(/^(cd \S+ && )?(\w+=\S+ )*exec \S/);
    expect(command.replace(/^cd \S+ && /, '')).not.toMatch(/&&|\|\||;/);
  });

  it('names each chain it exempts', () => {
    for (const name of CHAINS) expect(scripts[name]).toMatch(/&&/);
  });
});

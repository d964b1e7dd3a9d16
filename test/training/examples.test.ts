import { promises as fs } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../src/training/job-spec.js';

describe('examples/', () => {
  it('every example spec is valid against the job spec schema', async () => {
    const files = (await fs.readdir('examples')).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      const spec = parseJobSpec(JSON.parse(await fs.readFile(`examples/${file}`, 'utf8')));
      expect(spec.type).toBe('distill');
    }
  });
});

/**
 * One Node.js line for the whole project (README, "Node.js line"): package.json engines, the
 * Node CI runs these tests on, the images' NODE_VERSION and every installed dependency's own
 * engines must agree, so `npm ci` (engine-strict) neither warns nor refuses anywhere.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; optional?: boolean; os?: string[]; cpu?: string[] }>;
};
const imageLine = /^ARG NODE_VERSION=(\d+)$/m.exec(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'))?.[1];

describe('Node.js line', () => {
  it('CI runs on a Node that package.json engines accepts, and the images use the same major', () => {
    expect(semver.satisfies(process.version, pkg.engines.node), `${process.version} vs engines ${pkg.engines.node}`).toBe(true);
    expect(imageLine).toBe(String(semver.major(process.version)));
    // The oldest Node that engines allows is of the same line (no promise for an untested one).
    expect(semver.minVersion(pkg.engines.node)?.major).toBe(semver.major(process.version));
  });

  it('every locked dependency supports the oldest Node the project allows and the one CI runs', () => {
    const oldest = semver.minVersion(pkg.engines.node)?.version as string;
    const refused: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      if (!where || Array.isArray(entry.engines) || !entry.engines?.node) continue;
      for (const node of [oldest, process.version]) {
        if (!semver.satisfies(node, entry.engines.node)) refused.push(`${where}@${entry.version} needs node ${entry.engines.node} (not ${node})`);
      }
    }
    expect(refused).toEqual([]);
  });

  it('npm refuses a Node or a dependency outside the line instead of warning', () => {
    expect(readFileSync(path.join(ROOT, '.npmrc'), 'utf8')).toMatch(/^engine-strict=true$/m);
  });
});

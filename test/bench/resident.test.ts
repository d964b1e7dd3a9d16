import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSmaps, residentParts } from '../../bench/compression/resident.js';

const SMAPS = `00400000-00800000 r-xp 00000000 08:01 123 /usr/bin/node
Size:               4096 kB
Rss:                2048 kB
7f0000000000-7f0000100000 rw-p 00000000 00:00 0
Rss:                1024 kB
7f0000200000-7f0000300000 r-xp 00000000 08:01 456 /app/node_modules/onnxruntime-node/bin/libonnxruntime.so.1
Rss:                 512 kB
7f0000400000-7f0000500000 r-xp 00000000 08:01 789 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                 256 kB
55d000000000-55d000100000 rw-p 00000000 00:00 0                          [heap]
Rss:                3072 kB
`;

describe('parseSmaps', () => {
  it('sums each mapping into its part: the Node binary, ONNX Runtime, other files, anonymous (heap included)', () => {
    expect(parseSmaps(SMAPS, '/usr/bin/node')).toEqual({ node: 2, anonymous: 4, onnxruntime: 0.5, otherFiles: 0.25 });
  });

  it('counts the Node binary by its resolved path only', () => {
    expect(parseSmaps(SMAPS, '/opt/node/bin/node')).toMatchObject({ node: 0, otherFiles: 2.25 });
  });
});

describe.runIf(process.platform === 'linux')('residentParts of this process', () => {
  it('adds up to its VmRSS, with the Node binary mapped', () => {
    const parts = residentParts();
    const vmRss = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
    const sum = parts.anonymous + parts.node + parts.onnxruntime + parts.otherFiles;
    // Two reads a moment apart in a live process: the heap may move by a few MiB in between.
    expect(Math.abs(sum - vmRss)).toBeLessThan(Math.max(8, vmRss * 0.05));
    expect(parts.node).toBeGreaterThan(1);
  });
});

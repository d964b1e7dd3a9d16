/**
 * A worker whose WORKER_METRICS_PORT is taken stops with a message naming the setting, not an
 * unhandled 'error' event and a stack trace (and before it takes any job).
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startProcess } from './processes.js';

describe('worker metrics port', () => {
  it('a busy port ends the worker with exit 1 and a message that names WORKER_METRICS_PORT', async () => {
    const busy = createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const address = busy.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const worker = startProcess('src/queue/worker-main.ts', {
        WORKER_METRICS_PORT: String(port),
        WORKER_METRICS_HOST: '127.0.0.1',
        QUEUE_PREFIX: `dport${process.pid}`,
        REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      });
      const [code] = (await once(worker.child, 'exit')) as [number | null];
      expect(code).toBe(1);
      expect(worker.output()).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use; set WORKER_METRICS_PORT`));
      expect(worker.output()).not.toMatch(/Unhandled 'error' event|at Server\.setupListenHandle/);
    } finally {
      busy.close();
    }
  }, 60_000);
});

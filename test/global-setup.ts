/**
 * Makes sure a real Redis answers for the tests that need one: REDIS_URL when set, else
 * 127.0.0.1:6379, else a redis-server started here on a free port (and stopped afterwards).
 * Test files read the address from process.env.REDIS_URL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

async function answers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 500, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

let started: ChildProcess | undefined;

export async function setup(): Promise<void> {
  const wanted = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await answers(wanted)) {
    process.env.REDIS_URL = wanted;
    return;
  }
  const port = await freePort();
  started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i += 1) {
    if (await answers(url)) {
      process.env.REDIS_URL = url;
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no Redis answers and redis-server could not be started (install it: scripts/install-system-deps.sh)');
}

export async function teardown(): Promise<void> {
  started?.kill('SIGTERM');
}

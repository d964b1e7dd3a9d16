/** Test clean-up: the Redis keys a test's own queue prefix left behind. */
import { Redis } from 'ioredis';

/** Deletes every key of `redisUrl` that starts with `prefix` (SCAN, never KEYS on a shared server). */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.del(...keys);
    }
  } catch {
    // Redis gone: nothing left to clean.
  } finally {
    redis.disconnect();
  }
}

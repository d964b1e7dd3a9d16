/**
 * Redis connections for the two sides of the queue. The API must fail fast when Redis is down
 * (job routes answer 503 while inference keeps serving), so its connection neither queues
 * commands offline nor retries them; BullMQ's worker needs the opposite (blocking commands that
 * wait through reconnects).
 */
import { Redis, type RedisOptions } from 'ioredis';

export type ConnectionRole = 'api' | 'worker' | 'subscriber';

export function createRedis(url: string, role: ConnectionRole, onError?: (err: Error) => void): Redis {
  const options: RedisOptions =
    role === 'api' ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 } : { maxRetriesPerRequest: null, enableOfflineQueue: true };
  const redis = new Redis(url, {
    ...options,
    lazyConnect: false,
    // Reconnect forever with a capped delay: Redis coming back must heal every process by itself.
    retryStrategy: (times) => Math.min(200 * times, 2000),
  });
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash.
  redis.on('error', (err: Error) => onError?.(err));
  return redis;
}

export function isRedisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}

/**
 * "Model published / activated" events on Redis pub/sub. The registry folder (a shared volume) is
 * the truth; the event only tells every API replica to look now instead of at its next poll.
 * A replica that was down misses events and catches up from the registry when it starts.
 */
import type { Redis } from 'ioredis';
import { createRedis } from './redis-connection.js';

export interface ModelEvent {
  /** published: a job wrote a version; activated / rollout: a replica changed state.json (activation, canary, shadow). */
  type: 'published' | 'activated' | 'rollout';
  model: string;
  version: number;
  /** Whether the version is now the active one. */
  active: boolean;
  job_id?: string;
}

export async function publishModelEvent(redis: Redis, channel: string, event: ModelEvent): Promise<void> {
  await redis.publish(channel, JSON.stringify(event));
}

export interface ModelEventSubscription {
  close(): Promise<void>;
}

export interface SubscribeOptions {
  redisUrl: string;
  channel: string;
  onEvent: (event: ModelEvent) => void;
  onError?: (err: Error) => void;
  /**
   * Called each time the subscription is (re)established: events sent while Redis was away are
   * lost, so the caller looks at the registry then.
   */
  onConnected?: () => void;
}

/**
 * Subscribes without waiting for Redis: returns at once, also when Redis is down at start, and
 * keeps reconnecting (ioredis re-subscribes by itself after each reconnect). Serving never waits
 * on Redis.
 */
export function subscribeModelEvents(opts: SubscribeOptions): ModelEventSubscription {
  const sub = createRedis(opts.redisUrl, 'subscriber', opts.onError);
  sub.subscribe(opts.channel).catch((err: Error) => opts.onError?.(err));
  sub.on('ready', () => opts.onConnected?.());
  sub.on('message', (channel: string, message: string) => {
    if (channel !== opts.channel) return;
    try {
      const event = JSON.parse(message) as ModelEvent;
      if (typeof event.model === 'string' && Number.isInteger(event.version)) opts.onEvent(event);
    } catch (err) {
      opts.onError?.(err as Error);
    }
  });
  let closed = false;
  return {
    async close() {
      if (closed) return;
      closed = true;
      sub.disconnect();
    },
  };
}

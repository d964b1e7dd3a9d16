import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../src/inference/keyed-mutex.js';

/** A promise and the functions that settle it, so a test decides when a run ends. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('KeyedMutex', () => {
  it('runs one key first in, first out, one at a time', async () => {
    const lock = new KeyedMutex();
    const order: string[] = [];
    const first = gate();
    const a = lock.run('m', async () => {
      order.push('a start');
      await first.opened;
      order.push('a end');
      return 'a';
    });
    const b = lock.run('m', async () => {
      order.push('b');
      return 'b';
    });
    await Promise.resolve();
    expect(order).toEqual(['a start']);
    first.open();
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
    expect(order).toEqual(['a start', 'a end', 'b']);
  });

  it('lets different keys run side by side', async () => {
    const lock = new KeyedMutex();
    const held = gate();
    const slow = lock.run('x', () => held.opened);
    expect(await lock.run('y', async () => 'y ran')).toBe('y ran');
    held.open();
    await slow;
  });

  it('releases the key when fn throws, and forgets idle keys', async () => {
    const lock = new KeyedMutex();
    await expect(
      lock.run('k', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await lock.run('k', async () => 2)).toBe(2);
    await new Promise((r) => setTimeout(r, 0));
    expect(lock.busyKeys).toBe(0);
  });
});

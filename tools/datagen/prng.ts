/**
 * Seeded pseudo-random numbers. Everything the generator produces derives from one `Rng`,
 * so the same seed gives byte-identical files. Never use Math.random in tools/datagen.
 */

/** 32-bit FNV-1a hash of a string: used to derive independent child streams by name. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for data generation (not for cryptography). */
export class Rng {
  private state: number;

  /** Use `Rng.fromSeed` or `fork`; `path` names the stream so forks stay independent. */
  private constructor(private readonly path: string) {
    this.state = hashString(path);
  }

  /** The root stream for a seed. */
  static fromSeed(seed: number): Rng {
    return new Rng(`distillery-datagen:${seed}`);
  }

  /**
   * An independent stream named `label`, seeded from this stream's name and the label only.
   * Adding draws to one module therefore never shifts the numbers another module sees.
   */
  fork(label: string): Rng {
    return new Rng(`${this.path}/${label}`);
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both ends included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick on an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** A new shuffled copy (Fisher-Yates); the input is left alone. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /** `count` distinct items (or all of them, shuffled, when there are fewer). */
  sample<T>(items: readonly T[], count: number): T[] {
    return this.shuffle(items).slice(0, count);
  }
}

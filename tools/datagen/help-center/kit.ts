/** What a topic's passage builder gets: the shop it writes for and seeded helpers. */
import type { Rng } from '../prng.js';
import type { PassageDraft } from './prose.js';
import type { Shop } from './shops.js';

export interface Kit {
  readonly rng: Rng;
  readonly shop: Shop;
  readonly brand: string;
  readonly city: string;
  /** Amount in local currency; `base` is roughly euros. */
  money(base: number): string;
  pick<T>(items: readonly T[]): T;
  int(min: number, max: number): number;
  phone(): string;
  street(): string;
  /** An address at the shop's domain, e.g. returns@larkspur-home.com */
  email(local: string): string;
  hours(): string;
}

export interface Topic {
  /** Stable id, e.g. "shipping-options". */
  id: string;
  /** Leave out the shared "still need help? call us" footer (the topic has its own contacts). */
  noContactFooter?: boolean;
  build(kit: Kit): Omit<PassageDraft, 'topic' | 'slots'>;
}

export function makeKit(rng: Rng, shop: Shop): Kit {
  return {
    rng,
    shop,
    brand: shop.brand,
    city: shop.region.city,
    money: (base) => shop.region.money(base),
    pick: (items) => rng.pick(items),
    int: (min, max) => rng.int(min, max),
    phone: () => shop.region.phone(rng),
    street: () => shop.region.street(rng),
    email: (local) => `${local}@${shop.domain}`,
    hours: () => rng.pick(shop.region.hours),
  };
}

/**
 * Entity generators for utterance slots: order numbers in several formats, dates, products,
 * amounts with currencies, emails, cities, tracking numbers and so on. Each is a pure
 * function of the Rng it is given.
 */
import type { Rng } from './prng.js';
import type { SlotFillers } from './template.js';

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const ALNUM = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

function digits(rng: Rng, n: number): string {
  let s = String(rng.int(1, 9));
  for (let i = 1; i < n; i++) s += String(rng.int(0, 9));
  return s;
}

function chars(rng: Rng, alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[rng.int(0, alphabet.length - 1)];
  return s;
}

export function orderNumber(rng: Rng): string {
  switch (rng.int(0, 6)) {
    case 0:
      return `#${digits(rng, rng.int(5, 7))}`;
    case 1:
      return `ORD-${rng.int(2022, 2025)}-${digits(rng, 5)}`;
    case 2:
      return chars(rng, ALNUM, 8);
    case 3:
      return `${digits(rng, 3)}-${digits(rng, 7)}-${digits(rng, 7)}`;
    case 4:
      return digits(rng, rng.int(6, 9));
    case 5:
      return `${chars(rng, UPPER, 2)}${digits(rng, 6)}`;
    default:
      return `#${chars(rng, UPPER, 1)}-${digits(rng, 5)}`;
  }
}

export function trackingNumber(rng: Rng): string {
  switch (rng.int(0, 4)) {
    case 0:
      return `1Z${chars(rng, ALNUM, 16)}`;
    case 1:
      return `9400 ${digits(rng, 4)} ${digits(rng, 4)} ${digits(rng, 4)} ${digits(rng, 4)} ${digits(rng, 2)}`;
    case 2:
      return `${chars(rng, UPPER, 2)}${digits(rng, 9)}${rng.pick(['DE', 'GB', 'FR', 'CH', 'BR', 'PL'])}`;
    case 3:
      return `JD${digits(rng, 16)}`;
    default:
      return digits(rng, 12);
  }
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

export function date(rng: Rng): string {
  const month = rng.int(1, 12);
  const day = rng.int(1, 28);
  const monthName = MONTHS[month - 1] ?? 'May';
  switch (rng.int(0, 9)) {
    case 0:
      return `${monthName} ${day}`;
    case 1:
      return `${monthName} ${ordinal(day)}`;
    case 2:
      return `${month}/${day}`;
    case 3:
      return `${day}.${month}.`;
    case 4:
      return `${rng.int(2023, 2025)}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
    case 5:
      return `the ${ordinal(day)}`;
    case 6:
      return `last ${rng.pick(WEEKDAYS)}`;
    case 7:
      return rng.pick(['yesterday', 'two days ago', 'last week', 'a week ago', 'ten days ago', 'two weeks ago', 'earlier today']);
    case 8:
      return `${day} ${monthName.slice(0, 3)}`;
    default:
      return `on ${rng.pick(WEEKDAYS)}`;
  }
}

const PRODUCTS = [
  'wireless earbuds',
  'standing desk',
  'coffee grinder',
  'trail running shoes',
  'yoga mat',
  'air fryer',
  '27 inch monitor',
  'mechanical keyboard',
  'rain jacket',
  'cast iron skillet',
  'baby stroller',
  'phone case',
  'espresso machine',
  'hiking backpack',
  'robot vacuum',
  'winter boots',
  'desk lamp',
  'bluetooth speaker',
  'kids bike',
  'duvet cover',
  'smart watch',
  'electric toothbrush',
  'gaming chair',
  'blender',
  'usb-c charger',
  'wool sweater',
  'noise cancelling headphones',
  'office chair',
  'tent',
  'water bottle',
  'sofa cushion set',
  'laptop sleeve',
  'dining table',
  'perfume gift set',
  'linen shirt',
  'skincare bundle',
  'tablet',
  'slow cooker',
  'camping stove',
  'denim jacket',
  'e-reader',
  'ceramic vase',
];

export function product(rng: Rng): string {
  const name = rng.pick(PRODUCTS);
  if (rng.chance(0.15)) return `${name} (${rng.pick(['black', 'size M', 'size 42', 'blue', 'large', 'grey', '2 pack'])})`;
  return name;
}

function decimal(n: number, sep: string): string {
  const whole = Math.floor(n);
  const cents = Math.round((n - whole) * 100);
  return `${whole}${sep}${String(cents).padStart(2, '0')}`;
}

export function amount(rng: Rng): string {
  const value = rng.int(5, 900) + rng.pick([0, 0.99, 0.5, 0.95, 0.49, 0]);
  const whole = Math.floor(value);
  switch (rng.int(0, 8)) {
    case 0:
      return `$${decimal(value, '.')}`;
    case 1:
      return `€${decimal(value, '.')}`;
    case 2:
      return `£${decimal(value, '.')}`;
    case 3:
      return `${decimal(value, '.')} EUR`;
    case 4:
      return `CHF ${decimal(value, '.')}`;
    case 5:
      return `R$ ${decimal(value, ',')}`;
    case 6:
      return `${whole} dollars`;
    case 7:
      return `${decimal(value, ',')} €`;
    default:
      return `$${whole}`;
  }
}

const FIRST = [
  'maria',
  'jose',
  'priya',
  'tom',
  'lena',
  'ahmed',
  'sofia',
  'kenji',
  'olga',
  'david',
  'fatima',
  'lucas',
  'emma',
  'noah',
  'chloe',
  'mateo',
  'ines',
  'sam',
  'hannah',
  'omar',
];
const LAST = [
  'lopez',
  'smith',
  'nguyen',
  'muller',
  'silva',
  'kowalski',
  'tanaka',
  'brown',
  'haddad',
  'rossi',
  'johansson',
  'dubois',
  'patel',
  'kim',
  'oconnor',
];
const DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'proton.me', 'icloud.com', 'gmx.de', 'hotmail.co.uk', 'web.de', 'example.org', 'mail.com'];

export function email(rng: Rng): string {
  const first = rng.pick(FIRST);
  const last = rng.pick(LAST);
  const local = rng.pick([`${first}.${last}`, `${first}${last}`, `${first}_${rng.int(1, 99)}`, `${first[0] ?? 'x'}${last}${rng.int(70, 99)}`]);
  return `${local}@${rng.pick(DOMAINS)}`;
}

export function personName(rng: Rng): string {
  return rng.pick(['Ana', 'José', 'Priya', 'Tom', 'Zoë', 'Ahmed', 'Sofia', 'Kenji', 'Olga', 'François', 'Lena', 'Mateo', 'Inês', 'Sam', 'Björn', 'Fatima']);
}

export const CITIES = [
  'Zürich',
  'São Paulo',
  'Chicago',
  'Lyon',
  'Kraków',
  'Austin',
  'Toronto',
  'Manchester',
  'Osaka',
  'München',
  'Malmö',
  'Bogotá',
  'Dublin',
  'Melbourne',
  'Montréal',
  'Seattle',
  'Madrid',
  'Köln',
  'Rotterdam',
  'Denver',
  'Glasgow',
  'Málaga',
  'Vienna',
  'Lisbon',
];

export function city(rng: Rng): string {
  return rng.pick(CITIES);
}

const STREETS = [
  'Maple Street',
  'Oak Avenue',
  'Rue de la République',
  'Hauptstraße',
  'Elm Road',
  'Calle Mayor',
  'King Street',
  'Lindenweg',
  'Rua Augusta',
  'Harbor Drive',
  'Station Road',
];

export function streetAddress(rng: Rng): string {
  return `${rng.int(1, 240)} ${rng.pick(STREETS)}, ${city(rng)}`;
}

export function discountCode(rng: Rng): string {
  switch (rng.int(0, 3)) {
    case 0:
      return rng.pick(['SAVE10', 'SAVE20', 'WELCOME15', 'FREESHIP', 'SPRING25', 'VIP30', 'STUDENT10']);
    case 1:
      return `${rng.pick(['SUMMER', 'WINTER', 'FALL', 'BDAY', 'THANKYOU'])}${rng.int(5, 40)}`;
    case 2:
      return `${chars(rng, ALNUM, 3)}-${chars(rng, ALNUM, 3)}`;
    default:
      return chars(rng, ALNUM, rng.int(6, 8));
  }
}

export function paymentMethod(rng: Rng): string {
  const last4 = String(rng.int(0, 9999)).padStart(4, '0');
  return rng.pick([
    `my Visa ending in ${last4}`,
    `Mastercard ending ${last4}`,
    'PayPal',
    'Apple Pay',
    'Google Pay',
    `my debit card ending ${last4}`,
    'my Amex',
    'a gift card',
    `card ending in ${last4}`,
    'bank transfer',
    'Klarna',
  ]);
}

export function dayCount(rng: Rng): string {
  return rng.pick(['2', '3', '4', '5', 'six', 'ten', '10', '12', 'two', 'three', '14']);
}

export function percent(rng: Rng): string {
  return `${rng.pick([5, 10, 15, 20, 25, 30, 40, 50])}%`;
}

const TEAMS = ['the Lakers', 'Real Madrid', 'Arsenal', 'the Yankees', 'Bayern', 'the Chiefs', 'FC Basel', 'Flamengo', 'the Maple Leafs', 'Juventus'];
const DISHES = [
  'lasagna',
  'banana bread',
  'pad thai',
  'risotto',
  'a sourdough starter',
  'pancakes',
  'chili',
  'paella',
  'ramen',
  'guacamole',
  'a roast chicken',
];
const TOPICS = [
  'the moon landing',
  'photosynthesis',
  'the French revolution',
  'black holes',
  'the Roman empire',
  'quantum computing',
  'the pyramids',
  'volcanoes',
  'the stock market',
];

/** Every slot the intent templates may use. */
export const INTENT_SLOTS: SlotFillers = {
  order: orderNumber,
  tracking: trackingNumber,
  date,
  product,
  amount,
  email,
  name: personName,
  city,
  address: streetAddress,
  code: discountCode,
  payment: paymentMethod,
  days: dayCount,
  pct: percent,
  team: (rng) => rng.pick(TEAMS),
  dish: (rng) => rng.pick(DISHES),
  topic: (rng) => rng.pick(TOPICS),
};

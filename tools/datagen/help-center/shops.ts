/**
 * Seeded "shops" the help-center passages are written for: a brand, a region with its city,
 * currency format, phone and address conventions. Several regions use non-ASCII names
 * (Zürich, São Paulo, Kraków, Malmö) so answer offsets get exercised on accented text.
 * Only characters from the Basic Multilingual Plane are used: JavaScript string offsets
 * (UTF-16 units) then equal Python offsets (code points), which the trainer uses.
 */
import type { Rng } from '../prng.js';

export interface Region {
  country: string;
  city: string;
  /** e.g. "Swiss francs (CHF)" */
  currencyName: string;
  /** What website prices include, e.g. "19% VAT". */
  tax: string;
  /** Format an amount given in "base" units (roughly euros) in local currency. */
  money: (base: number) => string;
  phone: (rng: Rng) => string;
  street: (rng: Rng) => string;
  carriers: readonly string[];
  /** Opening hours written the local way. */
  hours: readonly string[];
}

export interface Shop {
  brand: string;
  /** ASCII domain derived from the brand, for email addresses and URLs. */
  domain: string;
  region: Region;
}

function num(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(rng.int(i === 0 ? 1 : 0, 9));
  return s;
}

function withDecimals(value: number, sep: string, thousands = ''): string {
  const cents = Math.round(value * 100);
  const whole = Math.floor(cents / 100);
  const frac = String(cents % 100).padStart(2, '0');
  return `${group(whole, thousands)}${sep}${frac}`;
}

function group(whole: number, sep: string): string {
  const text = String(whole);
  if (!sep || text.length <= 3) return text;
  return text.replace(/\B(?=(\d{3})+(?!\d))/g, sep);
}

export const REGIONS: readonly Region[] = [
  {
    country: 'Switzerland',
    city: 'Zürich',
    tax: '8.1% VAT',
    currencyName: 'Swiss francs (CHF)',
    money: (b) => `CHF ${withDecimals(b * 1.05, '.', '\u2019')}`,
    phone: (r) => `+41 44 ${num(r, 3)} ${num(r, 2)} ${num(r, 2)}`,
    street: (r) => `Bahnhofstrasse ${r.int(2, 90)}, 8001 Zürich`,
    carriers: ['Swiss Post', 'DPD'],
    hours: ['Monday to Friday, 8:00 to 18:00', 'weekdays from 8:30 to 17:30'],
  },
  {
    country: 'Germany',
    city: 'München',
    tax: '19% VAT',
    currencyName: 'euros (EUR)',
    money: (b) => `${withDecimals(b, ',', '.')} €`,
    phone: (r) => `+49 89 ${num(r, 4)} ${num(r, 4)}`,
    street: (r) => `Leopoldstraße ${r.int(2, 180)}, 80802 München`,
    carriers: ['DHL', 'Hermes'],
    hours: ['Monday to Friday, 9:00 to 18:00', 'Monday to Saturday, 8:00 to 20:00'],
  },
  {
    country: 'France',
    city: 'Lyon',
    tax: '20% VAT (TVA)',
    currencyName: 'euros (EUR)',
    money: (b) => `${withDecimals(b, ',', '\u202f')} €`,
    phone: (r) => `+33 4 ${num(r, 2)} ${num(r, 2)} ${num(r, 2)} ${num(r, 2)}`,
    street: (r) => `${r.int(2, 120)} rue de la République, 69002 Lyon`,
    carriers: ['Colissimo', 'Chronopost'],
    hours: ['du lundi au vendredi (Monday to Friday), 9:00 to 18:00', 'Monday to Friday, 9:00 to 17:00'],
  },
  {
    country: 'Brazil',
    city: 'São Paulo',
    tax: 'all taxes, including ICMS',
    currencyName: 'Brazilian reais (BRL)',
    money: (b) => `R$ ${withDecimals(b * 5.5, ',', '.')}`,
    phone: (r) => `+55 11 ${num(r, 4)}-${num(r, 4)}`,
    street: (r) => `Avenida Paulista ${r.int(100, 2200)}, São Paulo – SP`,
    carriers: ['Correios', 'Jadlog'],
    hours: ['Monday to Friday, 8:00 to 20:00', 'Monday to Saturday, 9:00 to 18:00'],
  },
  {
    country: 'Poland',
    city: 'Kraków',
    tax: '23% VAT',
    currencyName: 'Polish złoty (PLN)',
    money: (b) => `${withDecimals(b * 4.3, ',', ' ')} zł`,
    phone: (r) => `+48 12 ${num(r, 3)} ${num(r, 2)} ${num(r, 2)}`,
    street: (r) => `ul. Floriańska ${r.int(2, 60)}, 31-019 Kraków`,
    carriers: ['InPost', 'Poczta Polska'],
    hours: ['Monday to Friday, 8:00 to 16:00', 'weekdays from 9:00 to 17:00'],
  },
  {
    country: 'Sweden',
    city: 'Malmö',
    tax: '25% VAT (moms)',
    currencyName: 'Swedish kronor (SEK)',
    money: (b) => `${group(Math.round(b * 11), ' ')} kr`,
    phone: (r) => `+46 40 ${num(r, 3)} ${num(r, 2)} ${num(r, 2)}`,
    street: (r) => `Södergatan ${r.int(2, 40)}, 211 34 Malmö`,
    carriers: ['PostNord', 'Budbee'],
    hours: ['Monday to Friday, 9:00 to 17:00', 'every day from 10:00 to 18:00'],
  },
  {
    country: 'the United Kingdom',
    city: 'Manchester',
    tax: '20% VAT',
    currencyName: 'pounds sterling (GBP)',
    money: (b) => `£${withDecimals(b * 0.85, '.', ',')}`,
    phone: (r) => `+44 161 496 0${String(r.int(0, 999)).padStart(3, '0')}`,
    street: (r) => `${r.int(2, 300)} Deansgate, Manchester M3 4EN`,
    carriers: ['Royal Mail', 'Evri'],
    hours: ['Monday to Friday, 8am to 6pm', 'weekdays 9am to 5:30pm'],
  },
  {
    country: 'the United States',
    city: 'Austin',
    tax: 'no sales tax; it is added at checkout',
    currencyName: 'US dollars (USD)',
    money: (b) => `$${withDecimals(b * 1.1, '.', ',')}`,
    phone: (r) => `+1 (512) 555-${String(r.int(100, 199)).padStart(4, '0')}`,
    street: (r) => `${r.int(100, 1900)} Congress Avenue, Austin, TX 78701`,
    carriers: ['UPS', 'USPS'],
    hours: ['Monday to Friday, 7am to 7pm Central Time', 'every day from 8am to 8pm CT'],
  },
  {
    country: 'Canada',
    city: 'Montréal',
    tax: 'no GST or QST; both are added at checkout',
    currencyName: 'Canadian dollars (CAD)',
    money: (b) => `CA$${withDecimals(b * 1.5, '.', ',')}`,
    phone: (r) => `+1 (514) 555-${String(r.int(100, 199)).padStart(4, '0')}`,
    street: (r) => `${r.int(100, 4000)} rue Saint-Denis, Montréal, QC H2X 3K8`,
    carriers: ['Canada Post', 'Purolator'],
    hours: ['Monday to Friday, 9:00 to 17:00 Eastern Time', 'weekdays 8:30 to 18:00 ET'],
  },
  {
    country: 'Spain',
    city: 'Málaga',
    tax: '21% VAT (IVA)',
    currencyName: 'euros (EUR)',
    money: (b) => `${withDecimals(b, ',', '.')} €`,
    phone: (r) => `+34 952 ${num(r, 3)} ${num(r, 3)}`,
    street: (r) => `Calle Larios ${r.int(1, 14)}, 29005 Málaga`,
    carriers: ['Correos', 'SEUR'],
    hours: ['Monday to Friday, 9:00 to 14:00 and 16:00 to 19:00', 'Monday to Saturday, 10:00 to 20:00'],
  },
  {
    country: 'Japan',
    city: 'Ōsaka',
    tax: '10% consumption tax',
    currencyName: 'Japanese yen (JPY)',
    money: (b) => `¥${group(Math.round((b * 160) / 10) * 10, ',')}`,
    phone: (r) => `+81 6-${num(r, 4)}-${num(r, 4)}`,
    street: (r) => `${r.int(1, 9)}-${r.int(1, 20)} Umeda, Kita-ku, Ōsaka 530-0001`,
    carriers: ['Yamato Transport', 'Japan Post'],
    hours: ['weekdays from 10:00 to 19:00 JST', 'every day from 9:00 to 21:00 JST'],
  },
  {
    country: 'Austria',
    city: 'Wien',
    tax: '20% VAT (USt.)',
    currencyName: 'euros (EUR)',
    money: (b) => `€${withDecimals(b, ',', '.')}`,
    phone: (r) => `+43 1 ${num(r, 3)} ${num(r, 4)}`,
    street: (r) => `Mariahilfer Straße ${r.int(2, 120)}, 1070 Wien`,
    carriers: ['Österreichische Post', 'GLS'],
    hours: ['Monday to Friday, 8:00 to 17:00', 'Monday to Thursday 8:00 to 17:00, Friday 8:00 to 13:00'],
  },
];

export const BRANDS: readonly string[] = [
  'Northwind Outfitters',
  'Larkspur Home',
  'Brightwave Electronics',
  'Café Lumière',
  'Nordlys Ski & Bike',
  'Müller & Söhne Werkzeug',
  'Pedra Azul Ceramics',
  'Kestrel Audio',
  'Juniper & Rye',
  'Halvorsen Design',
  'Señora Luna Kids',
  'Bluebell Books',
  'Atelier Éloïse',
  'Orchard Tech',
  'Zefiro Cycles',
  'Tidewater Outdoor',
  'Łódka Sailing Supply',
  'Maple & Moss',
];

/** "Café Lumière" -> "cafe-lumiere.com" */
export function brandDomain(brand: string): string {
  const ascii = brand
    .replace(/ł/g, 'l')
    .replace(/Ł/g, 'L')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '');
  const slug = ascii
    .toLowerCase()
    .replace(/&/g, 'and')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return `${slug}.com`;
}

export function makeShop(rng: Rng): Shop {
  const brand = rng.pick(BRANDS);
  return { brand, domain: brandDomain(brand), region: rng.pick(REGIONS) };
}

/**
 * Fact kinds for the coverage checks: every kind of fact a help center states (prices,
 * durations, places, contacts, conditions, steps) should be asked about in both splits.
 * Kinds are read off the answer text unless the author marked one with `f(key, text, kind)`.
 */
import type { FactKind, FactMark } from './prose.js';

export const FACT_KINDS: readonly FactKind[] = ['price', 'duration', 'place', 'contact', 'condition', 'step', 'other'];

const CONTACT = /@|\+\d|\bwww\.|\.com\b|^\(?\d{3}\)? ?\d{3}/;
// Opening hours count as contact details: when someone can be reached.
const HOURS = /^(Monday|Tuesday|Wednesday|weekdays|every day|around the clock|du lundi)/i;
// Every currency format in shops.ts: CHF 12.50, 12,50 €, €12,50, R$, zł, kr, £, $, CA$, ¥.
const PRICE = /CHF|€|\$|£|¥|\bzł\b|\d kr\b|\bfree\b/;
const DURATION = /\b(minutes?|hours?|days?|weeks?|months?|years?|business days?|working days?|immediately|same day|overnight)\b/i;
// Street names and postcodes written by shops.ts and the store topics, plus named places.
const PLACE =
  /\d{4,5} [A-ZÀ-Ž]|straße|strasse|rue |Avenue|Deansgate|Calle|ul\. |gatan|Umeda|Street|Road|\bdesk\b|\bcounter\b|service point|post office|parcel shop|locker|\bfloor\b|entrance|car park|warehouse/i;

/** The kind of a marked fact: the author's mark, else what the answer text looks like. */
export function factKind(mark: FactMark): FactKind {
  if (mark.kind) return mark.kind;
  const text = mark.text;
  if (CONTACT.test(text) || HOURS.test(text)) return 'contact';
  if (PRICE.test(text)) return 'price';
  if (PLACE.test(text)) return 'place';
  if (DURATION.test(text)) return 'duration';
  return 'other';
}

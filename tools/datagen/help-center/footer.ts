/**
 * Closing lines shared by every help-center article: who to call, when the page was updated,
 * where the shop is based. When one is left out its questions are simply not asked, since other
 * parts of a passage may hold the same kind of fact.
 */
import type { Kit, Topic } from './kit.js';
import { f, p, type Block } from './prose.js';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function updatedOn(k: Kit): string {
  const day = k.int(1, 28);
  const month = k.pick(MONTHS);
  const year = k.int(2023, 2025);
  return k.rng.chance(0.5) ? `${day} ${month} ${year}` : `${month} ${day}, ${year}`;
}

export function footerBlocks(k: Kit, topic: Topic): Block[] {
  const blocks: Block[] = [
    {
      text: p`${k.brand} is an independent shop founded in ${f('founded', String(k.int(1968, 2019)))} and based in ${f('hq', `${k.city}, ${k.shop.region.country}`)}.`,
      asks: {
        founded: ['When was {brand} founded?', 'In what year did {brand} start?', 'How old is {brand}?'],
        hq: ['Where is {brand} based?', 'In which city is {brand} located?', "Where are {brand}'s headquarters?"],
      },
      keep: 0.35,
      askIfLeftOut: false,
    },
    {
      text: p`This article was last updated on ${f('updated', updatedOn(k))}.`,
      asks: { updated: ['When was this article last updated?', 'When was this page last changed?', 'How recent is this information?'] },
      keep: 0.5,
      askIfLeftOut: false,
    },
  ];
  if (!topic.noContactFooter) {
    blocks.splice(1, 0, {
      text: p`Still have questions? Call us on ${f('helpPhone', k.phone())} (${f('helpHours', k.hours())}) or write to ${f('helpEmail', k.email(k.pick(['help', 'hello', 'care', 'service'])))}.`,
      asks: {
        helpPhone: ['What number can I call if I still have questions?', 'What is the phone number of {brand}?', 'How can I reach {brand} by phone?'],
        helpHours: ['When is the phone line open?', 'What are your opening hours?', 'At what times can I call {brand}?'],
        helpEmail: ['What email address can I write to with questions?', 'How can I contact {brand} by email?'],
      },
      keep: 0.7,
      askIfLeftOut: false,
    });
  }
  return blocks;
}

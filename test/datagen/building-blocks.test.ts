import { describe, expect, it } from 'vitest';
import { typo } from '../../tools/datagen/noise.js';
import { Rng } from '../../tools/datagen/prng.js';
import { f, p } from '../../tools/datagen/help-center/prose.js';
import { factKind } from '../../tools/datagen/help-center/fact-kinds.js';
import { compilePassage, DEFAULT_QA_OPTIONS, verifySquad, type SquadDocument } from '../../tools/datagen/help-center/index.js';
import { blockLead, customerVoice } from '../../tools/datagen/help-center/styles.js';
import { brandDomain } from '../../tools/datagen/help-center/shops.js';
import { consistentSlots, expandAlternations, render } from '../../tools/datagen/template.js';

describe('Rng', () => {
  it('repeats for the same seed and differs for another', () => {
    const draw = (seed: number): number[] => {
      const r = Rng.fromSeed(seed);
      return Array.from({ length: 5 }, () => r.next());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('gives forks that do not depend on draws from the parent', () => {
    const a = Rng.fromSeed(1);
    const b = Rng.fromSeed(1);
    b.next();
    b.next();
    expect(a.fork('x').next()).toBe(b.fork('x').next());
    expect(a.fork('x').next()).not.toBe(a.fork('y').next());
  });

  it('keeps int() within its bounds, both ends reachable', () => {
    const r = Rng.fromSeed(3);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(r.int(2, 5));
    expect([...seen].sort()).toEqual([2, 3, 4, 5]);
  });
});

describe('templates', () => {
  it('expands every alternative', () => {
    expect(expandAlternations('[hi|hello] [there|]!')).toEqual(['hi there!', 'hi!', 'hello there!', 'hello!']);
  });

  it('fills slots, tidies spacing and fixes a/an', () => {
    const text = render('I bought a {thing} [ today|] .', Rng.fromSeed(1), { thing: () => 'espresso machine' });
    expect(text).toMatch(/^I bought an espresso machine( today)?\.$/);
  });

  it('rejects unknown slots', () => {
    expect(() => render('where is {nope}', Rng.fromSeed(1), {})).toThrow(/unknown slot/);
  });

  it('keeps chosen slots consistent within a message', () => {
    let n = 0;
    const slots = consistentSlots({ product: () => `p${n++}` }, ['product']);
    expect(render('{product} and {product}', Rng.fromSeed(1), slots)).toBe('p0 and p0');
  });

  it('makes typos that change a word only slightly', () => {
    const r = Rng.fromSeed(5);
    for (let i = 0; i < 50; i++) {
      const out = typo('package', r);
      expect(Math.abs(out.length - 'package'.length)).toBeLessThanOrEqual(1);
      expect(out[0]).toBe('p');
    }
    expect(typo('ok', r)).toBe('ok');
  });
});

describe('help-center building blocks', () => {
  it('records fact offsets exactly, also after non-ASCII text', () => {
    const passage = compilePassage(
      {
        topic: 't',
        title: 'Zürich',
        blocks: [
          { text: p`Our shop in São Paulo – Zürich too – charges ${f('fee', '12,50 €')} per parcel.`, asks: { fee: ['What is the fee?'] } },
          { text: p`Call ${f('phone', '+41 44 123 45 67')}.`, asks: { phone: ['What is the number?'] }, keep: 0 },
        ],
        absent: ['Do you ship to Mars?'],
        slots: {},
      },
      { id: 't-1', rng: Rng.fromSeed(1), qa: { ...DEFAULT_QA_OPTIONS, voiceRate: 0 }, heldOut: false },
    );
    const answerable = passage.qas.filter((q) => !q.is_impossible);
    expect(answerable).toHaveLength(1);
    const answer = answerable[0]?.answers[0];
    expect(answer && passage.context.slice(answer.answer_start, answer.answer_start + answer.text.length)).toBe('12,50 €');
    // The left-out block's question and the absent one are asked as unanswerable.
    expect(
      passage.qas
        .filter((q) => q.is_impossible)
        .map((q) => q.question)
        .sort(),
    ).toEqual(['Do you ship to Mars?', 'What is the number?']);
  });

  it('rejects a fact without questions', () => {
    expect(() =>
      compilePassage(
        {
          topic: 't',
          title: 't',
          blocks: [{ text: p`It costs ${f('fee', '5 €')}.` }],
          absent: [],
          slots: {},
        },
        { id: 't-1', rng: Rng.fromSeed(1), qa: DEFAULT_QA_OPTIONS, heldOut: false },
      ),
    ).toThrow(/no questions/);
  });

  it('verifySquad finds a wrong span, answers on impossible questions and duplicate ids', () => {
    const doc: SquadDocument = {
      version: 'v2.0',
      data: [
        {
          title: 't',
          paragraphs: [
            {
              context: 'Returns are free for 30 days.',
              qas: [
                { id: 'a', question: 'How long?', answers: [{ text: '30 days', answer_start: 20 }], is_impossible: false },
                { id: 'a', question: 'Fee?', answers: [{ text: 'free', answer_start: 12 }], is_impossible: true },
              ],
            },
          ],
        },
      ],
    };
    const problems = verifySquad(doc);
    expect(problems.some((m) => m.includes('span at 20'))).toBe(true);
    expect(problems.some((m) => m.includes('impossible but has answers'))).toBe(true);
    expect(problems.some((m) => m.includes('duplicate id'))).toBe(true);
    const first = doc.data[0]?.paragraphs[0]?.qas[0]?.answers[0];
    if (first) first.answer_start = 21;
    expect(verifySquad(doc).some((m) => m.includes('span at'))).toBe(false);
  });

  it('derives ASCII domains from accented brand names', () => {
    expect(brandDomain('Café Lumière')).toBe('cafe-lumiere.com');
    expect(brandDomain('Łódka Sailing Supply')).toBe('lodka-sailing-supply.com');
    expect(brandDomain('Juniper & Rye')).toBe('juniper-and-rye.com');
  });
});

describe('help-center styles and fact kinds', () => {
  it('reads fact kinds off the answer text unless the author marked one', () => {
    expect(factKind(f('a', 'returns@larkspur-home.com'))).toBe('contact');
    expect(factKind(f('a', '+41 44 123 45 67'))).toBe('contact');
    expect(factKind(f('a', 'Monday to Friday, 9:00 to 17:00'))).toBe('contact');
    expect(factKind(f('a', '12,50 €'))).toBe('price');
    expect(factKind(f('a', 'CHF 4.95'))).toBe('price');
    expect(factKind(f('a', 'Leopoldstraße 12, 80802 München'))).toBe('place');
    expect(factKind(f('a', '3 to 5 business days'))).toBe('duration');
    expect(factKind(f('a', 'click "Forgot password"', 'step'))).toBe('step');
    expect(factKind(f('a', 'photo ID'))).toBe('other');
  });

  it('leaves a question alone at rate 0 and changes most at rate 1', () => {
    const q = 'How long does standard shipping take?';
    const r = Rng.fromSeed(3);
    for (let i = 0; i < 20; i++) expect(customerVoice(q, r, 0)).toBe(q);
    const changed = Array.from({ length: 200 }, () => customerVoice(q, r, 1)).filter((v) => v !== q);
    expect(changed.length).toBeGreaterThan(150);
    // Voiced questions keep the original's words; a typo hits one word at most, so one of these survives.
    expect(changed.every((v) => /standard|shipping/i.test(v))).toBe(true);
    expect(changed.some((v) => v === v.toLowerCase())).toBe(true);
  });

  it('heads FAQ blocks with their question and numbers policy sections', () => {
    const r = Rng.fromSeed(4);
    expect(blockLead({ style: 'faq', index: 2, heading: 'Who delivers?', rng: r })).toBe('Q: Who delivers? A: ');
    expect(blockLead({ style: 'faq', index: 0, rng: r })).toBe('');
    expect(blockLead({ style: 'policy', index: 2, rng: r })).toBe('3. ');
    expect(blockLead({ style: 'article', index: 1, rng: r })).toBe('');
  });
});

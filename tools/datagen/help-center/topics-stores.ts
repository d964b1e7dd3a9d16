/**
 * Help-center topics about the shops themselves: click & collect, repairs and visiting a store.
 * They carry the fact kinds the older topics state least often: step-by-step instructions,
 * conditions, street addresses and opening hours.
 */
import type { Topic } from './kit.js';
import { f, note, p } from './prose.js';

const clickCollect: Topic = {
  id: 'click-and-collect',
  build: (k) => {
    const counter = k.pick(['the service desk by the main entrance', 'the pick-up counter on the ground floor', 'the collection point next to the tills']);
    return {
      title: `${k.brand}: Click & collect`,
      blocks: [
        note(p`Skip the delivery wait and pick up your order yourself.`),
        {
          text: p`To use click & collect, ${f('step1', 'choose "Collect in store" at checkout', 'step')}, then ${f('step2', 'pick the store you want to collect from', 'step')} and pay as usual.`,
          asks: {
            step1: ['How do I choose click & collect?', 'What is the first step to collect my order in store?', 'how do i select store pickup'],
            step2: ['What do I do after choosing "Collect in store"?', 'What is the second step of click & collect?'],
          },
        },
        {
          text: p`Collection orders are picked up at ${f('counter', counter)} of our ${k.city} store, ${f('storeAddress', k.street())}.`,
          asks: {
            counter: ['Where in the store do I pick up my order?', 'Which desk hands out click & collect orders?', 'where do i go to collect'],
            storeAddress: ['What is the address of the {city} store?', 'Where is the store I collect from?', 'Where is your shop in {city}?'],
          },
        },
        {
          text: p`Your order is usually ready within ${f('ready', k.pick(['two hours', '4 hours', 'one working day', '24 hours']))}; we send a text message when it is waiting for you.`,
          asks: {
            ready: ['How long until my click & collect order is ready?', 'When can I pick up my order?', 'How soon is a collection order ready?'],
          },
        },
        {
          text: p`Click & collect is ${f('collectFee', k.pick(['free of charge', `free on orders over ${k.money(20)}`, `${k.money(1.99)} per order`]))}.`,
          asks: {
            collectFee: ['How much does click & collect cost?', 'Is store pickup free?', 'What is the fee for collecting in store?'],
          },
          keep: 0.8,
        },
        {
          text: p`We keep your parcel for ${f('hold', k.pick(['seven days', '10 days', '14 days', 'five working days']))}. After that it goes back to the warehouse and is refunded automatically.`,
          asks: {
            hold: [
              'How long will you keep my order at the store?',
              'How many days do I have to pick up my order?',
              'What happens if I do not collect my parcel?',
            ],
          },
        },
        {
          text: p`To collect, show ${f('bring', k.pick(['the pick-up code from the text message and a photo ID', 'your order confirmation and a photo ID', 'the QR code in the app']))}. Someone else may collect for you ${f('proxy', k.pick(['if they bring the pick-up code and their own ID', 'as long as you add their name at checkout', 'only with a signed note from you and a copy of your ID']), 'condition')}.`,
          asks: {
            bring: ['What do I need to bring to collect my order?', 'What should I show at the counter?', 'Do I need ID to collect?'],
            proxy: ['Can someone else pick up my order?', 'Can my partner collect the parcel for me?', 'Under what conditions may a friend collect for me?'],
          },
          keep: 0.8,
        },
        {
          text: p`Oversized items over ${f('maxWeight', k.pick(['30 kg', '25 kg', '40 kg']))} cannot be collected in store and are always delivered to your door.`,
          asks: {
            maxWeight: ['Are there items I cannot collect in store?', 'What is the weight limit for click & collect?', 'Can I pick up a heavy item in store?'],
          },
          keep: 0.5,
        },
        {
          text: p`Returns of click & collect orders can be handed in at ${f('returnDesk', k.pick(['any of our stores', 'the same counter', 'the service desk']))} within the normal return period.`,
          asks: { returnDesk: ['Where can I return a click & collect order?', 'Can I give back a collected item in the store?'] },
          keep: 0.5,
        },
      ],
      absent: [
        'Can I collect my order at a petrol station?',
        'Is there a drive-through pick-up?',
        'Can I pay in cash when I collect?',
        'Do lockers accept click & collect orders?',
      ],
    };
  },
};

const repairs: Topic = {
  id: 'repair-service',
  build: (k) => {
    const shipTo = `${k.brand} Repair Centre, ${k.street()}`;
    return {
      title: `${k.brand}: Repairs outside the warranty`,
      blocks: [
        note(p`Broken after the warranty ended? Our workshop fixes most products for a fixed price.`),
        {
          text: p`A repair starts with ${f('r1', 'filling in the repair form in your account', 'step')}. Next, ${f('r2', 'pack the product safely with the printed repair slip', 'step')}, and finally ${f('r3', 'drop it off at any post office or one of our stores', 'step')}.`,
          asks: {
            r1: ['How do I start a repair?', 'What is the first step to get something repaired?', 'where do i begin a repair request'],
            r2: ['What do I do after filling in the repair form?', 'How should I pack the product for repair?'],
            r3: ['Where do I drop off a product for repair?', 'What is the last step of sending a repair?', 'Can I hand in my repair at a store?'],
          },
        },
        {
          text: p`Parcels for the workshop go to ${f('repairAddress', shipTo)}.`,
          asks: { repairAddress: ['What is the address of the repair centre?', 'Where do I send my product for repair?', 'Where is the workshop?'] },
        },
        {
          text: p`The diagnosis costs ${f('diagFee', k.money(k.pick([15, 19, 25, 29])))}, which is deducted from the repair price if you go ahead. Most repairs cost between ${f('repairRange', `${k.money(k.pick([25, 30, 35]))} and ${k.money(k.pick([120, 150, 180]))}`)}.`,
          asks: {
            diagFee: ['How much is the diagnosis?', 'What does it cost to have a product checked?', 'Is the inspection free?'],
            repairRange: ['How much does a repair usually cost?', 'What is the typical price of a repair?', 'how expensive are repairs'],
          },
        },
        {
          text: p`We send you a quote ${f('quoteTime', k.pick(['within three working days of receiving the product', 'within 48 hours', 'within five working days']))}, and the repair itself takes ${f('repairTime', k.pick(['about a week', '5 to 10 working days', 'up to two weeks']))}.`,
          asks: {
            quoteTime: ['When will I get a repair quote?', 'How long until you tell me the price?'],
            repairTime: ['How long does a repair take?', 'When will my repaired product come back?', 'How many days is the repair?'],
          },
        },
        {
          text: p`We can only repair products ${f('repairCondition', k.pick(['bought from us in the last five years', 'that have not been opened by another repairer', 'for which spare parts are still made']), 'condition')}.`,
          asks: {
            repairCondition: [
              'Which products can you repair?',
              'Under what conditions do you repair a product?',
              'Can you repair something I bought years ago?',
            ],
          },
          keep: 0.8,
        },
        {
          text: p`If you decline the quote, we send the product back for ${f('declineFee', k.money(k.pick([6.9, 8.5, 9.9])))} return postage.`,
          asks: { declineFee: ['What happens if I say no to the repair quote?', 'Do I pay anything if I decline the repair?'] },
          keep: 0.6,
        },
        {
          text: p`Repaired items get a ${f('repairWarranty', k.pick(['6-month', '90-day', '12-month']))} guarantee on the work done. Questions about a repair? Write to ${f('repairEmail', k.email('repairs'))}.`,
          asks: {
            repairWarranty: ['Is there a guarantee on repairs?', 'How long is a repair guaranteed?'],
            repairEmail: ['What is the email address of the repair team?', 'Who do I contact about my repair?', 'how can i email the workshop'],
          },
          keep: 0.7,
        },
      ],
      absent: [
        'Do you repair products from other brands?',
        'Can a technician come to my home?',
        'Do you lend a replacement while mine is repaired?',
        'Can I pay for a repair in instalments?',
      ],
    };
  },
};

const visitStores: Topic = {
  id: 'visit-our-stores',
  noContactFooter: true,
  build: (k) => {
    const second = k.pick(['Airport Mall', 'Old Town', 'Harbour Quarter', 'Central Station', 'University district']);
    return {
      title: `${k.brand}: Our stores and opening hours`,
      blocks: [
        note(p`We love meeting our customers in person, so come and say hello.`),
        {
          text: p`Our flagship store is at ${f('flagship', k.street())}, a five-minute walk from ${f('landmark', k.pick(['the central station', 'the main square', 'the cathedral', 'the river bridge']))}.`,
          asks: {
            flagship: ['Where is the flagship store?', 'What is the address of your main shop?', 'Where can I visit {brand} in {city}?', 'store address?'],
            landmark: ['What is the store close to?', 'How do I find the flagship store?'],
          },
        },
        {
          text: p`It is open ${f('storeHours', k.hours())}, and until ${f('lateHours', k.pick(['21:00 on Thursdays', '20:00 on Fridays', '22:00 in December']))}.`,
          asks: {
            storeHours: ['What are the store opening hours?', 'When is the shop open?', 'what time do you open', 'Is the store open on weekdays?'],
            lateHours: ['Is there late-night shopping?', 'On which day is the store open late?', 'When do you close late?'],
          },
        },
        {
          text: p`A smaller shop in the ${f('secondStore', `${second}`)} sells our best-sellers but does not accept returns.`,
          asks: {
            secondStore: ['Do you have a second store?', 'Where is your other shop?', 'Is there another {brand} store in {city}?'],
          },
          keep: 0.7,
        },
        {
          text: p`Customers park for free ${f('parking', k.pick(['in the car park behind the store for up to two hours', 'in the underground garage, entrance on the side street', 'in the first hour at the public car park next door']))}.`,
          asks: { parking: ['Where can I park?', 'Is there parking at the store?', 'Is parking free for customers?'] },
          keep: 0.7,
        },
        {
          text: p`The stores are closed ${f('closed', k.pick(['on public holidays', 'on Sundays and public holidays', 'on 25 and 26 December and 1 January']))}.`,
          asks: { closed: ['When are the stores closed?', 'Are you open on public holidays?', 'Which days is the shop shut?'] },
          keep: 0.8,
        },
        {
          text: p`For product advice you can book a ${f('adviceLength', k.pick(['30-minute', '45-minute', 'one-hour']))} appointment with a specialist ${f('adviceHow', k.pick(['on our website', 'by phone', 'at the information desk']))}; it is ${f('adviceFee', k.pick(['free', `free, and the ${k.money(10)} deposit is refunded when you come`]))}.`,
          asks: {
            adviceLength: ['How long is an advice appointment?', 'How much time does a specialist spend with me?'],
            adviceHow: ['How do I book an appointment with a specialist?', 'Where can I book product advice?'],
            adviceFee: ['Does an advice appointment cost anything?', 'Is the product advice free?'],
          },
          keep: 0.6,
        },
        {
          text: p`Store staff can be reached on ${f('storePhone', k.phone())} or at ${f('storeEmail', k.email('store'))}, and dogs on a lead are ${f('dogs', k.pick(['welcome', 'welcome in all our stores', 'allowed']), 'condition')}.`,
          asks: {
            storePhone: ['What is the phone number of the store?', 'How can I call the shop?', 'store phone number'],
            storeEmail: ['What is the store email address?', 'How do I email the shop?'],
            dogs: ['Can I bring my dog to the store?', 'Are dogs allowed in the shop?'],
          },
          keep: 0.8,
        },
      ],
      absent: [
        'Is there a café in the store?',
        'Are the stores wheelchair accessible?',
        'Can I bring a bike inside?',
        'Do you have a store at the airport in Paris?',
      ],
    };
  },
};

export const STORE_TOPICS: readonly Topic[] = [clickCollect, repairs, visitStores];

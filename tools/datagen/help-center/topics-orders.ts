/** Help-center topics about shipping, returns, refunds and changing or cancelling orders. */
import type { Topic } from './kit.js';
import { f, note, p } from './prose.js';

const shippingOptions: Topic = {
  id: 'shipping-options',
  build: (k) => {
    const carrier = k.pick(k.shop.region.carriers);
    return {
      title: `${k.brand}: Shipping options and delivery times`,
      blocks: [
        note(p`Here is everything you need to know about how and when your ${k.brand} order reaches you.`),
        {
          text: p`${k.brand} ships every order from its warehouse outside ${k.city} with ${f('carrier', carrier)}.`,
          asks: {
            carrier: [
              'Which carrier [does {brand} use|delivers {brand} orders]?',
              'Who delivers my parcel?',
              'What delivery company handles the orders?',
              'Which courier ships the orders?',
            ],
          },
        },
        {
          text: p`Standard shipping takes ${f('std', k.pick(['3 to 5 business days', '2 to 4 business days', '5 to 7 business days']))} and is free on orders over ${f('free', k.money(k.pick([49, 60, 75, 100])))}; below that amount it costs ${f('stdFee', k.money(k.pick([3.95, 4.95, 5.9])))}.`,
          asks: {
            std: [
              'How long does standard shipping take?',
              '[How many days|How long] does standard delivery take?',
              'What is the delivery time for standard shipping?',
              'When will a standard order arrive?',
            ],
            free: [
              'What is the minimum order for free shipping?',
              'When is shipping free?',
              'How much do I [need|have] to spend to get free shipping?',
              'Above what order value is delivery free?',
            ],
            stdFee: [
              'How much does standard shipping cost on small orders?',
              'What is the standard shipping fee?',
              'What do I pay for shipping if my order is below the free shipping amount?',
            ],
          },
        },
        {
          text: p`If you need your parcel sooner, choose Express at checkout: it arrives in ${f('express', k.pick(['1 to 2 business days', 'one business day', '2 business days']))} and costs ${f('expressFee', k.money(k.pick([9.9, 12.5, 14.95])))}.`,
          asks: {
            express: ['How fast is express shipping?', 'How long does Express delivery take?', 'If I pick Express, when will my parcel arrive?'],
            expressFee: ['How much does express shipping cost?', 'What is the price of Express delivery?', 'What is the fee for express shipping?'],
          },
        },
        {
          text: p`Orders placed before ${f('cutoff', k.pick(['2:00 pm', '1:00 pm', '3:30 pm', '12:00 noon']))} on a working day leave the warehouse the same day; later orders are packed the next morning.`,
          asks: {
            cutoff: [
              'What is the cutoff time for same-day dispatch?',
              'By what time do I need to order for my parcel to ship the same day?',
              'Until when can I order and still have it shipped today?',
            ],
          },
          keep: 0.8,
        },
        {
          text: p`Saturday delivery is available in ${f('saturdayArea', `${k.city} and the surrounding area`)} for an extra ${f('saturdayFee', k.money(k.pick([5, 6.5, 8])))}.`,
          asks: {
            saturdayArea: ['Where is Saturday delivery available?', 'Do you deliver on Saturdays, and where?', 'Which areas can get Saturday delivery?'],
            saturdayFee: ['How much does Saturday delivery cost?', 'What is the surcharge for Saturday delivery?'],
          },
          keep: 0.5,
        },
        {
          text: p`Once your order has shipped we email you a tracking link. Tracking usually becomes active within ${f('trackingDelay', k.pick(['24 hours', '12 hours', 'a few hours', '48 hours']))}, so please do not worry if the link shows no information at first.`,
          asks: {
            trackingDelay: [
              'When does the tracking link start working?',
              'How long until tracking becomes active?',
              'My tracking link shows nothing, how long should I wait?',
            ],
          },
          keep: 0.7,
        },
        {
          text: p`Large items such as furniture are delivered by a freight partner within ${f('bulkyDays', k.pick(['7 to 10 business days', '10 to 14 business days', 'two weeks']))}, and the driver calls you ${f('bulkyCall', k.pick(['the day before', 'two days before']))} to agree on a time window.`,
          asks: {
            bulkyDays: ['How long does delivery of furniture take?', 'When will a large item like a sofa arrive?', 'How are bulky items delivered?'],
            bulkyCall: ['When does the freight driver call me?', 'Will the driver contact me before a furniture delivery?'],
          },
          keep: 0.6,
        },
        {
          text: p`During sales and in the weeks before Christmas, please allow ${f('peakDelay', k.pick(['one or two extra days', 'up to three extra days', 'a few extra days']))} for dispatch.`,
          asks: {
            peakDelay: [
              'Are deliveries slower around Christmas?',
              'How much longer does shipping take during sales?',
              'Should I expect delays in busy periods?',
            ],
          },
          keep: 0.6,
        },
        {
          text: p`Parcels that cannot be delivered are taken to the nearest ${f('depot', k.pick(['service point', 'post office', 'parcel shop']))}, where they wait for ${f('depotDays', k.pick(['seven days', 'ten days', 'five days']))} before being sent back to us. The carrier leaves a card with a collection code, and you will need ${f('collectId', 'photo ID')} to pick the parcel up. If it comes back to us, we refund the order minus the original shipping costs.`,
          asks: {
            depot: ['Where does my parcel go if nobody is home?', 'What happens if a delivery fails?'],
            depotDays: ['How long is a missed parcel kept?', 'How many days do I have to collect a missed delivery?'],
            collectId: ['What do I need to collect a parcel?', 'Do I need ID to pick up my parcel?'],
          },
          keep: 0.5,
        },
      ],
      absent: [
        'Do you deliver to PO boxes?',
        'Can I choose a delivery time slot?',
        'Is there a fee for shipping to islands?',
        'Does {brand} offer carbon-neutral shipping?',
        'Can I collect my order from the warehouse myself?',
        'Do you ship furniture with a two-person crew?',
      ],
    };
  },
};

const internationalShipping: Topic = {
  id: 'international-shipping',
  build: (k) => {
    const far = k.pick(['Canada', 'Australia', 'Japan', 'Brazil', 'the United States', 'South Africa']);
    return {
      title: `${k.brand}: Shipping outside ${k.shop.region.country}`,
      blocks: [
        note(p`Good news for customers abroad: ${k.brand} ships far beyond ${k.shop.region.country}.`),
        {
          text: p`We deliver to ${f('countries', k.pick(['more than 40 countries', '32 countries', 'every country in the European Union and 15 more', 'over 60 countries']))}.`,
          asks: {
            countries: [
              'How many countries does {brand} ship to?',
              'To [how many|which] countries do you deliver?',
              'Do you ship abroad, and to how many countries?',
            ],
          },
        },
        {
          text: p`International parcels to neighbouring countries usually arrive in ${f('nearDays', k.pick(['4 to 8 business days', '5 to 9 business days', '3 to 6 business days']))}, while deliveries to ${far} take ${f('farDays', k.pick(['10 to 15 business days', '2 to 3 weeks', '8 to 14 business days']))}.`,
          asks: {
            nearDays: ['How long does delivery to a neighbouring country take?', 'How many days does international shipping to nearby countries take?'],
            farDays: [`How long does shipping to ${far} take?`, `When will an order to ${far} arrive?`, `What is the delivery time to ${far}?`],
          },
        },
        {
          text: p`The flat international shipping rate is ${f('rate', k.money(k.pick([14.9, 19.9, 24.5])))} per order, whatever its weight.`,
          asks: {
            rate: [
              'How much does international shipping cost?',
              'What is the flat rate for shipping abroad?',
              'What do you charge to ship an order to another country?',
            ],
          },
        },
        {
          text: p`Customs duties and import taxes are ${f('duties', k.pick(['paid by the customer on delivery', 'included in the price you see at checkout', 'collected by the carrier when the parcel arrives']))}.`,
          asks: {
            duties: [
              'Who pays customs duties?',
              'Are import taxes included in the price?',
              'Do I have to pay customs fees on delivery?',
              'How are customs duties handled?',
            ],
          },
        },
        {
          text: p`For legal reasons we cannot send ${f('restricted', k.pick(['lithium batteries, aerosols and perfume', 'perfume, nail polish and spare batteries', 'aerosols and products containing alcohol']))} outside ${k.shop.region.country}.`,
          asks: {
            restricted: [
              'Which products cannot be shipped internationally?',
              'What items are you not allowed to send abroad?',
              'Are there restrictions on what you ship to other countries?',
            ],
          },
          keep: 0.7,
        },
        {
          text: p`If a parcel is refused at the door and returned to us, we refund the goods but keep the shipping costs and deduct a handling fee of ${f('refusedFee', k.money(k.pick([10, 12, 15])))}.`,
          asks: {
            refusedFee: [
              'What happens if I refuse an international parcel?',
              'Is there a fee if a parcel is refused at delivery?',
              'How much is deducted when a refused parcel comes back?',
            ],
          },
          keep: 0.6,
        },
        {
          text: p`Every international parcel travels with ${f('intlCarrier', k.pick(['DHL', 'UPS', 'FedEx']))} and can be tracked door to door.`,
          asks: {
            intlCarrier: [
              'Which carrier handles international parcels?',
              'Who ships {brand} orders abroad?',
              'What courier do you use for international orders?',
            ],
          },
        },
        {
          text: p`Customs clearance usually adds ${f('customsDelay', k.pick(['one to three days', 'two to four days', 'up to five days']))} and is already included in the delivery times above.`,
          asks: {
            customsDelay: ['How long does customs clearance take?', 'How much time does customs add to delivery?', 'Does customs slow down my parcel?'],
          },
          keep: 0.7,
        },
      ],
      absent: [
        'Can I ship to a freight forwarder?',
        'Do you ship to military addresses?',
        'Is international express shipping available?',
        'Can I pay customs duties in advance online?',
        'Do you deliver to Antarctica?',
      ],
    };
  },
};

const returnsPolicy: Topic = {
  id: 'returns-policy',
  build: (k) => {
    const windowDays = k.pick(['30 days', '14 days', '60 days', '100 days']);
    return {
      title: `${k.brand}: Returns and exchanges`,
      blocks: [
        note(p`Not happy with your purchase? No problem.`),
        {
          text: p`You can return most items within ${f('window', windowDays)} of delivery, as long as they are ${f('condition', k.pick(['unused and in their original packaging', 'unworn, unwashed and with the tags attached', 'in the condition you received them']))}.`,
          asks: {
            window: [
              'How long do I have to return an item?',
              'What is the return window?',
              'How many days do I have to send something back?',
              'Until when can I return a product?',
            ],
            condition: ['In what condition must a return be?', 'Can I return an item I have used?', 'What condition do returned items need to be in?'],
          },
        },
        {
          text: p`To start a return, sign in, open ${f('portal', 'My Orders')}, select the items and print the prepaid label.`,
          asks: { portal: ['Where do I start a return?', 'Which page do I open to return an item?', 'Where can I print a return label?'] },
        },
        {
          text: p`Return shipping costs ${f('labelCost', k.money(k.pick([3.5, 4.95, 5.5])))}, which we deduct from your refund; returns of faulty items are ${f('faultyFree', 'always free')}.`,
          asks: {
            labelCost: [
              'How much does return shipping cost?',
              'Do I have to pay for the return label?',
              'What is deducted from my refund for shipping a return?',
            ],
            faultyFree: ['Do I pay return shipping for a faulty item?', 'Is returning a defective product free?'],
          },
        },
        {
          text: p`You can also drop parcels off at any ${f('dropoff', k.pick([`${k.shop.region.carriers[0] ?? 'post'} service point`, 'partner parcel locker', 'post office']))} or bring them to our store at ${f('store', k.street())}.`,
          asks: {
            dropoff: ['Where can I drop off my return?', 'Can I hand in a return at a parcel point?'],
            store: [
              `Where is the {brand} store in ${k.city}?`,
              'What is the address of the store where I can bring returns?',
              'Can I return an item in person, and where?',
            ],
          },
          keep: 0.7,
        },
        {
          text: p`Want a different size or colour? Choose ${f('exchange', 'Exchange')} instead of Refund in the return form and we will ship the new item as soon as your return is scanned.`,
          asks: {
            exchange: [
              'How do I exchange an item for a different size?',
              'What option do I choose to swap a product for another colour?',
              'Can I exchange instead of getting a refund?',
            ],
          },
          keep: 0.7,
        },
        {
          text: p`Some items cannot be returned for hygiene reasons, including ${f('excluded', k.pick(['earrings, swimwear and opened cosmetics', 'underwear, opened skincare and earbuds tips', 'personalised items and opened food']))}.`,
          asks: { excluded: ['Which items cannot be returned?', 'Are there products I am not allowed to return?', 'What is excluded from returns?'] },
          keep: 0.6,
        },
        {
          text: p`We refund returned items within ${f('refundAfter', k.pick(['14 days', '10 days', '7 days']))} of the parcel reaching our warehouse.`,
          asks: {
            refundAfter: [
              'When will I get my money back after returning an item?',
              'How soon after my return arrives is the refund issued?',
              'How long does a refund take after a return?',
            ],
          },
          keep: 0.8,
        },
        {
          text: p`Items bought in a ${k.brand} store can be returned ${f('storeReturns', k.pick(['in any of our stores or by post', 'by post or at the store where you bought them']))}.`,
          asks: {
            storeReturns: [
              'Can I return something I bought in a store?',
              'How do I return an item bought in a shop?',
              'Where can in-store purchases be returned?',
            ],
          },
          keep: 0.6,
        },
        {
          text: p`Bulky items such as furniture are collected from your home: book a pickup slot in the return form and the freight partner will come within ${f('bulkyPickup', k.pick(['five working days', 'a week', 'ten days']))}. Please have the item ${f('bulkyPack', 'packed and ready at the front door')} on the agreed day; the collection costs ${f('bulkyFee', k.money(k.pick([29, 35, 49])))}.`,
          asks: {
            bulkyPickup: ['How soon is a furniture return collected?', 'When will the freight partner pick up my return?'],
            bulkyPack: ['How should I prepare a bulky return for collection?', 'What do I need to do before a furniture pickup?'],
            bulkyFee: ['How much does collecting a bulky return cost?', 'Is there a fee for picking up furniture returns?'],
          },
          keep: 0.5,
        },
      ],
      absent: [
        'Can I return an item bought at an outlet store?',
        'Do you accept returns without a receipt?',
        'Can I return an item in another country?',
        'Are sale items final sale?',
        'Can I return a gift without the buyer knowing?',
      ],
    };
  },
};

const refunds: Topic = {
  id: 'refunds',
  build: (k) => ({
    title: `${k.brand}: When will I get my refund?`,
    blocks: [
      note(p`We know waiting for money is frustrating, so here is what happens after you send something back.`),
      {
        text: p`We inspect returned items within ${f('inspect', k.pick(['3 working days', '5 working days', '48 hours']))} of receiving them.`,
        asks: { inspect: ['How long does it take to inspect a return?', 'How soon do you check a returned item after it arrives?'] },
      },
      {
        text: p`Once the return is approved, the refund goes back to ${f('method', 'the payment method you used for the order')} and usually appears on your statement within ${f('days', k.pick(['5 to 10 business days', '3 to 5 business days', '7 to 14 days']))}.`,
        asks: {
          method: ['Where does my refund go?', 'Is the refund paid to my original card?', 'Which account is the refund sent to?'],
          days: [
            'How long does a refund take?',
            'When will I see the refund on my statement?',
            'How many days until the money is back on my account?',
            'How long until my refund shows up?',
          ],
        },
      },
      {
        text: p`If you prefer, you can take store credit instead: we add a bonus of ${f('bonus', k.pick(['10%', '5%', '15%']))} to the value of the credit.`,
        asks: {
          bonus: [
            'Is there a bonus if I choose store credit?',
            'How much extra do I get with store credit instead of a refund?',
            'What bonus is added to store credit?',
          ],
        },
        keep: 0.6,
      },
      {
        text: p`Original shipping costs are ${f('shipping', k.pick(['refunded only if the whole order is returned', 'not refunded unless the item was faulty', 'always refunded']))}.`,
        asks: { shipping: ['Do you refund the shipping costs?', 'Will I get my delivery fee back?', 'Are original shipping charges refunded?'] },
      },
      {
        text: p`Refunds for orders paid by bank transfer are sent to the IBAN you enter in the return form and take ${f('bankDays', k.pick(['up to 10 business days', 'about a week', '3 to 4 business days']))}.`,
        asks: { bankDays: ['How long does a refund by bank transfer take?', 'I paid by bank transfer, when do I get my money back?'] },
        keep: 0.5,
      },
      {
        text: p`If your refund has not arrived after that time, write to ${f('contact', k.email('refunds'))} with your order number.`,
        asks: {
          contact: ['Who do I contact if my refund has not arrived?', 'What email address handles missing refunds?', 'Where can I ask about a late refund?'],
        },
        keep: 0.8,
      },
      {
        text: p`You will receive an email titled ${f('emailTitle', k.pick(['"Your refund is on its way"', '"Refund issued"', '"We have refunded your return"']))} as soon as we release the payment.`,
        asks: {
          emailTitle: [
            'How will I know my refund was sent?',
            'What email do I get when the refund is issued?',
            'Do you notify me when the refund is processed?',
          ],
        },
      },
      {
        text: p`If only part of an order is returned, we refund ${f('partial', 'the items you sent back')}, minus any discount that no longer applies.`,
        asks: {
          partial: [
            'What happens if I return only part of my order?',
            'How are partial returns refunded?',
            'Do I get a refund if I keep some items from the order?',
          ],
        },
        keep: 0.7,
      },
    ],
    absent: [
      'Can I get a refund in cash?',
      'Do you refund price differences after a sale starts?',
      'Can the refund be split between two cards?',
      'Is there a restocking fee?',
      'Can I get a refund on a gift card purchase?',
    ],
  }),
};

const cancelOrder: Topic = {
  id: 'cancel-order',
  build: (k) => ({
    title: `${k.brand}: Cancelling an order`,
    blocks: [
      note(p`Changed your mind? Here is how to cancel.`),
      {
        text: p`You can cancel an order yourself for ${f('window', k.pick(['30 minutes', '1 hour', '2 hours', '15 minutes']))} after placing it.`,
        asks: {
          window: [
            'How long do I have to cancel an order?',
            'How soon after ordering can I still cancel?',
            'Is there a time limit for cancelling an order?',
            'Until when can I cancel my order myself?',
          ],
        },
      },
      {
        text: p`Go to ${f('where', 'Account > Orders')}, open the order and press ${f('button', 'Cancel order')}.`,
        asks: {
          where: ['Where do I cancel my order?', 'Where can I find my orders to cancel one?'],
          button: ['Which button do I press to cancel?', 'What is the cancel button called?'],
        },
      },
      {
        text: p`After that time the order is already being packed and the button disappears; contact us on ${f('phone', k.phone())} and we will try to stop it before it leaves the warehouse.`,
        asks: {
          phone: [
            'What number do I call to stop an order that is being packed?',
            'Which phone number can I call to cancel a late order?',
            'How can I reach you if the cancel button is gone?',
          ],
        },
      },
      {
        text: p`If the parcel has already shipped, you cannot cancel it; instead, ${f('shipped', 'refuse the delivery or return it once it arrives')}.`,
        asks: {
          shipped: [
            'What can I do if my order has already shipped?',
            'Can I cancel an order that has been shipped?',
            'My parcel already left, how do I cancel?',
          ],
        },
        keep: 0.8,
      },
      {
        text: p`Cancelled orders are refunded in full, usually within ${f('refund', k.pick(['3 business days', '24 hours', '5 business days']))}, and there is ${f('fee', 'no cancellation fee')}.`,
        asks: {
          refund: ['How quickly is a cancelled order refunded?', 'When do I get my money back after cancelling?'],
          fee: ['Is there a fee for cancelling an order?', 'Does it cost anything to cancel?'],
        },
      },
      {
        text: p`Pre-orders can be cancelled ${f('preorder', 'at any time until they ship')}, even after the cancellation window has passed.`,
        asks: {
          preorder: ['Can I cancel a pre-order?', 'Until when can I cancel a pre-order?', 'Does the time limit apply to pre-orders?'],
        },
        keep: 0.6,
      },
    ],
    absent: [
      'Can I cancel just one item from an order?',
      'Can I cancel a pre-order?',
      'Can customer service cancel an order for me by email?',
      'Will I get a confirmation email when I cancel?',
    ],
  }),
};

const changeOrder: Topic = {
  id: 'change-order',
  build: (k) => ({
    title: `${k.brand}: Changing your delivery address or order`,
    blocks: [
      note(p`Made a mistake in your order? It happens, and it is often easy to fix.`),
      {
        text: p`Entered the wrong address? You can change the delivery address until the order status changes to ${f('status', k.pick(['"Packed"', '"Preparing"', '"Ready to ship"']))}.`,
        asks: {
          status: [
            'Until when can I change my delivery address?',
            'At which order status can I no longer edit the address?',
            'How long can I still update the shipping address?',
          ],
        },
      },
      {
        text: p`Open the order in the app, tap ${f('edit', 'Edit address')} and save the new details; the change is confirmed by email.`,
        asks: {
          edit: ['How do I change the address on my order?', 'What do I tap to update the delivery address?', 'Where in the app can I fix the address?'],
        },
      },
      {
        text: p`Once the parcel is with ${f('carrier', k.pick(k.shop.region.carriers))}, only the carrier can redirect it, and they charge ${f('redirectFee', k.money(k.pick([2.5, 3, 4.5])))} for the service.`,
        asks: {
          carrier: ['Which carrier can redirect my parcel?', 'Who do I ask to redirect a shipped parcel?'],
          redirectFee: [
            'How much does it cost to redirect a parcel?',
            'Is there a fee to change the address after shipping?',
            'What does the carrier charge for redirection?',
          ],
        },
      },
      {
        text: p`To add or remove items, cancel the order and place a new one; we cannot merge orders. Parcels can be sent to a pickup point instead of your home, and ${f('lockers', k.pick(['parcel lockers', 'partner shops', 'post offices']))} hold them for ${f('holdDays', k.pick(['7 days', '10 days', '5 days']))}.`,
        asks: {
          lockers: ['Can my order go to a pickup point?', 'What kind of pickup points do you deliver to?'],
          holdDays: ['How long is a parcel held at the pickup point?', 'How many days do I have to collect my parcel?'],
        },
        keep: 0.7,
      },
      {
        text: p`Address changes are ${f('freeChange', 'free of charge')} while the order is still with us.`,
        asks: {
          freeChange: ['Does it cost anything to change the address before shipping?', 'Is there a fee for changing the address before my order ships?'],
        },
      },
      {
        text: p`For security reasons, changing the address to another country is ${f('abroad', 'not possible')}; cancel the order and order again instead.`,
        asks: {
          abroad: ['Can I change the delivery address to another country?', 'Can I move my order to an address abroad?'],
        },
        keep: 0.7,
      },
    ],
    absent: [
      'Can I add a gift message after ordering?',
      'Can I change the delivery date?',
      'Can I ship one order to two addresses?',
      'Can I change the name on the order?',
    ],
  }),
};

export const ORDER_TOPICS: readonly Topic[] = [shippingOptions, internationalShipping, returnsPolicy, refunds, cancelOrder, changeOrder];

/** Help-center topics about payments, invoices, gift cards, subscriptions and discounts. */
import type { Topic } from './kit.js';
import { f, note, p } from './prose.js';

const paymentMethods: Topic = {
  id: 'payment-methods',
  build: (k) => ({
    title: `${k.brand}: Accepted payment methods`,
    blocks: [
      note(p`${k.brand} offers several secure ways to pay.`),
      {
        text: p`We accept ${f('cards', k.pick(['Visa, Mastercard and American Express', 'Visa, Mastercard, Maestro and Discover', 'Visa and Mastercard']))}, as well as ${f('wallets', k.pick(['PayPal, Apple Pay and Google Pay', 'PayPal and Apple Pay', 'Google Pay and PayPal']))}.`,
        asks: {
          cards: ['Which credit cards do you accept?', 'Can I pay with a credit card?', 'What cards does {brand} take?'],
          wallets: ['Can I pay with PayPal?', 'Which digital wallets are accepted?', 'Do you accept Apple Pay or Google Pay?'],
        },
      },
      {
        text: p`Prices are charged in ${f('currency', k.shop.region.currencyName)}; if your card is in another currency, your bank converts the amount and may add a fee.`,
        asks: { currency: ['In which currency am I charged?', 'What currency are prices charged in?'] },
        keep: 0.6,
      },
      {
        text: p`With ${f('installments', k.pick(['Pay in 3', 'Split Pay', 'Pay Later']))} you can spread orders over ${f('minimum', k.money(k.pick([50, 80, 100])))} into three interest-free payments, one every ${f('interval', k.pick(['30 days', 'month', 'two weeks']))}.`,
        asks: {
          installments: ['Can I pay in installments?', 'What is the name of the installment option?', 'Is there a buy now, pay later option?'],
          minimum: ['What is the minimum order to pay in installments?', 'From what amount can I split my payment?'],
          interval: ['How often are installment payments taken?', 'How far apart are the installment payments?'],
        },
      },
      {
        text: p`Your card is only charged ${f('when', k.pick(['when the order ships', 'when you place the order', 'once the items leave our warehouse']))}; until then you may see a pending authorisation.`,
        asks: { when: ['When is my card charged?', 'Do you charge my card when I order or when it ships?', 'At what point is the payment taken?'] },
      },
      {
        text: p`We do not accept ${f('notAccepted', k.pick(['cash on delivery or cheques', 'cryptocurrency or cheques', 'cash on delivery']))}.`,
        asks: { notAccepted: ['Which payment methods are not accepted?', 'Can I pay cash on delivery?', 'What forms of payment do you refuse?'] },
        keep: 0.7,
      },
      {
        text: p`Card details are processed by ${f('psp', k.pick(['Adyen', 'Stripe', 'Worldline']))} and are ${f('stored', 'never stored on our servers')}.`,
        asks: {
          psp: ['Who processes card payments?', 'Which payment provider does {brand} use?'],
          stored: ['Do you store my card details?', 'Are my card details saved on your servers?', 'Is my card number kept by {brand}?'],
        },
      },
      {
        text: p`Business customers can pay by ${f('invoiceTerms', k.pick(['invoice with 30-day terms', 'invoice with 14-day terms']))} after a credit check.`,
        asks: {
          invoiceTerms: ['Can businesses pay by invoice?', 'What payment terms do business customers get?', 'Is paying by invoice possible for companies?'],
        },
        keep: 0.6,
      },
    ],
    absent: [
      'Can I pay with a company purchase order?',
      'Do you accept payment in bitcoin through a partner?',
      'Can I use two cards for one order?',
      'Is there a surcharge for credit card payments?',
      'Can I pay by phone?',
    ],
  }),
};

const failedPayments: Topic = {
  id: 'failed-payments',
  build: (k) => ({
    title: `${k.brand}: Why did my payment fail?`,
    blocks: [
      note(p`A declined payment is annoying, but it is usually easy to fix.`),
      {
        text: p`Most failed payments are caused by ${f('causes', k.pick(['an expired card, a typo in the security code or a failed 3-D Secure check', 'a wrong billing address, an expired card or a daily spending limit']))}.`,
        asks: { causes: ['Why did my payment fail?', 'What are the common reasons a payment is declined?', 'What usually causes a failed payment?'] },
      },
      {
        text: p`Check that the billing address matches the one your bank has on file, then try again; you can retry up to ${f('retries', k.pick(['three times', 'five times', 'four times']))} before checkout is locked for ${f('lockTime', k.pick(['one hour', '30 minutes', '24 hours']))}.`,
        asks: {
          retries: ['How many times can I retry a payment?', 'How often can I try to pay before checkout locks?'],
          lockTime: ['How long is checkout locked after too many failed payments?', 'How long do I wait after checkout is blocked?'],
        },
      },
      {
        text: p`If the payment failed but your bank shows a charge, this is only a reservation; it is released automatically within ${f('release', k.pick(['5 business days', '3 to 7 days', '72 hours']))}.`,
        asks: {
          release: [
            'The payment failed but I was charged, when will the money come back?',
            'When is a reservation from a failed payment released?',
            'How long until a pending charge from a failed payment disappears?',
          ],
        },
      },
      {
        text: p`3-D Secure codes are sent by your bank, not by ${k.brand}, so if the code never arrives please call ${f('ask', 'the number on the back of your card')}.`,
        asks: { ask: ['Who do I contact if the 3-D Secure code does not arrive?', 'I never received my card verification code, who should I call?'] },
        keep: 0.7,
      },
      {
        text: p`If nothing works, contact our payments team at ${f('email', k.email('payments'))} and include the ${f('include', k.pick(['error code shown at checkout', 'last four digits of your card and the time of the attempt']))}.`,
        asks: {
          email: ['What is the email address of the payments team?', 'Who can help me if my payment still fails?'],
          include: ['What should I include when I write to the payments team?', 'What information do you need about a failed payment?'],
        },
        keep: 0.8,
      },
      {
        text: p`Some banks block online payments abroad or above a daily limit; ${f('bankCall', 'a quick call to your bank')} usually solves this.`,
        asks: {
          bankCall: ['What can I do if my bank blocks the payment?', 'How do I fix a payment blocked by my bank?'],
        },
        keep: 0.8,
      },
      {
        text: p`Your order is kept for ${f('holdOrder', k.pick(['24 hours', '48 hours', 'two hours']))} after a failed payment, so you can try again without losing your basket.`,
        asks: {
          holdOrder: [
            'How long is my order kept after a failed payment?',
            'Will I lose my basket if the payment fails?',
            'How long is my basket saved after a declined payment?',
          ],
        },
      },
    ],
    absent: [
      'Can you see my full card number?',
      'Does a failed payment affect my credit score?',
      'Can I pay by invoice if my card keeps failing?',
      'What does error code 402 mean?',
    ],
  }),
};

const invoices: Topic = {
  id: 'billing-invoices',
  build: (k) => ({
    title: `${k.brand}: Invoices and VAT`,
    blocks: [
      note(p`Need paperwork for your records or your accountant? Here is how invoices work.`),
      {
        text: p`An invoice is created for every order and emailed to you ${f('when', k.pick(['when the order ships', 'on the day of purchase', 'once the payment is confirmed']))}. You can also download all invoices as PDF from ${f('where', 'Account > Billing')}.`,
        asks: {
          when: ['When do I receive my invoice?', 'When is the invoice emailed?'],
          where: ['Where can I download my invoices?', 'Where do I find old invoices?', 'Where are the PDF invoices in my account?'],
        },
      },
      {
        text: p`Business customers can add a VAT number under ${f('vatField', 'Company details')} before checkout; invoices cannot be changed ${f('changeLimit', k.pick(['once they have been issued', 'after 30 days', 'after the end of the month']))}.`,
        asks: {
          vatField: ['Where do I add my VAT number?', 'How can I put my company VAT number on the invoice?'],
          changeLimit: ['When can an invoice no longer be corrected?', 'Until when can an invoice be changed?'],
        },
      },
      {
        text: p`Prices on the website include ${f('vatRate', k.shop.region.tax)}.`,
        asks: { vatRate: ['Do prices include VAT?', 'How much VAT is included in the prices?', 'What tax is included in the website prices?'] },
      },
      {
        text: p`Our registered address for invoices is ${f('address', `${k.brand}, ${k.street()}`)}.`,
        asks: {
          address: ['What is the registered address on the invoices?', `What is {brand}'s billing address?`, 'Which company address appears on invoices?'],
        },
        keep: 0.7,
      },
      {
        text: p`Spotted a mistake, such as a wrong name or a double charge? Write to ${f('email', k.email('billing'))}; the billing team answers within ${f('reply', k.pick(['two business days', '48 hours', 'one business day']))}.`,
        asks: {
          email: ['Who do I contact about a billing mistake?', 'What is the billing team email?', 'Where do I report a double charge?'],
          reply: ['How quickly does the billing team reply?', 'How long until billing answers my email?'],
        },
      },
      {
        text: p`Each invoice lists the order number, the items, the VAT per item and ${f('paymentShown', 'the payment method used')}.`,
        asks: {
          paymentShown: ['Does the invoice show how I paid?', 'What information is on an invoice besides the items?'],
        },
      },
      {
        text: p`Invoices are issued in the name entered as ${f('billingName', 'the billing contact')} at checkout.`,
        asks: {
          billingName: ['Whose name appears on the invoice?', 'Which name is printed on my invoice?'],
        },
        keep: 0.7,
      },
    ],
    absent: [
      'Can I get invoices sent by post?',
      'Can invoices be issued in another currency?',
      'Do you offer monthly consolidated invoices?',
      'Can I pay an invoice by bank transfer later?',
    ],
  }),
};

const giftCards: Topic = {
  id: 'gift-cards',
  build: (k) => ({
    title: `${k.brand}: Gift cards`,
    blocks: [
      note(p`Looking for a present? A ${k.brand} gift card lets them choose.`),
      {
        text: p`${k.brand} gift cards are available from ${f('min', k.money(k.pick([10, 15, 20])))} to ${f('max', k.money(k.pick([250, 300, 500])))}, as a printed card or as an e-gift card sent by email.`,
        asks: {
          min: ['What is the smallest gift card value?', 'What is the minimum amount for a gift card?'],
          max: ['What is the maximum value of a gift card?', 'How much can a gift card be worth at most?'],
        },
      },
      {
        text: p`Gift cards are valid for ${f('validity', k.pick(['three years', 'two years', '36 months', 'five years']))} from the date of purchase.`,
        asks: { validity: ['How long are gift cards valid?', 'When does a gift card expire?', 'Do gift cards expire?'] },
      },
      {
        text: p`To check the balance, enter the ${f('digits', k.pick(['16-digit code', '12-digit code', '19-digit number']))} and the PIN on the Gift Cards page.`,
        asks: { digits: ['How do I check my gift card balance?', 'What do I enter to see how much is left on a gift card?'] },
      },
      {
        text: p`You can use up to ${f('perOrder', k.pick(['two gift cards', 'three gift cards', 'five gift cards']))} per order and pay any remaining amount by card.`,
        asks: { perOrder: ['How many gift cards can I use on one order?', 'Can I combine several gift cards in one order?'] },
        keep: 0.7,
      },
      {
        text: p`Gift cards cannot be exchanged for cash. A lost printed card can be blocked and replaced if you still have ${f('proof', 'the receipt')}; call ${f('phone', k.phone())} to report it.`,
        asks: {
          proof: ['What do I need to replace a lost gift card?', 'Can a lost gift card be replaced?'],
          phone: ['What number do I call to report a lost gift card?', 'Who do I call to block a gift card?'],
        },
        keep: 0.7,
      },
      {
        text: p`E-gift cards are delivered ${f('eDelivery', k.pick(['within 15 minutes', 'instantly', 'within an hour']))}, or on a date you choose, and can include a personal message of up to ${f('msgLen', k.pick(['200 characters', '300 characters', '150 characters']))}.`,
        asks: {
          eDelivery: ['How fast is an e-gift card delivered?', 'When does the recipient get an e-gift card?'],
          msgLen: ['How long can the gift card message be?', 'Can I add a personal message to an e-gift card?'],
        },
      },
      {
        text: p`Printed cards are posted free of charge and arrive in ${f('printDays', k.pick(['2 to 4 business days', '3 to 5 business days']))}.`,
        asks: {
          printDays: ['How long does a printed gift card take to arrive?', 'When will a physical gift card be delivered?'],
        },
        keep: 0.7,
      },
    ],
    absent: [
      'Can I use a gift card in the physical store?',
      'Can I top up an existing gift card?',
      'Can gift cards be used to buy other gift cards?',
      'Can I transfer a gift card balance to someone else?',
    ],
  }),
};

const subscriptions: Topic = {
  id: 'subscriptions',
  build: (k) => {
    const planA = k.pick(['Basic', 'Starter', 'Lite']);
    const planB = k.pick(['Plus', 'Premium', 'Pro']);
    return {
      title: `${k.brand}: Membership plans`,
      blocks: [
        note(p`Members save on every order and get extra perks.`),
        {
          text: p`Our membership comes in two plans: ${f('planA', planA)} at ${f('priceA', `${k.money(k.pick([4.99, 5.99, 6.5]))} a month`)} and ${f('planB', planB)} at ${f('priceB', `${k.money(k.pick([9.99, 12.99, 14.5]))} a month`)}.`,
          asks: {
            planA: ['What is the cheaper membership plan called?', 'What is the name of the [basic|entry-level] plan?'],
            priceA: [`How much does the ${planA} plan cost?`, `What is the monthly price of ${planA}?`],
            planB: ['What is the higher membership plan called?', 'Which plan includes the most benefits?'],
            priceB: [`How much is ${planB} per month?`, `What does the ${planB} plan cost?`],
          },
        },
        {
          text: p`Both plans include free standard shipping; ${planB} adds ${f('extra', k.pick(['free express delivery and early access to sales', 'free returns and a yearly birthday voucher', 'extended 60-day returns and priority support']))}.`,
          asks: { extra: [`What extra benefits does ${planB} include?`, `What do I get with ${planB} that ${planA} does not have?`] },
        },
        {
          text: p`New members get a free trial of ${f('trial', k.pick(['30 days', '14 days', 'one month']))}.`,
          asks: { trial: ['Is there a free trial?', 'How long is the free trial?', 'How long can I try the membership for free?'] },
        },
        {
          text: p`Membership renews automatically on the ${f('renewDay', k.pick(['first day of each month', 'same date every month', 'date you signed up']))}. You can pause it for up to ${f('pause', k.pick(['three months', 'two months', '90 days']))} a year or cancel any time in ${f('cancelWhere', 'Account > Membership')}; cancelling stops the next renewal but keeps your benefits until the end of the paid period.`,
          asks: {
            renewDay: ['When does my membership renew?', 'On what date am I billed for my membership?'],
            pause: ['Can I pause my membership?', 'How long can I pause my plan?'],
            cancelWhere: ['Where do I cancel my membership?', 'How do I cancel my subscription?'],
          },
        },
        {
          text: p`Switching from ${planA} to ${planB} takes effect ${f('upgrade', k.pick(['immediately, and we charge the difference for the current month', 'at the start of your next billing period']))}.`,
          asks: { upgrade: [`When does an upgrade from ${planA} to ${planB} take effect?`, 'What happens when I upgrade my plan?'] },
          keep: 0.6,
        },
        {
          text: p`If a renewal payment fails, we ${f('failedRenewal', k.pick(['try again after three days', 'retry twice during the following week']))} before the membership is paused.`,
          asks: {
            failedRenewal: ['What happens if my membership payment fails?', 'Do you retry a failed renewal payment?'],
          },
          keep: 0.7,
        },
        {
          text: p`You can also give a membership as a present: a ${f('giftLength', k.pick(['6-month', '12-month', '3-month']))} gift membership is delivered by email with a code that the recipient activates in their account. Gift memberships do not renew automatically, so the recipient is never charged.`,
          asks: {
            giftLength: ['Can I give a membership as a gift?', 'How long does a gift membership last?'],
          },
          keep: 0.5,
        },
      ],
      absent: [
        'Is there an annual plan with a discount?',
        'Can I share my membership with family?',
        'Do students get a cheaper membership?',
        'Can I get a refund for unused membership months?',
      ],
    };
  },
};

const discounts: Topic = {
  id: 'discount-codes',
  build: (k) => ({
    title: `${k.brand}: Discount codes and price match`,
    blocks: [
      note(p`Everyone likes a good deal.`),
      {
        text: p`Enter discount codes in the ${f('field', 'Promo code')} field on the checkout page, then press Apply; only ${f('perOrder', 'one code')} can be used per order.`,
        asks: {
          field: ['Where do I enter a discount code?', 'Which field is for the promo code?'],
          perOrder: ['Can I use two discount codes on one order?', 'How many codes can I use per order?', 'Can I combine promo codes?'],
        },
      },
      {
        text: p`New subscribers to our newsletter receive ${f('welcome', k.pick(['10% off', '15% off', `${k.money(10)} off`]))} their first order.`,
        asks: { welcome: ['Is there a discount for signing up to the newsletter?', 'How much do I save on my first order?', 'What is the welcome discount?'] },
      },
      {
        text: p`Codes do not apply to ${f('excluded', k.pick(['gift cards and items already on sale', 'gift cards, shipping costs or sale items', 'gift cards']))}.`,
        asks: { excluded: ['What can discount codes not be used on?', 'Are there products excluded from discount codes?'] },
      },
      {
        text: p`Students get ${f('student', k.pick(['10%', '15%', '20%']))} off all year after verifying their status with ${f('verify', k.pick(['a university email address', 'a valid student ID', 'UNiDAYS']))}.`,
        asks: {
          student: ['Is there a student discount?', 'How much is the student discount?', 'What discount do students get?'],
          verify: ['How do students verify their status?', 'What do I need to get the student discount?'],
        },
        keep: 0.6,
      },
      {
        text: p`If the price of an item you bought drops within ${f('priceDrop', k.pick(['14 days', '7 days', '30 days']))}, we refund the difference; just send your order number to ${f('email', k.email('hello'))}.`,
        asks: {
          priceDrop: ['Do you refund the difference if the price drops?', 'How long after buying can I get a price adjustment?'],
          email: ['Where do I send a price adjustment request?', 'What email do I use to ask for a price difference refund?'],
        },
        keep: 0.6,
      },
      {
        text: p`Codes sent by email are usually valid for ${f('codeValidity', k.pick(['14 days', '30 days', '7 days']))}; the expiry date is printed under the code.`,
        asks: {
          codeValidity: ['How long are discount codes valid?', 'When do promo codes from emails expire?', 'How long can I use a code from your newsletter?'],
        },
      },
      {
        text: p`Forgot to enter a code? Contact us within ${f('lateCode', k.pick(['24 hours', '48 hours', '7 days']))} of ordering and we will apply it retroactively.`,
        asks: {
          lateCode: ['I forgot to use my discount code, can you still apply it?', 'How long after ordering can a code be added?'],
        },
        keep: 0.7,
      },
    ],
    absent: [
      'Do you match competitor prices?',
      'Is there a referral bonus for inviting friends?',
      'Do you have a Black Friday sale?',
      'Can I get a discount for buying in bulk?',
      'Do military members get a discount?',
    ],
  }),
};

export const BILLING_TOPICS: readonly Topic[] = [paymentMethods, failedPayments, invoices, giftCards, subscriptions, discounts];

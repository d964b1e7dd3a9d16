/** Help-center topics about accounts, security, privacy, warranty and contacting support. */
import type { Topic } from './kit.js';
import { f, note, p } from './prose.js';

const passwordReset: Topic = {
  id: 'password-reset',
  build: (k) => ({
    title: `${k.brand}: Resetting your password`,
    blocks: [
      note(p`It happens to everyone: here is how to get back into your account.`),
      {
        text: p`Forgot your password? On the sign-in page, select ${f('link', '"Forgot password?"')} and enter the email address of your account.`,
        asks: { link: ['How do I reset my password?', 'What do I click if I forgot my password?', 'Where do I start a password reset?'] },
      },
      {
        text: p`We send a reset link from ${f('sender', k.email('no-reply'))} with the subject ${f('subject', k.pick(['"Reset your password"', '"Your password reset request"', '"Set a new password"']))}; the link expires after ${f('expiry', k.pick(['30 minutes', '60 minutes', '2 hours', '15 minutes']))}.`,
        asks: {
          sender: ['Which address sends the password reset email?', 'What email address does the reset link come from?'],
          subject: ['What is the subject of the password reset email?', 'What subject line should I look for?'],
          expiry: ['How long is the reset link valid?', 'When does the password reset link expire?', 'How long do I have to use the reset link?'],
        },
      },
      {
        text: p`If the email does not arrive within ${f('wait', k.pick(['ten minutes', 'five minutes', 'a few minutes']))}, check your spam folder and make sure you used the address you signed up with.`,
        asks: { wait: ['How long should I wait for the reset email?', 'The reset email has not arrived, what should I do?'] },
        keep: 0.8,
      },
      {
        text: p`New passwords must have at least ${f('length', k.pick(['8 characters', '10 characters', '12 characters']))} and include ${f('rules', k.pick(['a number and a capital letter', 'a number and a symbol', 'upper- and lower-case letters and a number']))}. You cannot reuse any of your last ${f('history', k.pick(['three', 'five', 'four']))} passwords.`,
        asks: {
          length: ['How long does my password need to be?', 'What is the minimum password length?'],
          rules: ['What are the password requirements?', 'What characters must a new password contain?'],
          history: ['Can I reuse an old password?', 'How many previous passwords can I not reuse?'],
        },
      },
      {
        text: p`After a reset, you are signed out on ${f('signout', 'all other devices')} for your security.`,
        asks: { signout: ['What happens to my other sessions after a password reset?', 'Am I logged out of my other devices after resetting my password?'] },
        keep: 0.6,
      },
      {
        text: p`If you signed up with ${f('social', k.pick(['Google or Apple', 'Apple', 'Google']))}, you have no ${k.brand} password; use the same button to sign in instead.`,
        asks: {
          social: ['I signed up with a social login, how do I reset my password?', 'Which sign-in options do not use a {brand} password?'],
        },
        keep: 0.6,
      },
    ],
    absent: [
      'Can I reset my password by text message?',
      'Can support tell me my current password?',
      'How often do I have to change my password?',
      'Can I sign in with Google instead of a password?',
    ],
  }),
};

const accountLocked: Topic = {
  id: 'account-locked',
  build: (k) => ({
    title: `${k.brand}: Locked accounts and two-step verification`,
    blocks: [
      note(p`Security messages can be confusing, so here is what they mean.`),
      {
        text: p`To protect you, we lock an account after ${f('attempts', k.pick(['five failed sign-in attempts', 'ten failed sign-in attempts', 'six wrong passwords in a row']))}. The lock is lifted automatically after ${f('duration', k.pick(['30 minutes', '1 hour', '24 hours', '15 minutes']))}.`,
        asks: {
          attempts: ['Why is my account locked?', 'How many failed logins lock my account?', 'After how many wrong passwords is the account locked?'],
          duration: ['How long does an account lock last?', 'When will my account unlock itself?', 'How long do I have to wait after my account is locked?'],
        },
      },
      {
        text: p`If you cannot wait, reset your password: a successful reset unlocks the account ${f('resetUnlock', 'immediately')}.`,
        asks: { resetUnlock: ['Does resetting my password unlock my account?', 'How quickly does a password reset unlock my account?'] },
      },
      {
        text: p`We recommend turning on two-step verification in ${f('twoStepWhere', 'Account > Security')}. You can receive codes by text message or in an authenticator app, and you get ${f('backupCodes', k.pick(['ten backup codes', 'eight backup codes', 'five backup codes']))} to use if you lose your phone.`,
        asks: {
          twoStepWhere: ['Where do I turn on two-step verification?', 'Where can I enable two-factor authentication?'],
          backupCodes: ['How many backup codes do I get?', 'What can I use if I lose my phone with two-step verification on?'],
        },
      },
      {
        text: p`Accounts suspended for suspicious activity cannot be unlocked by a reset; write to ${f('securityEmail', k.email('security'))} from the email address on the account and we will verify your identity within ${f('verifyTime', k.pick(['one business day', '48 hours', '24 hours']))}.`,
        asks: {
          securityEmail: ['My account was suspended for suspicious activity, who do I contact?', 'What is the email address of the security team?'],
          verifyTime: ['How long does identity verification take for a suspended account?', 'How soon will you verify my identity?'],
        },
        keep: 0.8,
      },
      {
        text: p`${k.brand} will never ask for your password ${f('never', 'by phone, email or chat')}.`,
        asks: { never: ['Will {brand} ever ask for my password?', 'Does support ask for my password by phone?'] },
        keep: 0.6,
      },
      {
        text: p`You receive an email ${f('lockEmail', 'each time your account is locked')}, so you know if someone else is trying to sign in.`,
        asks: {
          lockEmail: ['Do you notify me when my account is locked?', 'Will I get an email if my account is locked?'],
        },
        keep: 0.7,
      },
    ],
    absent: [
      'Can I use a hardware security key?',
      'Can I sign in with my fingerprint?',
      'Can I see a list of recent sign-ins?',
      'Can a family member unlock my account for me?',
    ],
  }),
};

const privacy: Topic = {
  id: 'privacy-data',
  build: (k) => ({
    title: `${k.brand}: Your data and deleting your account`,
    blocks: [
      note(p`We take your privacy seriously and only keep what we need.`),
      {
        text: p`You can download a copy of your personal data from ${f('exportWhere', 'Account > Privacy')}; the file is ready within ${f('exportTime', k.pick(['48 hours', '72 hours', '24 hours']))} and we email you when it is.`,
        asks: {
          exportWhere: ['Where can I download my personal data?', 'How do I export my data?'],
          exportTime: ['How long does a data export take?', 'When will my data download be ready?'],
        },
      },
      {
        text: p`To delete your account, choose ${f('deleteButton', 'Delete account')} on the same page. Deletion is final after ${f('grace', k.pick(['14 days', '30 days', '7 days']))}; until then you can sign in to undo it.`,
        asks: {
          deleteButton: ['How do I delete my account?', 'Which button closes my account?'],
          grace: ['Can I undo an account deletion?', 'How long do I have to change my mind after deleting my account?', 'When is account deletion final?'],
        },
      },
      {
        text: p`We keep invoices for ${f('retention', k.pick(['ten years', 'seven years', 'six years']))} because tax law requires it, but they are no longer linked to a profile.`,
        asks: {
          retention: [
            'How long do you keep invoices after my account is deleted?',
            'Is all my data removed when I delete my account?',
            'How long are invoices stored?',
          ],
        },
      },
      {
        text: p`Our data protection officer, ${f('dpo', k.pick(['Dr. Anja Köhler', 'Søren Lindqvist', 'María José Peña', 'Zoë Dubois', 'Łukasz Wróbel']))}, can be reached at ${f('dpoEmail', k.email('privacy'))} or by post at ${f('dpoAddress', k.street())}.`,
        asks: {
          dpo: ['Who is the data protection officer?', 'What is the name of the data protection officer?'],
          dpoEmail: ['How do I contact the data protection officer?', 'What email address handles privacy requests?'],
          dpoAddress: ['What is the postal address for privacy requests?', 'Where can I send a letter about my data?'],
        },
      },
      {
        text: p`You can stop marketing emails at any time with the ${f('unsubscribe', 'Unsubscribe')} link at the bottom of each newsletter.`,
        asks: { unsubscribe: ['How do I stop marketing emails?', 'How can I unsubscribe from the newsletter?'] },
        keep: 0.7,
      },
      note(p`We use your data to process orders, to prevent fraud and, only if you agree, to send you newsletters and offers that match your interests.`, 0.5),
      {
        text: p`Your order history is ${f('historyKept', 'deleted together with your account')}, so download any receipts you need first.`,
        asks: {
          historyKept: ['Is my order history deleted with my account?', 'What happens to my order history when I delete my account?'],
        },
        keep: 0.8,
      },
    ],
    absent: [
      'Do you sell my data to third parties?',
      'Which cookies does the website use?',
      'Can I delete my account through the app?',
      'Where are your servers located?',
      'Can I correct my date of birth?',
    ],
  }),
};

const warranty: Topic = {
  id: 'warranty',
  build: (k) => ({
    title: `${k.brand}: Warranty and repairs`,
    blocks: [
      note(p`We build our products to last, but if something goes wrong we are here to help.`),
      {
        text: p`All products come with a ${f('length', k.pick(['two-year', 'three-year', 'one-year']))} warranty against manufacturing defects from the date of delivery.`,
        asks: { length: ['How long is the warranty?', 'What warranty do your products have?', 'How many years of warranty do I get?'] },
      },
      {
        text: p`The warranty does not cover ${f('excluded', k.pick(['accidental damage, water damage or normal wear', 'drops, liquid damage and worn batteries', 'misuse, cosmetic scratches or repairs by third parties']))}.`,
        asks: { excluded: ['What does the warranty not cover?', 'Is accidental damage covered?', 'What is excluded from the warranty?'] },
      },
      {
        text: p`To make a claim, fill in the warranty form with your order number and ${f('proof', k.pick(['a photo or short video of the fault', 'a description of the problem and a photo']))}. Our technicians reply within ${f('reply', k.pick(['three business days', 'five business days', '48 hours']))}.`,
        asks: {
          proof: ['What do I need to submit with a warranty claim?', 'What should I include in a warranty claim?'],
          reply: ['How long does it take to get an answer on a warranty claim?', 'When will a technician reply to my claim?'],
        },
      },
      {
        text: p`Approved items are repaired at our service centre at ${f('centre', k.street())} or replaced if a repair is not possible; repairs take about ${f('repairTime', k.pick(['two weeks', '10 business days', 'three weeks']))}.`,
        asks: {
          centre: ['Where is the service centre?', 'Where are warranty repairs done?', 'What is the address of the repair centre?'],
          repairTime: ['How long does a warranty repair take?', 'How long will my product be away for repair?'],
        },
      },
      {
        text: p`You can extend the warranty by ${f('extension', k.pick(['two years', 'one year', 'three years']))} for ${f('extensionPrice', k.money(k.pick([19, 29, 39])))} within ${f('extensionWindow', k.pick(['60 days', '30 days', '90 days']))} of purchase.`,
        asks: {
          extension: ['Can I extend my warranty?', 'How much longer can the warranty be extended?'],
          extensionPrice: ['How much does an extended warranty cost?', 'What is the price of the warranty extension?'],
          extensionWindow: ['Until when can I buy the extended warranty?', 'How long after buying can I extend the warranty?'],
        },
        keep: 0.6,
      },
      {
        text: p`Your ${f('proofOfPurchase', 'order confirmation email')} serves as proof of purchase, so you do not need a paper receipt.`,
        asks: {
          proofOfPurchase: ['Do I need a receipt for a warranty claim?', 'What serves as proof of purchase for the warranty?'],
        },
      },
      {
        text: p`Shipping to the service centre is ${f('shipFree', 'free')}: we send you a prepaid label once the claim is approved.`,
        asks: {
          shipFree: ['Do I have to pay to send my product for repair?', 'Is shipping to the service centre free?'],
        },
        keep: 0.7,
      },
      {
        text: p`Outside the warranty period we still repair most products for a fixed fee of ${f('fixedFee', k.money(k.pick([39, 49, 59])))} plus parts. Send us the product with a note describing the fault and we will email you a quote within ${f('quoteTime', k.pick(['five working days', 'a week', 'three working days']))}. If you decline the quote, we return the product ${f('declineCost', k.pick(['free of charge', 'at no cost']))}.`,
        asks: {
          fixedFee: ['How much is a repair outside the warranty?', 'Do you repair products after the warranty has expired?'],
          quoteTime: ['How long does it take to get a repair quote?', 'When will I receive a quote for the repair?'],
          declineCost: ['What happens if I decline the repair quote?', 'Do I pay anything if I reject the quote?'],
        },
        keep: 0.5,
      },
    ],
    absent: [
      'Is the warranty transferable to a new owner?',
      'Do you lend a replacement device during repair?',
      'Does the warranty cover products bought second-hand?',
      'Can I repair the product myself without losing the warranty?',
    ],
  }),
};

const contactSupport: Topic = {
  id: 'contact-support',
  noContactFooter: true,
  build: (k) => ({
    title: `${k.brand}: Contact customer service`,
    blocks: [
      note(p`We are happy to help with orders, returns and anything else.`),
      {
        text: p`Our customer service team in ${k.city} is available by phone on ${f('phone', k.phone())}, ${f('phoneHours', k.hours())}.`,
        asks: {
          phone: ['What is the customer service phone number?', 'What number can I call to reach {brand}?', 'How can I phone customer service?'],
          phoneHours: ['What are the phone support hours?', 'When can I call customer service?', 'What time is the phone line open?'],
        },
      },
      {
        text: p`Live chat is open ${f('chatHours', k.pick(['every day from 8:00 to 22:00', 'Monday to Saturday, 9:00 to 21:00', 'around the clock']))}; outside those hours, the assistant can answer common questions and pass your message to an agent.`,
        asks: { chatHours: ['When is live chat available?', 'What are the live chat hours?', 'Can I chat with an agent at night?'] },
      },
      {
        text: p`You can also email ${f('email', k.email('support'))}; we answer within ${f('reply', k.pick(['24 hours on working days', 'two business days', '48 hours']))}.`,
        asks: {
          email: ['What is the customer service email address?', 'What email can I write to for help?'],
          reply: ['How fast do you answer emails?', 'How long does it take to get a reply by email?'],
        },
      },
      {
        text: p`Letters and parcels that are not returns should go to ${f('post', `${k.brand} Customer Care, ${k.street()}`)}.`,
        asks: { post: ['What is your postal address?', 'Where do I send a letter to customer service?'] },
        keep: 0.6,
      },
      {
        text: p`For complaints that our team could not resolve, you can contact ${f('escalation', k.pick(['our customer relations manager', 'the complaints desk', 'our ombudsperson']))} through the complaint form; every complaint gets a reference number and a final answer within ${f('complaintTime', k.pick(['14 days', '10 working days', '30 days']))}.`,
        asks: {
          escalation: ['Who handles complaints that support could not solve?', 'How do I escalate a complaint?'],
          complaintTime: ['How long does it take to get a final answer to a complaint?', 'When will my complaint be resolved?'],
        },
        keep: 0.7,
      },
      {
        text: p`Please have your ${f('have', 'order number and the email address of your account')} ready when you contact us.`,
        asks: {
          have: ['What should I have ready when I contact support?', 'What information do I need when I call?'],
        },
      },
      {
        text: p`You are also welcome in our showroom at ${f('showroom', k.street())}, where staff can help with returns, exchanges and repairs in person. The showroom is open ${f('showroomHours', k.pick(['Tuesday to Saturday, 10:00 to 19:00', 'Monday to Saturday, 10:00 to 18:00', 'Wednesday to Sunday, 11:00 to 18:00']))}; appointments are not needed, but on Saturdays it can get busy.`,
        asks: {
          showroom: ['Is there a showroom I can visit?', 'Where is the {brand} showroom?', 'Can I get help in person?'],
          showroomHours: ['When is the showroom open?', 'What are the showroom opening hours?'],
        },
        keep: 0.5,
      },
    ],
    absent: [
      'Is customer service available on public holidays?',
      'Can I book a video call with support?',
      'Do you have support in Spanish?',
      'Is there a WhatsApp support number?',
      'Can I request a callback?',
    ],
  }),
};

const loyalty: Topic = {
  id: 'loyalty-points',
  build: (k) => {
    const name = k.pick(['Stamps', 'Stars', 'Leaves', 'Points', 'Pebbles']);
    return {
      title: `${k.brand}: The ${name} rewards programme`,
      blocks: [
        note(p`Our rewards programme is our way of saying thank you.`),
        {
          text: p`Members of the ${name} programme collect one point for every ${f('spend', k.money(k.pick([1, 2, 5])))} they spend. Every ${f('threshold', k.pick(['100 points', '200 points', '500 points']))} turn into a voucher worth ${f('voucher', k.money(k.pick([5, 10])))}.`,
          asks: {
            spend: ['How much do I have to spend to earn a point?', 'How do I collect points?', 'How are points earned?'],
            threshold: ['How many points do I need for a voucher?', 'When do points turn into a voucher?'],
            voucher: ['How much is a rewards voucher worth?', 'What is the value of a voucher?'],
          },
        },
        {
          text: p`Points expire ${f('expiry', k.pick(['12 months after they are earned', 'at the end of the following year', 'after 24 months without a purchase']))}.`,
          asks: { expiry: ['Do points expire?', 'When do my points expire?', 'How long are points valid?'] },
        },
        {
          text: p`Reach ${f('goldSpend', k.money(k.pick([500, 750, 1000])))} in a calendar year and you become a ${f('tier', k.pick(['Gold', 'Silver Plus', 'Platinum']))} member, with ${f('tierPerk', k.pick(['double points and free express shipping', 'free returns and early access to new collections', 'a birthday gift and priority support']))}.`,
          asks: {
            goldSpend: ['How much do I need to spend to reach the higher tier?', 'What yearly spend unlocks the top tier?'],
            tier: ['What is the top membership tier called?', 'What is the name of the higher tier?'],
            tierPerk: ['What benefits does the top tier have?', 'What do I get as a top tier member?'],
          },
          keep: 0.7,
        },
        {
          text: p`Joining is free: tick the box when you create an account or sign up in ${f('join', 'the app')}.`,
          asks: { join: [`How do I join the ${name} programme?`, 'Where can I sign up for the rewards programme?'] },
        },
        {
          text: p`You can see your balance in ${f('balanceWhere', 'the Rewards tab of the app')}, and vouchers are valid for ${f('voucherValidity', k.pick(['90 days', 'six months', 'one year']))}.`,
          asks: {
            balanceWhere: ['Where can I see my points balance?', 'How do I check how many points I have?'],
            voucherValidity: ['How long can I use a rewards voucher?', 'When do rewards vouchers expire?'],
          },
        },
      ],
      absent: [
        'Can I transfer points to another member?',
        'Do I earn points on gift card purchases?',
        'Can I use points together with a discount code?',
        'Do points count for purchases in the store?',
      ],
    };
  },
};

export const ACCOUNT_TOPICS: readonly Topic[] = [passwordReset, accountLocked, privacy, warranty, contactSupport, loyalty];

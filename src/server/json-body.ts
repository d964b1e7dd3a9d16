/**
 * The API's JSON body parser, in place of Fastify's default so that its refusals say what to fix:
 * - an empty body is no body (several HTTP clients send content-type: application/json on every
 *   request, DELETE and GET included); a route that needs a body then says "body is required";
 * - a body with a `__proto__` key, or a `constructor` key holding `prototype`, is valid JSON
 *   refused for safety (prototype poisoning), and the detail names the key and where it is;
 * - malformed JSON says so, with the parser's own position;
 * - a body declared in another charset than UTF-8 is refused (415) rather than read as UTF-8:
 *   JSON between systems is UTF-8 (RFC 8259 section 8.1), and reading Latin-1 bytes as UTF-8
 *   would turn every accented letter into U+FFFD, which the tokenizer deletes, without a word;
 * - for the same reason, a body declared UTF-8 (or not declared) whose bytes are not UTF-8 is a
 *   400 that says where, not a string with U+FFFD in place of what was sent.
 */
import type { FastifyInstance } from 'fastify';
import { parse as secureParse } from 'secure-json-parse';
import { ForbiddenKeyError, InvalidJsonError, UnsupportedCharsetError } from './problems.js';

/** Where the first forbidden key is, e.g. "body/inputs/0/__proto__"; undefined when none. */
export function forbiddenKeyPath(value: unknown, at = 'body'): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (key === '__proto__') return `${at}/__proto__`;
    if (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) {
      return `${at}/constructor/prototype`;
    }
    const inner = forbiddenKeyPath(child, `${at}/${key}`);
    if (inner) return inner;
  }
  return undefined;
}

/** Strict UTF-8: throws on any byte sequence that is not UTF-8 instead of replacing it. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body's text, or InvalidJsonError naming the first byte that is not UTF-8. */
export function decodeUtf8Body(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    // Rare: find the offset for the message (Buffer's lenient decoding marks it with U+FFFD).
    const at = Buffer.byteLength(body.toString('utf8').split('\ufffd')[0] ?? '', 'utf8');
    throw new InvalidJsonError(`the body is not valid UTF-8 (at byte ${at}); JSON must be UTF-8 (RFC 8259): encode the text as UTF-8`);
  }
}

function parseJsonBody(text: string): unknown {
  if (text.trim().length === 0) return undefined;
  try {
    return secureParse(text, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const message = (err as Error).message;
    if (!message.includes('forbidden prototype')) {
      throw new InvalidJsonError(`the body is not valid JSON (${message}); send a JSON document`);
    }
    // The library refused a prototype key; find where it is so the client can remove it.
    const at = forbiddenKeyPath(JSON.parse(text)) ?? 'body';
    const key = at.endsWith('/constructor/prototype') ? 'constructor.prototype' : '__proto__';
    throw new ForbiddenKeyError(`the body may not hold a ${JSON.stringify(key)} key (found at ${at}): it could alter object prototypes; rename or remove it`);
  }
}

/** Charsets a JSON body may be declared in: UTF-8, and ASCII, which is a subset of it. */
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

/** The charset parameter of a content-type header, lower-cased; undefined when there is none. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? '');
  return match ? (match[1] ?? match[2] ?? '').toLowerCase() : undefined;
}

/** Replaces Fastify's application/json parser on `app` (call before routes are registered). */
export function useJsonBodyParser(app: FastifyInstance, bodyLimitBytes: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: bodyLimitBytes }, (request, body, done) => {
    try {
      const charset = charsetOf(request.headers['content-type']);
      if (charset !== undefined && !UTF8_CHARSETS.has(charset)) {
        throw new UnsupportedCharsetError(
          `the body is declared as charset=${charset}; JSON must be UTF-8 (RFC 8259): encode it as UTF-8 and send charset=utf-8 or no charset`,
        );
      }
      done(null, parseJsonBody(decodeUtf8Body(body as Buffer)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

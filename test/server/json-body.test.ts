/**
 * The JSON body parser's charset rule: a body declared in UTF-8 (any spelling, quoted or not) or
 * ASCII is read; one declared in another charset is refused with 415 and a detail that says what
 * to send, instead of being read as UTF-8 (where Latin-1 accents would become U+FFFD and vanish in
 * the tokenizer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { EnvReader, loadServerConfig } from '../../src/config.js';
import { createMetrics } from '../../src/metrics.js';
import { buildApp } from '../../src/server/app.js';
import { charsetOf } from '../../src/server/json-body.js';
import { noEngine } from '../../src/server/openapi.js';
import { problemType } from '../../src/server/status-table.js';

let app: FastifyInstance;
const metrics = createMetrics({ defaultMetrics: false });

beforeAll(async () => {
  app = await buildApp({ config: { server: loadServerConfig(new EnvReader({})) }, engine: noEngine, metrics });
});
afterAll(async () => {
  await app.close();
  metrics.close();
});

/** A body the schema refuses (no inputs): reaching validation shows the parser read it. */
const post = (contentType: string, payload: string | Buffer = '{"model":"support-intent"}') =>
  app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': contentType }, payload });

describe('charsetOf', () => {
  it('reads the charset parameter, quoted or not, in any case', () => {
    expect(charsetOf('application/json')).toBeUndefined();
    expect(charsetOf(undefined)).toBeUndefined();
    expect(charsetOf('application/json; charset=UTF-8')).toBe('utf-8');
    expect(charsetOf('application/json;charset="utf-8"')).toBe('utf-8');
    expect(charsetOf('application/json; foo=bar; Charset=ISO-8859-1')).toBe('iso-8859-1');
    expect(charsetOf('application/json; charset=')).toBe('');
  });
});

describe('JSON body charset', () => {
  for (const contentType of [
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=UTF8',
    'application/json; charset="UTF-8"',
    'application/json; charset=us-ascii',
  ]) {
    it(`reads a body sent as ${contentType}`, async () => {
      const res = await post(contentType);
      expect(res.statusCode).toBe(400);
      expect(res.json().detail).toMatch(/inputs/);
    });
  }

  for (const charset of ['iso-8859-1', 'windows-1252', 'utf-16', '']) {
    it(`refuses a body declared as charset=${charset || '(empty)'} with 415 saying to send UTF-8`, async () => {
      const res = await post(`application/json; charset=${charset}`, Buffer.from('{"model":"support-intent","inputs":["caf\u00e9"]}', 'latin1'));
      expect(res.statusCode).toBe(415);
      const problem = res.json();
      expect(problem.type).toBe(problemType('unsupported_charset'));
      expect(problem.detail).toContain(`charset=${charset}`);
      expect(problem.detail).toMatch(/must be UTF-8/);
    });
  }
});

describe('JSON body encoding', () => {
  it.each([
    ['a stray byte', Buffer.from([0x5b, 0x22, 0x68, 0xff, 0xfe, 0x22, 0x5d]), 3],
    ['an encoded surrogate', Buffer.from([0x5b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x5d]), 2],
    ['a truncated sequence', Buffer.from([0x5b, 0x22, 0x63, 0x61, 0x66, 0xc3, 0x22, 0x5d]), 5],
  ])('refuses a body that is not UTF-8 (%s) with 400 naming the byte', async (_name, inputs, at) => {
    const payload = Buffer.concat([Buffer.from('{"model":"support-intent","inputs":'), inputs, Buffer.from('}')]);
    const res = await post('application/json', payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().type).toBe(problemType('invalid_json_body'));
    expect(res.json().detail).toBe(
      `the body is not valid UTF-8 (at byte ${'{"model":"support-intent","inputs":'.length + at}); JSON must be UTF-8 (RFC 8259): encode the text as UTF-8`,
    );
  });

  it('reads UTF-8 beyond ASCII as sent, a byte order mark included', async () => {
    const res = await post(
      'application/json',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"model":"support-intent","inputs":["caf\u00e9 \ud83d\ude00"], "x": 1}', 'utf8')]),
    );
    // Read, then refused by the schema for the unknown field: the parser took the bytes.
    expect(res.statusCode).toBe(400);
    expect(res.json().type).toBe(problemType('validation'));
  });
});

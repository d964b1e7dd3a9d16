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

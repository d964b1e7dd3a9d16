/**
 * The messages validation.ts makes of Ajv's errors, for the schema shapes the routes use. A value
 * outside a set of allowed constants (a job state, a rule's on_pass) must list the allowed ones,
 * not Ajv's "must be equal to constant".
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifySchemaValidationError } from 'fastify';
import { describe, expect, it } from 'vitest';
import { fieldErrors } from '../../src/server/validation.js';
import { requestValidatorCompiler } from '../../src/server/validators.js';

function errorsOf(schema: TSchema, value: unknown, httpPart = 'body') {
  const validate = requestValidatorCompiler()({ schema, httpPart, method: 'GET', url: '/' }) as ((v: unknown) => boolean) & {
    errors?: FastifySchemaValidationError[];
  };
  expect(validate(value)).toBe(false);
  return fieldErrors(httpPart, validate.errors ?? []);
}

describe('validation messages', () => {
  const state = Type.Union([Type.Literal('queued'), Type.Literal('active'), Type.Literal('completed')]);

  it('a value outside a union of constants lists the allowed values', () => {
    expect(errorsOf(Type.Object({ state }), { state: 'bogus' })).toEqual([{ field: 'body/state', message: 'must be one of "queued", "active", "completed"' }]);
    expect(errorsOf(Type.Object({ state: Type.Optional(state) }), { state: '' }, 'querystring')).toEqual([
      { field: 'querystring/state', message: 'must be one of "queued", "active", "completed"' },
    ]);
  });

  it('a single constant and an enum say what they allow', () => {
    expect(errorsOf(Type.Object({ type: Type.Literal('distill') }), { type: 'x' })).toEqual([{ field: 'body/type', message: 'must be "distill"' }]);
    expect(errorsOf(Type.Object({ n: Type.Unsafe<number>({ enum: [1, 2] }) }), { n: 3 })).toEqual([{ field: 'body/n', message: 'must be one of 1, 2' }]);
  });

  it('a value over a length limit: texts (bounded by a setting) may be split, other values only shortened', () => {
    const key = Type.Object({ k: Type.String({ maxLength: 4 }) });
    expect(errorsOf(key, { k: 'abcdef' }, 'headers')).toEqual([{ field: 'headers/k', message: 'is longer than 4 characters; shorten it' }]);
    const text = Type.Object({ t: Type.String({ maxLength: 4, 'x-setting': 'MAX_TEXT_CHARS' }) });
    expect(errorsOf(text, { t: 'abcdef' })).toEqual([
      { field: 'body/t', message: 'is longer than 4 characters; shorten or split it (server setting MAX_TEXT_CHARS)' },
    ]);
  });

  it('a query parameter or header given twice says so, rather than "must be an integer"', () => {
    const query = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1 })) });
    expect(errorsOf(Type.Object({ state: Type.Optional(state) }), { state: ['queued', 'active'] }, 'querystring')).toEqual([
      { field: 'querystring/state', message: 'is given more than once; send it once' },
    ]);
    expect(errorsOf(query, { limit: ['10', '20'] }, 'querystring')).toEqual([{ field: 'querystring/limit', message: 'is given more than once; send it once' }]);
  });
});

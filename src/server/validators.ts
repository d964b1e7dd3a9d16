/**
 * How request parts are validated. A body is JSON and keeps its types: "3" for 3 is a client bug
 * worth reporting. A query string, path and headers are text on the wire, so their values are
 * converted to the types their schemas declare ("?limit=10" is the integer 10) before they are
 * checked. Every route gets this one rule from the app's validator compiler; no route converts
 * parameters by itself.
 */
import { Ajv, type Options } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { PATTERN_MESSAGE_KEYWORD, SETTING_KEYWORD } from './schemas/common.js';

const shared: Options = {
  // Reject what the schema does not allow instead of silently fixing it.
  removeAdditional: false,
  useDefaults: true,
  // Stop at the first error: with allErrors a 1 MB body of 340k bad items took 3.7 s of event
  // loop (an error object per item) instead of milliseconds. The docs say errors[] names the first.
  allErrors: false,
  // parentSchema on each error lets validation.ts name the setting behind a limit.
  verbose: true,
  // TypeBox and OpenAPI annotations (examples, x-setting) are not validation keywords.
  strict: false,
  keywords: [SETTING_KEYWORD, PATTERN_MESSAGE_KEYWORD],
};

/** The validator compiler for buildApp: bodies strict, text parts converted. */
export function requestValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const body = new Ajv({ ...shared, coerceTypes: false });
  const text = new Ajv({ ...shared, coerceTypes: 'array' });
  return ({ schema, httpPart }) => (httpPart === 'body' ? body : text).compile(schema as object);
}

/**
 * Turns Ajv's errors (as Fastify attaches them to a validation failure) into one line per field
 * that says what to change, e.g. "body/inputs: has 80 items; at most 64 are allowed
 * (server setting MAX_INPUTS_PER_REQUEST)".
 */
import type { FastifySchemaValidationError } from 'fastify';
import { PATTERN_MESSAGE_KEYWORD, SETTING_KEYWORD } from './schemas/common.js';
import type { FieldError } from './problems.js';

type AjvError = FastifySchemaValidationError & { parentSchema?: Record<string, unknown> };

/** Keywords that only mean "this union branch did not fit": noise when a better error exists. */
const BRANCH_NOISE = new Set(['type', 'const', 'anyOf', 'oneOf']);

export function fieldErrors(context: string, errors: readonly FastifySchemaValidationError[]): FieldError[] {
  const list = errors as readonly AjvError[];
  // For a union (anyOf), Ajv reports each branch's mismatch and then the anyOf itself. Keep the
  // specific errors (too long, missing field) and fall back to the anyOf message only when the
  // value fit no branch at all.
  const unionPaths = new Set(list.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.instancePath));
  const specific = (e: AjvError) => !(unionPaths.has(e.instancePath) && BRANCH_NOISE.has(e.keyword));
  const chosen = list.filter((e) => {
    if (!unionPaths.has(e.instancePath)) return true;
    if (specific(e)) return true;
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      // A specific error at the union's path or inside it (e.g. inputs/0/text_pair of a pair) says more.
      const within = (o: AjvError) => o.instancePath === e.instancePath || o.instancePath.startsWith(`${e.instancePath}/`);
      return !list.some((o) => o !== e && within(o) && specific(o));
    }
    return false;
  });
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const error of chosen) {
    const item = describe(context, error);
    const key = `${item.field}\u0000${item.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(item);
    }
  }
  return out;
}

function describe(context: string, e: AjvError): FieldError {
  const params = e.params as Record<string, unknown>;
  const at = `${context}${e.instancePath}`;
  const setting = e.parentSchema?.[SETTING_KEYWORD];
  const bySetting = typeof setting === 'string' ? ` (server setting ${setting})` : '';
  const description = typeof e.parentSchema?.description === 'string' ? e.parentSchema.description : undefined;
  switch (e.keyword) {
    case 'required':
      return { field: `${at}/${String(params.missingProperty)}`, message: 'is required' };
    case 'additionalProperties':
      return { field: `${at}/${String(params.additionalProperty)}`, message: 'is not a known field; remove it' };
    case 'maxItems':
      return { field: at, message: `has more than ${String(params.limit)} items; send at most ${String(params.limit)}${bySetting}` };
    case 'minItems':
      return { field: at, message: `must hold at least ${String(params.limit)} item(s)` };
    case 'maxLength':
      // Splitting helps texts (bounded by a setting); a key, name or id can only be shortened.
      return { field: at, message: `is longer than ${String(params.limit)} characters; ${bySetting ? 'shorten or split it' : 'shorten it'}${bySetting}` };
    case 'minLength':
      return { field: at, message: Number(params.limit) === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters` };
    case 'maximum':
      return { field: at, message: `must be at most ${String(params.limit)}${bySetting}` };
    case 'minimum':
      return { field: at, message: `must be at least ${String(params.limit)}` };
    case 'pattern': {
      const own = e.parentSchema?.[PATTERN_MESSAGE_KEYWORD];
      if (typeof own === 'string') return { field: at, message: own };
      return { field: at, message: description ? `is not valid: ${description}` : `must match ${String(params.pattern)}` };
    }
    case 'type':
      // An empty body (content-type sent but nothing in it) reaches validation as undefined.
      if (e.instancePath === '' && (e as { data?: unknown }).data === undefined) {
        return { field: at, message: `is required: send a JSON ${String(params.type)}` };
      }
      if (sentTwice(context, e) && params.type !== 'array') return { field: at, message: 'is given more than once; send it once' };
      return { field: at, message: `must be ${article(String(params.type))}` };
    case 'const':
      return { field: at, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'enum':
      return { field: at, message: `must be one of ${allowed(params.allowedValues)}` };
    case 'anyOf':
    case 'oneOf': {
      if (sentTwice(context, e)) return { field: at, message: 'is given more than once; send it once' };
      const constants = unionConstants(e.parentSchema?.[e.keyword]);
      if (constants) return { field: at, message: `must be one of ${allowed(constants)}` };
      return { field: at, message: description ? `must be ${description}` : 'does not match any allowed form' };
    }
    default:
      return { field: at, message: e.message ?? 'is invalid' };
  }
}

/** Text parts (query, headers) hold a list only when the same name was sent twice. */
function sentTwice(context: string, e: AjvError): boolean {
  return context !== 'body' && Array.isArray((e as { data?: unknown }).data);
}

/** The values of a union whose every branch is one constant (TypeBox's union of literals), else undefined. */
function unionConstants(branches: unknown): unknown[] | undefined {
  if (!Array.isArray(branches) || branches.length === 0) return undefined;
  const values = branches.map((b) => (b && typeof b === 'object' && 'const' in b ? [(b as { const: unknown }).const] : []));
  return values.every((v) => v.length === 1) ? values.flat() : undefined;
}

function allowed(values: unknown): string {
  return Array.isArray(values) ? values.map((v) => JSON.stringify(v)).join(', ') : String(values);
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/**
 * TypeBox's validation errors of a job spec, said as what would be right: "must be one of
 * "classification", "qa"" rather than "Expected union value", "is not a known field; did you mean
 * "student"?" rather than "Unexpected property". Every problem is listed, one per field.
 */
import type { TSchema } from '@sinclair/typebox';
import { distance as distanceBetween } from 'fastest-levenshtein';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import type { SpecIssue } from './errors.js';

/**
 * One issue per path (a union reports every branch), each message saying what would fit.
 * `retired`: fields the schema no longer has, by JSON pointer, with why they went.
 */
export function specIssues(errors: Iterable<ValueError>, root: TSchema, retired: Readonly<Record<string, string>> = {}): SpecIssue[] {
  const out: SpecIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (seen.has(error.path)) continue;
    seen.add(error.path);
    out.push({ path: error.path, message: message(error, root, retired) });
  }
  return out;
}

function message(e: ValueError, root: TSchema, retired: Readonly<Record<string, string>>): string {
  const s = e.schema as Record<string, unknown>;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const why = retired[e.path];
      if (why !== undefined) return `is no longer a field (${why}); remove it`;
      const hint = closestField(e.path, root);
      return `is not a known field; ${hint ? `did you mean ${JSON.stringify(hint)}?` : 'remove it'}`;
    }
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(s.const)}${got(e.value)}`;
    case ValueErrorType.Union:
      return `must be ${branches(s).join(' or ')}${got(e.value)}`;
    case ValueErrorType.StringPattern:
      return `must match ${String(s.pattern)}${typeof s.description === 'string' ? ` (${s.description})` : ''}${got(e.value)}`;
    case ValueErrorType.Integer:
    case ValueErrorType.Number:
    case ValueErrorType.String:
    case ValueErrorType.Boolean:
    case ValueErrorType.Object:
    case ValueErrorType.Array:
    case ValueErrorType.Null:
      return `must be ${branch(s)}${got(e.value)}`;
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be at least ${String(s.minimum)}${got(e.value)}`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `must be at most ${String(s.maximum)}${got(e.value)}`;
    case ValueErrorType.IntegerExclusiveMinimum:
    case ValueErrorType.NumberExclusiveMinimum:
      return `must be more than ${String(s.exclusiveMinimum)}${got(e.value)}`;
    case ValueErrorType.IntegerExclusiveMaximum:
    case ValueErrorType.NumberExclusiveMaximum:
      return `must be less than ${String(s.exclusiveMaximum)}${got(e.value)}`;
    case ValueErrorType.IntegerMultipleOf:
    case ValueErrorType.NumberMultipleOf:
      return `must be a multiple of ${String(s.multipleOf)}${got(e.value)}`;
    case ValueErrorType.StringMinLength:
      return s.minLength === 1 ? 'must not be empty' : `must be at least ${String(s.minLength)} characters`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${String(s.maxLength)} characters`;
    case ValueErrorType.ArrayMinItems:
      return `must hold at least ${String(s.minItems)} item(s)`;
    case ValueErrorType.ArrayMaxItems:
      return `must hold at most ${String(s.maxItems)} item(s)`;
    case ValueErrorType.ArrayUniqueItems:
      return 'must not repeat an item';
    default:
      return e.message;
  }
}

/** ", not "two"" for a short received value; nothing for long ones. */
function got(value: unknown): string {
  // JSON.parse reads a number past float64's range (1e400) as Infinity, which JSON.stringify prints as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return ', not a number this large';
  const text = JSON.stringify(value);
  return text !== undefined && text.length <= 40 ? `, not ${text}` : '';
}

function branches(union: Record<string, unknown>): string[] {
  const list = (union.anyOf ?? union.oneOf ?? []) as Record<string, unknown>[];
  // A union reports itself, not the branch's bound that failed: "null or an integer" would
  // refuse 0 without saying why.
  return list.map((s) => branch(s) + bounds(s));
}

/**
 * " of at least 1", " from 1 to 4096", " above 0 and below 1" for a number schema with bounds
 * (inclusive or exclusive at either end); "" otherwise.
 */
function bounds(s: Record<string, unknown>): string {
  if (s.type !== 'integer' && s.type !== 'number') return '';
  const lo = s.minimum !== undefined ? `at least ${String(s.minimum)}` : s.exclusiveMinimum !== undefined ? `above ${String(s.exclusiveMinimum)}` : undefined;
  const hi = s.maximum !== undefined ? `at most ${String(s.maximum)}` : s.exclusiveMaximum !== undefined ? `below ${String(s.exclusiveMaximum)}` : undefined;
  if (s.minimum !== undefined && s.maximum !== undefined) return ` from ${String(s.minimum)} to ${String(s.maximum)}`;
  if (lo !== undefined && hi !== undefined) return ` ${lo} and ${hi}`;
  if (lo !== undefined) return s.minimum !== undefined ? ` of ${lo}` : ` ${lo}`;
  return hi !== undefined ? ` of ${hi}` : '';
}

/** One schema in words: "classification" for a literal, "an integer", "an object {path}". */
function branch(s: Record<string, unknown>): string {
  if ('const' in s) return JSON.stringify(s.const);
  if (s.anyOf || s.oneOf) return branches(s).join(' or ');
  switch (s.type) {
    case 'object': {
      const keys = Object.keys((s.properties ?? {}) as object);
      return keys.length > 0 && keys.length <= 4 ? `an object {${keys.join(', ')}}` : 'an object';
    }
    case 'integer':
      return 'an integer';
    case 'array':
      return 'an array';
    case 'null':
      return 'null';
    default:
      return `a ${String(s.type)}`;
  }
}

/** The known field at the same place whose name is closest to the misspelt one, if any is close. */
function closestField(pointer: string, root: TSchema): string | undefined {
  const parts = pointer.split('/').slice(1);
  const wrong = parts.pop();
  if (wrong === undefined) return undefined;
  let schema: Record<string, unknown> | undefined = root as Record<string, unknown>;
  for (const part of parts) {
    const props = schema?.properties as Record<string, Record<string, unknown>> | undefined;
    schema = props?.[part];
  }
  const known = Object.keys((schema?.properties ?? {}) as object);
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = distanceBetween(wrong.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(wrong.length / 3)) ? best.name : undefined;
}

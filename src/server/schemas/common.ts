/**
 * Schemas shared by every route: the problem document, model names, and the helpers that
 * declare error responses. TypeBox gives validation, TypeScript types and OpenAPI from one source.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { MODEL_NAME_PATTERN } from '../../inference/registry/types.js';
import { type ErrorKind, KINDS, problemType } from '../status-table.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** Echoed on every answer (the client's, or one made up), and the problem's `instance`. */
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * Custom schema keyword naming the setting behind a limit. Validation errors quote it so the
 * client learns which server setting bounds the field; OpenAPI shows it as an x- extension.
 */
export const SETTING_KEYWORD = 'x-setting';

/** Custom schema keyword: what a value that misses the field's `pattern` must change, in words. */
export const PATTERN_MESSAGE_KEYWORD = 'x-pattern-message';

/** RFC 9457 problem details, the body of every error response. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: "URI naming the kind of problem, e.g. urn:distillery:problem:queue-full (see each response's examples)" }),
    title: Type.String({ description: 'Short summary of the kind of problem' }),
    status: Type.Integer({ description: 'HTTP status code' }),
    detail: Type.String({ description: 'What went wrong with this request and what to change' }),
    instance: Type.Optional(Type.String({ description: 'The request id, to quote when reporting the problem' })),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          field: Type.String({ description: 'Where, e.g. body/inputs/0/context' }),
          message: Type.String(),
        }),
        { description: 'One entry per invalid field' },
      ),
    ),
  },
  { $id: 'Problem', title: 'Problem' },
);

export const ModelNameSchema = Type.String({
  pattern: MODEL_NAME_PATTERN,
  description: 'Model name: lowercase letters, digits, ".", "_" or "-", 1-64 characters',
  examples: ['support-intent'],
});

export const VersionSchema = Type.Integer({ minimum: 1, description: 'Model version (1, 2, ...)' });

export interface ProblemResponse {
  description: string;
  content: Record<string, { schema: TSchema; examples: Record<string, { summary: string; value: unknown }> }>;
}

/** Kinds every route can answer: a fault of ours, and a request the server cannot read. */
const ALWAYS: ErrorKind[] = ['bad_request', 'internal'];
/** Kinds of any route that reads a JSON body. */
export const BODY_KINDS: ErrorKind[] = ['validation', 'invalid_json_body', 'forbidden_key', 'body_too_large', 'unsupported_media_type'];

/** What an inference route (classify, QA) can answer besides 200: its body, its key, the model and version it names, and the engine. */
export const INFERENCE_KINDS: ErrorKind[] = [
  ...BODY_KINDS,
  'unauthorized',
  'model_not_found',
  'version_not_found',
  'invalid_input',
  'model_load_failed',
  'queue_full',
  'inference_failed',
  'no_active_version',
  'model_not_ready',
  'engine_closed',
  'deadline_exceeded',
];
/** Kinds of any route behind an admin key. */
export const ADMIN_KINDS: ErrorKind[] = ['unauthorized', 'forbidden'];

/**
 * The error responses of a route, from the kinds it can answer: one entry per status, its
 * description and examples (one per kind, with that kind's problem type) generated from the one
 * status table, so the document and the handler cannot disagree.
 */
export function problemResponses(...kinds: ErrorKind[]): Record<number, ProblemResponse> {
  const byStatus = new Map<number, ErrorKind[]>();
  for (const kind of new Set([...ALWAYS, ...kinds])) {
    const { status } = KINDS[kind];
    byStatus.set(status, [...(byStatus.get(status) ?? []), kind]);
  }
  const out: Record<number, ProblemResponse> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    const description = group.length === 1 ? capitalise(KINDS[group[0]!].when) : group.map((k) => `\`${k.replaceAll('_', '-')}\`: ${KINDS[k].when}`).join('; ');
    const examples: ProblemResponse['content'][string]['examples'] = {};
    for (const kind of group) {
      const { title, example } = KINDS[kind];
      examples[kind] = { summary: title, value: { type: problemType(kind), title, status, detail: example, instance: EXAMPLE_REQUEST_ID } };
    }
    out[status] = { description, content: { [PROBLEM_CONTENT_TYPE]: { schema: Type.Ref('Problem'), examples } } };
  }
  return out;
}

const EXAMPLE_REQUEST_ID = '0f8e4a0c-1c1b-4f5e-8d8e-6b0a3c2d1e0f';

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

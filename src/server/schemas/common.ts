/**
 * Schemas shared by every route: the problem document, model names, and the helpers that
 * declare error responses. TypeBox gives validation, TypeScript types and OpenAPI from one source.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { MODEL_NAME_PATTERN } from '../../inference/registry/types.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Custom schema keyword naming the setting behind a limit. Validation errors quote it so the
 * client learns which server setting bounds the field; OpenAPI shows it as an x- extension.
 */
export const SETTING_KEYWORD = 'x-setting';

/** RFC 9457 problem details, the body of every error response. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI naming the kind of problem', examples: ['urn:distillery:problem:validation'] }),
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

const problemDescriptions: Record<number, string> = {
  400: 'The request is invalid; `errors` names each field',
  401: 'Missing or unknown API key (Authorization: Bearer <key>)',
  403: 'The key may not use this route',
  404: 'No such model, version or job',
  409: 'The model or job is in a state that does not allow this (a model with no active version; cancelling a finished job)',
  413: 'Request body larger than BODY_LIMIT_BYTES',
  422: 'The version exists but cannot be loaded; the active version is kept',
  429: 'Too many requests queued; retry after Retry-After seconds',
  503: 'Not ready (model loading, shutting down, or the job queue unreachable); retry after Retry-After seconds',
  504: 'The request deadline passed before the work finished',
};

export interface ProblemResponse {
  description: string;
  content: Record<string, { schema: TSchema }>;
}

/** Response entries for the given error statuses, each answered as problem+json. */
export function problemResponses(...statuses: number[]): Record<number, ProblemResponse> {
  const out: Record<number, ProblemResponse> = {};
  for (const status of statuses) {
    out[status] = {
      description: problemDescriptions[status] ?? 'Error',
      content: { [PROBLEM_CONTENT_TYPE]: { schema: Type.Ref('Problem') } },
    };
  }
  return out;
}

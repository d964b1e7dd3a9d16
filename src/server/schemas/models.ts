import { Type, type Static } from '@sinclair/typebox';
import { ModelNameSchema, VersionSchema, problemResponses } from './common.js';

export const MetricsSchema = Type.Object(
  {
    accuracy: Type.Optional(Type.Number()),
    macro_f1: Type.Optional(Type.Number()),
    exact_match: Type.Optional(Type.Number()),
    f1: Type.Optional(Type.Number()),
    file_bytes: Type.Optional(Type.Integer()),
    parameters: Type.Optional(Type.Integer()),
    latency_ms_b1_128: Type.Optional(Type.Number()),
  },
  { description: 'Quality and cost of one model role, from the manifest' },
);

export const ModelVersionSchema = Type.Object({
  version: VersionSchema,
  active: Type.Boolean({ description: 'Named active in the registry (state.json)' }),
  serving: Type.Boolean({ description: 'Answers requests that pin no version in this server now' }),
  readable: Type.Boolean({ description: 'False when the manifest cannot be read' }),
  created_at: Type.Optional(Type.String({ description: 'When the version was published (ISO 8601)' })),
  metrics: Type.Record(Type.String(), MetricsSchema, {
    description: 'Manifest metrics by role: teacher, student_fp32, student_int8',
  }),
  gate: Type.Optional(Type.Object({ passed: Type.Boolean(), activated: Type.Boolean(), reason: Type.String() })),
});

export const ModelStatusSchema = Type.Union([Type.Literal('loading'), Type.Literal('ready'), Type.Literal('failed'), Type.Literal('inactive')], {
  description: 'ready: serving; loading: first load running; failed: no working version; inactive: no active version',
});

export const ModelSchema = Type.Object(
  {
    name: Type.String(),
    task: Type.Optional(Type.Union([Type.Literal('classification'), Type.Literal('qa')], { description: 'Absent when no version can be read' })),
    status: ModelStatusSchema,
    error: Type.Optional(Type.String({ description: 'Why the last load failed' })),
    active_version: Type.Union([Type.Integer(), Type.Null()], { description: 'Active in the registry; null when none' }),
    serving_version: Type.Union([Type.Integer(), Type.Null()], { description: 'Serving in this server; lags active_version while a swap loads' }),
    max_length: Type.Optional(Type.Integer({ description: 'Longest input in tokens, special tokens included' })),
    labels: Type.Optional(Type.Array(Type.String(), { description: 'Classification: label names of the active version' })),
    versions: Type.Array(ModelVersionSchema, { description: 'Every version in the registry, oldest first' }),
  },
  { title: 'Model' },
);

export type ModelView = Static<typeof ModelSchema>;

export const ModelListSchema = Type.Object({ models: Type.Array(ModelSchema) }, { title: 'ModelList' });

export const ModelParamsSchema = Type.Object({ name: ModelNameSchema });

export const ActivateBodySchema = Type.Object(
  { version: { ...VersionSchema, description: 'Version to make active (promote or roll back)' } },
  { additionalProperties: false, examples: [{ version: 2 }] },
);

export const ActivateResponseSchema = Type.Object(
  {
    model: Type.String(),
    previous_version: Type.Union([Type.Integer(), Type.Null()]),
    active_version: Type.Integer(),
  },
  { title: 'ActivateResult' },
);

export const modelErrorResponses = problemResponses(400, 401, 403, 404);
export const activateErrorResponses = problemResponses(400, 401, 403, 404, 413, 422, 503);

import { Type, type Static } from '@sinclair/typebox';
import { RolloutRulesSchema } from '../../inference/rollout/schema.js';
import { ADMIN_KINDS, BODY_KINDS, ModelNameSchema, VersionSchema, problemResponses } from './common.js';

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
    description: 'Manifest metrics by role: teacher, student_fp32, student_int8, student_ptq_int8 (post-training INT8 baseline, not served)',
  }),
  gate: Type.Optional(Type.Object({ passed: Type.Boolean(), activated: Type.Boolean(), reason: Type.String() })),
});

export const ModelStatusSchema = Type.Union([Type.Literal('loading'), Type.Literal('ready'), Type.Literal('failed'), Type.Literal('inactive')], {
  description: 'ready: serving; loading: first load running; failed: no working version; inactive: no active version',
});

export const CanaryBodySchema = Type.Object(
  {
    version: { ...VersionSchema, description: 'Candidate version (not the active one)' },
    weight: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'Share of the unpinned requests the candidate answers' }),
    rules: Type.Optional(RolloutRulesSchema),
  },
  { additionalProperties: false, examples: [{ version: 2, weight: 0.1, rules: { min_requests: 500, max_error_rate: 0.01, max_p99_ratio: 1.5 } }] },
);

export const ShadowBodySchema = Type.Object(
  {
    version: { ...VersionSchema, description: 'Candidate version (not the active one)' },
    sample: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: "Share of the active version's requests also replayed on the candidate" }),
    rules: Type.Optional(RolloutRulesSchema),
  },
  { additionalProperties: false, examples: [{ version: 2, sample: 0.25, rules: { min_requests: 1000, min_agreement: 0.97 } }] },
);

export const RolloutPlanSchema = Type.Object(
  {
    id: Type.String({ description: 'New for every change of the plan; its evidence and decision belong to this id' }),
    version: Type.Integer(),
    weight: Type.Optional(Type.Number()),
    sample: Type.Optional(Type.Number()),
    rules: Type.Optional(RolloutRulesSchema),
    started_at: Type.String(),
    started_by: Type.String({ description: 'admin, job:<id>, or rules' }),
  },
  { title: 'RolloutPlan' },
);

const RoleEvidenceSchema = Type.Object({
  version: Type.Integer(),
  requests: Type.Integer(),
  errors: Type.Integer(),
  error_rate: Type.Number(),
  p50_ms: Type.Union([Type.Number(), Type.Null()]),
  p99_ms: Type.Union([Type.Number(), Type.Null()]),
});

export const EvidenceSchema = Type.Object(
  {
    plan_id: Type.String(),
    since: Type.String(),
    active: RoleEvidenceSchema,
    candidate: RoleEvidenceSchema,
    agreement: Type.Optional(
      Type.Object({
        compared: Type.Integer({ description: 'Inputs compared' }),
        top1_agreement: Type.Optional(Type.Number()),
        mean_abs_score_diff: Type.Optional(Type.Number({ description: "Mean |difference| of the score of the active version's top label" })),
        exact_match: Type.Optional(Type.Number()),
        token_f1: Type.Optional(Type.Number()),
        no_answer_agreement: Type.Optional(Type.Number()),
      }),
    ),
    dropped: Type.Optional(Type.Integer({ description: 'Shadow: sampled requests dropped because its queue was full' })),
  },
  { title: 'RolloutEvidence', description: "This replica's evidence since the plan started (latency over the most recent 4096 requests)" },
);

const PlanViewSchema = Type.Object({
  plan: RolloutPlanSchema,
  loaded: Type.Boolean({ description: 'The candidate is loaded on this replica' }),
  load_error: Type.Optional(Type.String()),
  evidence: EvidenceSchema,
});

const AnyObject = Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true });

export const RolloutEventSchema = Type.Object(
  {
    plan_id: Type.String(),
    role: Type.Union([Type.Literal('canary'), Type.Literal('shadow')]),
    version: Type.Integer(),
    action: Type.Union(['started', 'replaced', 'ended', 'promoted', 'aborted'].map((a) => Type.Literal(a))),
    by: Type.String({ description: 'admin, job:<id>, rules, or what activated the version' }),
    at: Type.String(),
    reason: Type.Optional(Type.String()),
    evidence: Type.Optional({ ...AnyObject, description: 'The evidence when it happened (RolloutEvidence)' }),
  },
  { title: 'RolloutEvent' },
);

export const RolloutSchema = Type.Object(
  {
    canary: Type.Union([PlanViewSchema, Type.Null()]),
    shadow: Type.Union([PlanViewSchema, Type.Null()]),
    history: Type.Array(RolloutEventSchema, { description: 'Oldest first, the last 200' }),
  },
  { title: 'Rollout' },
);

export const RolloutChangeSchema = Type.Object(
  {
    model: Type.String(),
    role: Type.Union([Type.Literal('canary'), Type.Literal('shadow')]),
    changed: Type.Boolean({ description: 'False for a repeat whose effect already held (identical plan, or no plan to end)' }),
    plan: Type.Union([RolloutPlanSchema, Type.Null()], { description: 'The plan now running (null after DELETE)' }),
    previous: Type.Union([RolloutPlanSchema, Type.Null()], { description: 'The plan before this request' }),
  },
  { title: 'RolloutChange' },
);

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
    rollout: RolloutSchema,
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
    changed: Type.Boolean({ description: 'false when the version was already active (a repeat changes nothing)' }),
  },
  { title: 'ActivateResult' },
);

export const modelListErrorResponses = problemResponses('unauthorized');
export const modelErrorResponses = problemResponses('validation', 'unauthorized', 'model_not_found');
export const activateErrorResponses = problemResponses(
  ...BODY_KINDS,
  ...ADMIN_KINDS,
  'model_not_found',
  'version_not_found',
  'model_load_failed',
  'engine_closed',
);
/** PUT canary/shadow: the candidate must exist, load, and suit the active version. */
export const rolloutErrorResponses = problemResponses(
  ...BODY_KINDS,
  ...ADMIN_KINDS,
  'model_not_found',
  'version_not_found',
  'invalid_rollout',
  'model_load_failed',
  'engine_closed',
);
/** DELETE canary/shadow: nothing to load; it may carry a body (ignored), so what a body can get wrong applies too. */
export const rolloutEndErrorResponses = problemResponses(...BODY_KINDS, ...ADMIN_KINDS, 'model_not_found', 'engine_closed');

/**
 * The distillation job spec: one JSON document, the same for `npm run distill` and POST /v1/jobs.
 *
 * The schema is the single source of truth for validation, TypeScript types, defaults and the
 * OpenAPI description. Defaults follow shared/tinybert-method.md (student 4 x 312, 4 heads,
 * intermediate 1200; task distillation tau = 2 with the source's dynamic loss weights; general
 * distillation batch 256, lr 3e-5, tau 5, 3 epochs; QAT observers recalibrated every 1000 steps;
 * per-layer hidden and attention losses summed over the layers, as the published TinyBERT code).
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { MODEL_NAME_PATTERN } from '../inference/registry/types.js';
import { RolloutRulesSchema } from '../inference/rollout/schema.js';
import { JobSpecError } from './errors.js';
import { specIssues } from './spec-issues.js';

const TeacherFinetune = Type.Object(
  {
    enabled: Type.Union([Type.Boolean(), Type.Literal('auto')], {
      default: 'auto',
      description: '"auto" fine-tunes when the teacher checkpoint has no trained task head',
    }),
    epochs: Type.Number({ minimum: 0.01, maximum: 100, default: 3 }),
    batch_size: Type.Integer({ minimum: 1, maximum: 4096, default: 32 }),
    lr: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 5e-5 }),
    warmup_ratio: Type.Number({ minimum: 0, maximum: 1, default: 0.1 }),
  },
  { additionalProperties: false, default: {} },
);

const LayerReduction = Type.Union([Type.Literal('sum'), Type.Literal('mean')], {
  default: 'sum',
  description:
    'how the per-layer hidden and attention losses combine over the mapped layers: sum (the published TinyBERT code) or mean (divided by the student layer count, so the 0.1 weights act 4 times weaker on a 4-layer student)',
});

const GeneralDistill = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: 'needs data.unlabeled' }),
    epochs: Type.Number({ minimum: 0.01, maximum: 100, default: 3 }),
    batch_size: Type.Integer({ minimum: 1, maximum: 4096, default: 256 }),
    lr: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 3e-5 }),
    temperature: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 5 }),
    layer_reduction: LayerReduction,
  },
  { additionalProperties: false, default: {} },
);

const Augment = Type.Object(
  {
    enabled: Type.Boolean({ default: false }),
    methods: Type.Array(Type.Union([Type.Literal('wordnet'), Type.Literal('mlm')]), {
      minItems: 1,
      uniqueItems: true,
      default: ['wordnet', 'mlm'],
      description: 'wordnet: synonyms from Debian WordNet (offline); mlm: the teacher masked-LM head, where it has one',
    }),
    copies: Type.Integer({ minimum: 1, maximum: 32, default: 4 }),
    replace_prob: Type.Number({ minimum: 0, maximum: 1, default: 0.3 }),
    max_examples: Type.Integer({ minimum: 1, default: 20000 }),
  },
  { additionalProperties: false, default: {} },
);

const FixedWeights = Type.Object(
  {
    pred: Type.Number({ minimum: 0 }),
    embed: Type.Number({ minimum: 0 }),
    hidden: Type.Number({ minimum: 0 }),
    attention: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false },
);

const TaskDistill = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    epochs: Type.Number({ minimum: 0.01, maximum: 100, default: 10 }),
    batch_size: Type.Integer({ minimum: 1, maximum: 4096, default: 32 }),
    lr: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 5e-5 }),
    warmup_ratio: Type.Number({ minimum: 0, maximum: 1, default: 0.1 }),
    temperature: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 2 }),
    attention_loss: Type.Union([Type.Literal('mse'), Type.Literal('kl')], { default: 'mse' }),
    weights: Type.Union([Type.Literal('dynamic'), FixedWeights], {
      default: 'dynamic',
      description: 'dynamic: alpha = min(0.8 e/10, 0.8) on prediction, beta = 0.1 (1 - e/10) on embeddings',
    }),
    hidden_weight: Type.Number({ minimum: 0, default: 0.1 }),
    attention_weight: Type.Number({ minimum: 0, default: 0.1 }),
    layer_reduction: LayerReduction,
    hard_label_weight: Type.Number({
      minimum: 0,
      default: 0,
      description:
        'adds this times the cross-entropy with the gold labels (QA: answer start and end positions) to the prediction loss; 0 distills from the teacher alone, as the method',
    }),
    early_stopping_patience: Type.Union([Type.Null(), Type.Integer({ minimum: 1 })], {
      default: null,
      description:
        'stop after this many evaluations in a row without a better accuracy (F1 for QA); the best evaluation is exported either way; null never stops early',
    }),
  },
  { additionalProperties: false, default: {} },
);

const Qat = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    epochs: Type.Number({ minimum: 0.01, maximum: 100, default: 2 }),
    batch_size: Type.Integer({ minimum: 1, maximum: 4096, default: 32 }),
    lr: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 1e-5 }),
    recalibrate_every: Type.Integer({ minimum: 1, default: 1000 }),
    temperature: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 2 }),
    observer: Type.Union([Type.Literal('minmax'), Type.Literal('moving_average')], {
      default: 'minmax',
      description: "activation observers: running min/max, or a moving average of each batch's min/max",
    }),
  },
  { additionalProperties: false, default: {} },
);

export const StudentShape = Type.Object(
  {
    layers: Type.Integer({ minimum: 1, maximum: 48, default: 4 }),
    hidden: Type.Integer({ minimum: 8, maximum: 4096, default: 312 }),
    heads: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
    intermediate: Type.Integer({ minimum: 8, maximum: 16384, default: 1200 }),
    ffn_rank: Type.Union([Type.Null(), Type.Integer({ minimum: 1, maximum: 4096 })], {
      default: null,
      description: 'low-rank feed-forward: W (h x I) becomes U (h x r) V (r x I); null keeps it full',
    }),
    dropout: Type.Number({
      minimum: 0,
      maximum: 0.9,
      default: 0.1,
      description: "hidden and attention dropout while the student trains (BERT's 0.1); 0 suits short runs that underfit rather than overfit",
    }),
  },
  { additionalProperties: false, default: {} },
);

export const Gate = Type.Object(
  {
    max_drop: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.02,
      description: 'activate only if the INT8 student is within this of the teacher (accuracy, or F1 for QA; 0.02 = 2 points)',
    }),
    activate: Type.Boolean({ default: true, description: 'activate the new version when the gate passes' }),
    rollout: Type.Optional(
      Type.Object(
        {
          mode: Type.Union([Type.Literal('canary'), Type.Literal('shadow')]),
          weight: Type.Optional(
            Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'canary: share of the unpinned requests the new version answers' }),
          ),
          sample: Type.Optional(
            Type.Number({ exclusiveMinimum: 0, maximum: 1, description: "shadow: share of the active version's requests replayed on the new version" }),
          ),
          rules: Type.Optional(RolloutRulesSchema),
        },
        {
          additionalProperties: false,
          description:
            'when the gate passes, publish the new version as a canary (with weight) or a shadow (with sample) of the active version, with rules that promote or abort it on live evidence, instead of activating it; a model with no active version is activated as usual',
        },
      ),
    ),
  },
  { additionalProperties: false, default: {} },
);

export const JobSpecSchema = Type.Object(
  {
    type: Type.Literal('distill'),
    model: Type.String({
      pattern: MODEL_NAME_PATTERN,
      description: "name to publish the new version under: lowercase letters, digits, '.', '_' or '-', 1 to 64 characters, first and last a letter or digit",
    }),
    task: Type.Union([Type.Literal('classification'), Type.Literal('qa')]),
    teacher: Type.Union([
      Type.Object({ path: Type.String({ minLength: 1, description: 'Hugging Face checkpoint folder inside DATA_DIR' }) }, { additionalProperties: false }),
      Type.Object(
        { model: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]*(@[0-9]+)?$', description: 'name@version from the registry (name alone: active version)' }) },
        { additionalProperties: false },
      ),
    ]),
    data: Type.Object(
      {
        train: Type.String({ minLength: 1 }),
        eval: Type.String({ minLength: 1 }),
        unlabeled: Type.Optional(Type.String({ minLength: 1 })),
      },
      { additionalProperties: false, description: 'paths inside DATA_DIR' },
    ),
    labels: Type.Optional(
      Type.Union([Type.Null(), Type.Array(Type.String({ minLength: 1 }), { minItems: 2, uniqueItems: true })], {
        description: "classification: the classifier's label order; null or absent: the sorted labels of the training data",
      }),
    ),
    max_length: Type.Optional(Type.Integer({ minimum: 16, maximum: 512, description: 'default 128 (classification) or 384 (qa)' })),
    doc_stride: Type.Integer({ minimum: 8, maximum: 512, default: 128 }),
    max_query_length: Type.Integer({ minimum: 4, maximum: 256, default: 64 }),
    qa_train_windows: Type.Union([Type.Literal('all'), Type.Literal('answer')], {
      default: 'all',
      description:
        'QA training windows: all, or answer (only windows holding the answer, plus the first window of unanswerable questions; saves CPU time on long contexts)',
    }),
    student: StudentShape,
    stages: Type.Object(
      {
        teacher_finetune: TeacherFinetune,
        general_distill: GeneralDistill,
        augment: Augment,
        task_distill: TaskDistill,
        qat: Qat,
      },
      { additionalProperties: false, default: {} },
    ),
    device: Type.Union([Type.Literal('auto'), Type.Literal('cuda'), Type.Literal('cpu')], { default: 'auto' }),
    precision: Type.Union([Type.Literal('fp32'), Type.Literal('bf16'), Type.Literal('fp16')], {
      default: 'fp32',
      description: 'mixed precision on CUDA',
    }),
    seed: Type.Integer({ minimum: 0, default: 42 }),
    checkpoint_every: Type.Integer({ minimum: 1, default: 200 }),
    max_steps_per_stage: Type.Union([Type.Null(), Type.Integer({ minimum: 1 })], {
      default: null,
      description: 'cap for smoke tests; null in real jobs',
    }),
    gate: Gate,
    notes: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'free-form provenance kept in the manifest' })),
  },
  { additionalProperties: false, title: 'JobSpec' },
);

export type JobSpec = Static<typeof JobSpecSchema>;

/**
 * Validates a spec and fills its defaults: the one check of a spec in each process that receives
 * one (the API's POST /v1/jobs, the worker reading a job from Redis, the local CLI). Throws
 * JobSpecError listing every problem, each saying what would be right.
 */
export function parseJobSpec(input: unknown): JobSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new JobSpecError([{ path: '', message: 'the job spec must be a JSON object' }]);
  }
  const withDefaults = Value.Default(JobSpecSchema, structuredClone(input));
  const issues = specIssues(Value.Errors(JobSpecSchema, withDefaults), JobSpecSchema);
  if (issues.length > 0) throw new JobSpecError(issues);
  return withDefaults as JobSpec;
}

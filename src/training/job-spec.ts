/**
 * The distillation job spec: one JSON document, the same for `npm run distill` and POST /v1/jobs.
 *
 * The schema is the single source of truth for validation, TypeScript types, defaults and the
 * OpenAPI description. Defaults follow shared/tinybert-method.md (student 4 x 312, 4 heads,
 * intermediate 1200; task distillation tau = 2 with the source's dynamic loss weights; general
 * distillation batch 256, lr 3e-5, 3 epochs; QAT observers recalibrated every 1000 steps;
 * per-layer hidden and attention losses summed over the layers, as the published TinyBERT code).
 *
 * General distillation has no temperature: the source's "temperature 5" belongs to a prediction
 * layer, which general distillation (embeddings, attention, hidden states) does not have. A field
 * that was removed is listed in RETIRED_FIELDS, so an old spec sending it learns why.
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

const StageMaxSteps = Type.Union([Type.Null(), Type.Integer({ minimum: 1 })], {
  default: null,
  description: 'stop the stage after this many optimizer steps (a time budget on a large corpus); null: epochs decide. max_steps_per_stage caps it further',
});

/**
 * Masked-LM pre-training of the teacher checkpoint as given (e.g. random weights from `trainer
 * init-model`) on data.unlabeled, before teacher_finetune and general_distill, which start from
 * its result. BERT's objective without next-sentence prediction: 15 % of the word pieces chosen,
 * 80/10/10 replaced by [MASK], a random token or themselves; lr 1e-4 is BERT's pre-training rate.
 */
const MlmPretrain = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: 'needs data.unlabeled and stages.teacher_finetune enabled' }),
    epochs: Type.Number({ minimum: 0.01, maximum: 100, default: 1 }),
    batch_size: Type.Integer({ minimum: 1, maximum: 4096, default: 32 }),
    lr: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 1e-4 }),
    warmup_ratio: Type.Number({ minimum: 0, maximum: 1, default: 0.05 }),
    mask_prob: Type.Number({
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      default: 0.15,
      description: "share of word pieces chosen for prediction (BERT's 0.15)",
    }),
    max_length: Type.Optional(Type.Integer({ minimum: 16, maximum: 512, description: "tokens per packed training sequence; default: the job's max_length" })),
    max_steps: StageMaxSteps,
    evaluations: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 5,
      description: 'held-out evaluations (masked-token accuracy, loss, perplexity) at least, spread over the stage; one per epoch at least',
    }),
  },
  { additionalProperties: false, default: {} },
);

const GeneralDistill = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: 'needs data.unlabeled' }),
    epochs: Type.Number({ minimum: 0.01, maximum: 100, default: 3 }),
    batch_size: Type.Integer({ minimum: 1, maximum: 4096, default: 256 }),
    lr: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 3e-5 }),
    layer_reduction: LayerReduction,
    max_steps: StageMaxSteps,
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

/**
 * task_distill's "auto" learning rate. The method's 5e-5 fine-tunes a student that starts from a
 * well-trained general student (student.init: a checkpoint such as a general TinyBERT, or the
 * teacher's own layers). A student with random weights, or one general-distilled in the same job
 * on a small corpus, barely moves at it in a task's few hundred steps; measured on the
 * manual-page task (docs/distillation-results.md): random start at 5e-5 stayed at the majority
 * class (28%) after 3 of 10 epochs, 74.1% at 5e-4; the in-job general student 69.2% at 5e-5
 * against 71.9% at 5e-4.
 */
export const TASK_DISTILL_LR = { trained: 5e-5, random: 5e-4 } as const;

const TaskDistill = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    epochs: Type.Number({ minimum: 0.01, maximum: 100, default: 10 }),
    batch_size: Type.Integer({ minimum: 1, maximum: 4096, default: 32 }),
    lr: Type.Union([Type.Literal('auto'), Type.Number({ exclusiveMinimum: 0, maximum: 1 })], {
      default: 'auto',
      description: `auto: ${TASK_DISTILL_LR.trained} (the method's) when student.init is a checkpoint or the teacher, ${TASK_DISTILL_LR.random} when the student starts from random weights or from this job's general_distill`,
    }),
    warmup_ratio: Type.Number({ minimum: 0, maximum: 1, default: 0.1 }),
    temperature: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 2 }),
    attention_loss: Type.Union([Type.Literal('mse'), Type.Literal('kl')], { default: 'mse' }),
    weights: Type.Union([Type.Literal('dynamic'), FixedWeights], {
      default: 'dynamic',
      description: 'dynamic: alpha = min(0.8 e/10, 0.8) on prediction, beta = 0.1 (1 - e/10) on embeddings',
    }),
    hidden_weight: Type.Number({ minimum: 0, default: 0.1, description: 'weights "dynamic" only (fixed weights carry their own hidden)' }),
    attention_weight: Type.Number({ minimum: 0, default: 0.1, description: 'weights "dynamic" only (fixed weights carry their own attention)' }),
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

/** A Hugging Face checkpoint folder inside DATA_DIR, or a registry version's checkpoint/. */
const CheckpointRef = (role: string) =>
  Type.Union([
    Type.Object(
      { path: Type.String({ minLength: 1, description: `${role}: Hugging Face checkpoint folder inside DATA_DIR` }) },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        model: Type.String({
          pattern: '^[a-z0-9][a-z0-9._-]*(@[0-9]+)?$',
          description: `${role}: name@version from the registry, its checkpoint/ folder (name alone: active version)`,
        }),
      },
      { additionalProperties: false },
    ),
  ]);

const Auto = Type.Literal('auto');

export const StudentShape = Type.Object(
  {
    layers: Type.Union([Auto, Type.Integer({ minimum: 1, maximum: 48 })], {
      default: 'auto',
      description: "auto: the init checkpoint's layers, else min(4, the teacher's layers)",
    }),
    hidden: Type.Union([Auto, Type.Integer({ minimum: 8, maximum: 4096 })], {
      default: 'auto',
      description: "auto: the init checkpoint's (or, with init \"teacher\", the teacher's) width, else min(312, the teacher's width)",
    }),
    heads: Type.Union([Auto, Type.Integer({ minimum: 1, maximum: 64 })], {
      default: 'auto',
      description:
        "auto: the init checkpoint's heads, else the largest divisor of the teacher's head count that divides hidden (one student head per teacher head where it can)",
    }),
    intermediate: Type.Union([Auto, Type.Integer({ minimum: 8, maximum: 16384 })], {
      default: 'auto',
      description: "auto: the init checkpoint's, else hidden x 1200/312 rounded (TinyBERT 4L-312D's ratio)",
    }),
    ffn_rank: Type.Union([Type.Null(), Type.Integer({ minimum: 1, maximum: 4096 })], {
      default: null,
      description:
        'low-rank feed-forward: W (h x I) becomes U (h x r) V (r x I), which saves weights only when r < h I / (h + I) (247 for 312 x 1200); null keeps it full',
    }),
    dropout: Type.Number({
      minimum: 0,
      maximum: 0.9,
      default: 0.1,
      description: "hidden and attention dropout while the student trains (BERT's 0.1); 0 suits short runs that underfit rather than overfit",
    }),
    init: Type.Union([Type.Literal('random'), Type.Literal('teacher'), CheckpointRef('general student')], {
      default: 'random',
      description:
        'where the student starts: random; teacher (the teacher\'s embeddings and mapped layers, when the widths match); a general student checkpoint ({"path": ...}, e.g. a general TinyBERT 4L-312D) or a version we published ({"model": "name@version"}). With general_distill enabled, that stage starts from it and task distillation from its result',
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
    teacher: CheckpointRef('the task teacher (fine-tuned first when it has no task head)'),
    general_teacher: Type.Optional(
      Type.Union(
        [
          CheckpointRef('the general-distillation teacher: a pre-trained, not fine-tuned encoder with the same vocabulary'),
          Type.Literal('finetuned_teacher', {
            description: "the teacher after this job's teacher_finetune: the only trained encoder when the teacher starts from random weights",
          }),
        ],
        { description: "general distillation's teacher; absent: the teacher checkpoint as given (before teacher_finetune)" },
      ),
    ),
    mlm_model: Type.Optional(CheckpointRef('the masked LM of augment\'s "mlm" method, same vocabulary (default: the teacher, when it has an MLM head)')),
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
        description:
          "classification: the classifier's rows in order (integer data labels index them; with a fine-tuned teacher, one name per row of its classifier); null or absent: the teacher's id2label when it has a trained classifier, else the training data's labels (sorted names, or rows 0..max of integer labels)",
      }),
    ),
    max_length: Type.Optional(Type.Integer({ minimum: 16, maximum: 512, description: 'default 128 (classification) or 384 (qa)' })),
    doc_stride: Type.Integer({
      minimum: 8,
      maximum: 512,
      default: 128,
      description: 'QA: context tokens shared by consecutive windows of a long context (a classification job refuses any value but the default)',
    }),
    max_query_length: Type.Integer({
      minimum: 4,
      maximum: 256,
      default: 64,
      description: 'QA: question tokens kept, the rest cut (a classification job refuses any value but the default)',
    }),
    qa_train_windows: Type.Union([Type.Literal('all'), Type.Literal('answer'), Type.Literal('answer_and_one_other')], {
      default: 'all',
      description:
        'QA training windows (task qa; a classification job refuses any value but all): all; answer (only windows holding the answer, plus the first window of unanswerable questions; saves CPU time on long contexts); answer_and_one_other (those, plus one other window per answerable question as a no-answer example, so the model learns to reject the windows of a long context that lack the answer)',
    }),
    student: StudentShape,
    stages: Type.Object(
      {
        mlm_pretrain: MlmPretrain,
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

/** Fields older specs may still send, by JSON pointer: why each went. */
export const RETIRED_FIELDS: Readonly<Record<string, string>> = {
  '/stages/general_distill/temperature': 'general distillation has no prediction layer, so no temperature; it was never used',
};

/** Fields only a QA job uses; earlier versions accepted and ignored them on other tasks. */
export const QA_WINDOW_FIELDS = ['doc_stride', 'max_query_length'] as const;

/**
 * A spec this service accepted itself under an earlier version, made acceptable to this one: a
 * queued job's spec has every default filled in, so it may carry RETIRED_FIELDS, and a
 * classification job accepted before they were refused on it may carry non-default QA window
 * sizes (doc_stride, max_query_length), which never acted. Both are dropped from a copy. A user's
 * spec never goes through this; it gets the 400 that says what to remove.
 */
export function upgradeStoredSpec(spec: unknown): unknown {
  if (typeof spec !== 'object' || spec === null) return spec;
  const copy = structuredClone(spec) as Record<string, unknown>;
  for (const pointer of Object.keys(RETIRED_FIELDS)) {
    const parts = pointer.split('/').slice(1);
    const field = parts.pop() as string;
    let node: unknown = copy;
    for (const part of parts) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part] : undefined;
    if (typeof node === 'object' && node !== null) delete (node as Record<string, unknown>)[field];
  }
  if (copy.task !== 'qa') for (const field of QA_WINDOW_FIELDS) delete copy[field];
  return copy;
}

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
  const issues = specIssues(Value.Errors(JobSpecSchema, withDefaults), JobSpecSchema, RETIRED_FIELDS);
  if (issues.length > 0) throw new JobSpecError(issues);
  return withDefaults as JobSpec;
}

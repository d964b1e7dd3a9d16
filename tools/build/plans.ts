/**
 * What `npm run models:build` trains: the shared pre-trained base (teacher pre-trained with masked
 * LM on the corpus, student general-distilled from it) and, per bundled task, the fine-tune ->
 * task distillation -> QAT job. Shapes and schedules are sized for the 2.5-hour budget on 2 CPU
 * cores; the timings they give are in models/README.md.
 */

export interface EncoderShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
}

/** The pre-training stages every task's job shares, keyed into the base cache. */
export interface BasePlan {
  teacher: EncoderShape;
  student: EncoderShape & { ffn_rank: null };
  vocabSize: number;
  /**
   * Sequence length of pre-training (tokens). General distillation runs at the length of the job
   * that builds the base: the QA job, first in taskPlans, at 128; an `--only support-intent` build
   * without a cached base distils at that job's 64.
   */
  maxLength: number;
  stages: { mlm_pretrain: Record<string, unknown>; general_distill: Record<string, unknown> };
}

export interface TaskPlan {
  name: string;
  task: 'classification' | 'qa';
  train: string;
  eval: string;
  /** Dropout while the teacher fine-tunes (init-model writes it into the teacher's config). */
  teacherDropout: number;
  /** Job spec fields besides type/model/task/teacher/data/seed/gate (stages, lengths, student). */
  spec: Record<string, unknown>;
}

/** 4 x 384 with 12 heads: the student (4 x 312, 12 heads of 26) maps layer to layer, groups nothing. */
const TEACHER: EncoderShape = { layers: 4, hidden: 384, heads: 12, intermediate: 1536 };
const STUDENT = { layers: 4, hidden: 312, heads: 12, intermediate: 1200, ffn_rank: null };
/** Pre-training sequence length (tokens): BERT pre-trains at 128 for most of its steps. */
const PRETRAIN_LENGTH = 128;
const QUICK_TEACHER: EncoderShape = { layers: 2, hidden: 64, heads: 4, intermediate: 128 };
const QUICK_STUDENT = { layers: 2, hidden: 48, heads: 4, intermediate: 96, ffn_rank: null };

export function basePlan(quick: boolean): BasePlan {
  const cap = quick ? { max_steps: 20 } : {};
  return {
    teacher: quick ? QUICK_TEACHER : TEACHER,
    student: quick ? QUICK_STUDENT : STUDENT,
    vocabSize: quick ? 2000 : 10000,
    maxLength: PRETRAIN_LENGTH,
    stages: {
      // A third of a pass over the corpus (~86k packed 128-token sequences with the 10k vocabulary,
      // ~2,700 steps a pass at 0.73 steps/s in bf16 on 2 cores): ~900 steps, about 21 minutes, so
      // the whole build fits a session. A small model's short schedule takes a higher rate than
      // BERT's 1e-4.
      mlm_pretrain: { enabled: true, epochs: 0.33, batch_size: 32, lr: 4e-4, warmup_ratio: 0.05, evaluations: 4, max_length: PRETRAIN_LENGTH, ...cap },
      // TinyBERT's general distillation (embeddings, attention, hidden states) on the same text.
      general_distill: { enabled: true, epochs: 0.15, batch_size: 32, lr: 5e-4, ...cap },
    },
  };
}

/**
 * The base pre-trained on a lent GPU (`--prepare-gpu-base`, scripts/gpu-pretrain-base.sh,
 * `--base-from`): the CPU plan's shapes and vocabulary, so the task stages after it cost on the CPU
 * exactly what they cost after the CPU base, and far more pre-training. The device run fits
 * max_steps to its time budget (the driver measures steps/s first), so epochs are only a ceiling.
 */
export interface GpuBasePlan {
  base: BasePlan;
  /** Share of the device run's training minutes for mlm_pretrain; general_distill gets the rest. */
  mlmShare: number;
  /** Training minutes the device run is fitted to unless told otherwise (GPU_BASE_MINUTES). */
  minutes: number;
}

export function gpuBasePlan(quick: boolean): GpuBasePlan {
  const cpu = basePlan(quick);
  return {
    base: {
      ...cpu,
      stages: {
        // BERT's batch of 256 sequences; at 128 tokens the corpus is ~340 such steps a pass, so
        // an H100/H200's few minutes are tens of passes where the CPU plan makes a third of one.
        // 5e-4 against the CPU plan's 4e-4 at 8x its batch: far under linear scaling (3.2e-3),
        // which a small BERT's masked-LM training does not take without diverging.
        mlm_pretrain: { enabled: true, epochs: 100, batch_size: 256, lr: 5e-4, warmup_ratio: 0.05, evaluations: 8, max_length: PRETRAIN_LENGTH },
        general_distill: { enabled: true, epochs: 100, batch_size: 256, lr: 5e-4 },
      },
    },
    mlmShare: 0.7,
    minutes: quick ? 0.5 : 6,
  };
}

export function taskPlans(quick: boolean): TaskPlan[] {
  const student = quick ? QUICK_STUDENT : STUDENT;
  const cap = quick ? 20 : null;
  return [
    {
      name: 'support-qa',
      task: 'qa',
      train: 'support-qa/train.json',
      eval: 'support-qa/test.json',
      teacherDropout: 0.1,
      spec: {
        max_length: 128,
        doc_stride: 32,
        max_query_length: 32,
        // The answer's window and one other (a no-answer example) per question: an epoch stays
        // within the CPU budget, and the model still learns to reject a long context's other windows.
        qa_train_windows: 'answer_and_one_other',
        student: { ...student, dropout: 0.1 },
        max_steps_per_stage: cap,
        checkpoint_every: 100,
        stages: {
          // Four epochs at 3e-4: the first full build's teacher was still climbing steeply at two
          // (held-out F1 22.3 after one epoch, 35.9 after two); with four, F1 30.9 / 50.2 / 63.3 /
          // 66.6 after each (build of 2026-12-01, docs/model-builds/2026-12-01-bf16.md).
          teacher_finetune: { enabled: true, epochs: 4, batch_size: 32, lr: 3e-4 },
          // The student needs as long: after two epochs at 2e-4 it stood at F1 53.3 against the
          // teacher's 66.6 (32.8 / 46.4 / 52.3 / 53.3 every half epoch, flat only as the rate
          // decayed), far outside the gate's 2 points.
          task_distill: { epochs: 4, batch_size: 32, lr: 3e-4 },
          qat: { epochs: 0.3, batch_size: 32, lr: 1e-5, recalibrate_every: 25 },
        },
      },
    },
    {
      name: 'support-intent',
      task: 'classification',
      train: 'support-intent/train.jsonl',
      eval: 'support-intent/test.jsonl',
      teacherDropout: 0.1,
      spec: {
        max_length: 64,
        student: { ...student, dropout: 0.1 },
        max_steps_per_stage: cap,
        checkpoint_every: 100,
        stages: {
          teacher_finetune: { enabled: true, epochs: 4, batch_size: 32, lr: 2e-4 },
          task_distill: { epochs: 4, batch_size: 32, lr: 2e-4 },
          qat: { epochs: 0.5, batch_size: 32, lr: 1e-5, recalibrate_every: 50 },
        },
      },
    },
  ];
}

/**
 * The student's shape and starting point, resolved against the teacher (and the init checkpoint):
 * every "auto" field chosen, every explicit one checked, each problem reported as a spec issue
 * that says what would work. The trainer receives the numbers and `auto`, the list of fields
 * chosen here, which the manifest keeps (docs/trainer-protocol.md).
 *
 * Defaults follow TinyBERT 4L-312D (shared/tinybert-method.md): 4 layers, 312 wide, intermediate
 * 1200; heads one per teacher head where the width allows it (the published student has 12 heads
 * for BERT-base's 12), so the attention loss compares heads one to one.
 */
import type { CheckpointShape } from './checkpoint-folder.js';
import type { SpecIssue } from './errors.js';
import type { JobSpec } from './job-spec.js';

export type StudentInit = { kind: 'random'; path: null } | { kind: 'teacher'; path: null } | { kind: 'checkpoint'; path: string };

export interface ResolvedStudent {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  ffn_rank: number | null;
  dropout: number;
  init: StudentInit;
  /** The fields that were "auto" in the spec, in schema order. */
  auto: string[];
}

const DEFAULT_LAYERS = 4;
const DEFAULT_HIDDEN = 312;
const INTERMEDIATE_PER_HIDDEN = 1200 / 312;

/** Largest divisor of `teacherHeads` that divides `hidden` (1 always does). */
export function autoHeads(teacherHeads: number, hidden: number): number {
  for (let d = teacherHeads; d > 1; d--) if (teacherHeads % d === 0 && hidden % d === 0) return d;
  return 1;
}

/**
 * The largest low-rank feed-forward rank that stores fewer weights than the dense matrix: U (h x r)
 * plus V (r x I) hold r (h + I) weights against h I (V's bias replaces the dense bias one for one),
 * so r must be below h I / (h + I): 247 for 312 x 1200. The trainer's spec.py checks the same bound.
 */
export function maxSavingFfnRank(hidden: number, intermediate: number): number {
  return Math.floor((hidden * intermediate - 1) / (hidden + intermediate));
}

interface ResolveStudentOptions {
  student: JobSpec['student'];
  teacher: CheckpointShape;
  init: StudentInit;
  /** The init checkpoint's shape when init.kind is "checkpoint". */
  initShape?: CheckpointShape;
  issues: SpecIssue[];
}

/** Chooses the "auto" fields and checks the explicit ones; pushes issues, never throws. */
export function resolveStudent({ student, teacher, init, initShape, issues }: ResolveStudentOptions): ResolvedStudent {
  const auto: string[] = [];
  const pick = (field: 'layers' | 'hidden' | 'heads' | 'intermediate', chosen: () => number): number => {
    const value = student[field];
    if (value !== 'auto') return value;
    auto.push(field);
    return chosen();
  };
  // Where the student's width comes from when it starts from existing weights.
  const source = init.kind === 'checkpoint' ? initShape : init.kind === 'teacher' ? teacher : undefined;
  const sourceName = init.kind === 'teacher' ? "the teacher's" : "the init checkpoint's";
  const layers = pick('layers', () => (init.kind === 'checkpoint' && initShape ? initShape.layers : Math.min(DEFAULT_LAYERS, teacher.layers)));
  const hidden = pick('hidden', () => source?.hidden ?? Math.min(DEFAULT_HIDDEN, teacher.hidden));
  const heads = pick('heads', () => source?.heads ?? autoHeads(teacher.heads, hidden));
  // Never wider than the teacher's: a teacher with a narrow feed-forward (under 1200/312 of its
  // width) would otherwise get a student bigger than itself.
  const intermediate = pick('intermediate', () => source?.intermediate ?? Math.min(Math.round(hidden * INTERMEDIATE_PER_HIDDEN), teacher.intermediate));

  if (hidden % heads !== 0) {
    issues.push({
      path: '/student/heads',
      message: `hidden size ${hidden} is not divisible by ${heads} heads; leave heads "auto" or give a divisor of ${hidden}`,
    });
  } else if (heads > teacher.heads || teacher.heads % heads !== 0) {
    const fromInit = student.heads === 'auto' && source !== undefined;
    issues.push({
      path: fromInit ? '/student/init' : '/student/heads',
      message: fromInit
        ? `${sourceName} ${heads} attention heads cannot be grouped from the teacher's ${teacher.heads} (the attention loss averages teacher heads in groups, one per student head): start from weights whose head count divides ${teacher.heads}, or init "random"`
        : `the teacher's ${teacher.heads} attention heads cannot be grouped into ${heads}; use a divisor of ${teacher.heads} (or leave heads "auto": ${autoHeads(teacher.heads, hidden)} here)`,
    });
  }
  if (layers > teacher.layers) {
    issues.push({ path: '/student/layers', message: `the student (${layers} layers) cannot be deeper than the teacher (${teacher.layers})` });
  }
  if (student.ffn_rank !== null) {
    const r = student.ffn_rank;
    if (r > maxSavingFfnRank(hidden, intermediate)) {
      const dense = hidden * intermediate;
      issues.push({
        path: '/student/ffn_rank',
        message:
          `rank ${r} saves no weights: U (hidden x r) and V (r x intermediate) hold r*(hidden+intermediate) = ` +
          `${r * (hidden + intermediate)} against hidden*intermediate = ${dense} dense; use a rank of at most ` +
          `${maxSavingFfnRank(hidden, intermediate)} (below ${dense}/${hidden + intermediate} = ${(dense / (hidden + intermediate)).toFixed(1)}) or null`,
      });
    }
    if (init.kind !== 'random') {
      issues.push({
        path: '/student/ffn_rank',
        message: `a low-rank student cannot start from ${sourceName} dense weights; use init "random" or ffn_rank null`,
      });
    }
  }
  if (source !== undefined) {
    const fixed = { hidden, heads, intermediate, ...(init.kind === 'checkpoint' ? { layers } : {}) } as Record<string, number>;
    for (const [field, value] of Object.entries(fixed)) {
      const expected = source[field as keyof CheckpointShape];
      if (value !== expected) {
        issues.push({
          path: `/student/${field}`,
          message: `${field} ${value} differs from ${sourceName} ${expected}: a student that starts from those weights has their shape; leave ${field} "auto"`,
        });
      }
    }
    // The student takes the teacher's positions and token types (its inputs are the teacher's).
    for (const [key, name] of [
      ['maxPositions', 'max_position_embeddings'],
      ['typeVocabSize', 'type_vocab_size'],
    ] as const) {
      if (source[key] !== teacher[key]) {
        issues.push({
          path: '/student/init',
          message: `the init checkpoint's ${name} ${source[key]} is not the teacher's ${teacher[key]}: the student reads the teacher's inputs, so its ${name} must be the same; start from a checkpoint with ${teacher[key]}`,
        });
      }
    }
    if (source.vocabSize !== teacher.vocabSize) {
      issues.push({
        path: '/student/init',
        message: `the init checkpoint's vocabulary (${source.vocabSize} tokens) is not the teacher's (${teacher.vocabSize}); the student must share the teacher's vocabulary`,
      });
    }
  }
  return { layers, hidden, heads, intermediate, ffn_rank: student.ffn_rank, dropout: student.dropout, init, auto };
}

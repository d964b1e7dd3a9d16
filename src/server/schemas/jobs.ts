/** Schemas of the job routes. The spec itself is the training layer's JobSpecSchema. */
import { Type } from '@sinclair/typebox';
import { JOB_STATES } from '../../queue/job-types.js';
import { ADMIN_KINDS, BODY_KINDS, problemResponses } from './common.js';
import { MetricsSchema } from './models.js';

export const JobIdParamsSchema = Type.Object({
  id: Type.String({ pattern: '^[A-Za-z0-9._-]{1,100}$', description: 'Job id as returned by POST /v1/jobs' }),
});

export const JobStateSchema = Type.Union(
  JOB_STATES.map((s) => Type.Literal(s)),
  { description: 'queued | active | completed | failed | cancelled' },
);

const Losses = Type.Record(Type.String(), Type.Number());
const MetricsByRole = Type.Record(Type.String(), MetricsSchema, {
  description: 'by role: teacher, student_fp32, student_int8, student_ptq_int8 (post-training INT8 baseline, not served)',
});

export const JobSchema = Type.Object(
  {
    id: Type.String(),
    state: JobStateSchema,
    model: Type.String(),
    task: Type.String(),
    progress: Type.Union([
      Type.Object({
        stage: Type.String({ description: 'trainer stage, or evaluate / publish' }),
        epoch: Type.Optional(Type.Number()),
        step: Type.Optional(Type.Integer()),
        total: Type.Optional(Type.Integer()),
        losses: Type.Optional(Losses),
        steps_per_sec: Type.Optional(Type.Number()),
        eta_s: Type.Optional(Type.Number({ description: 'seconds left in the current stage' })),
      }),
      Type.Null(),
    ]),
    result: Type.Union([
      Type.Object({
        model: Type.String(),
        version: Type.Integer(),
        metrics: MetricsByRole,
        gate: Type.Object({
          passed: Type.Boolean(),
          activated: Type.Boolean(),
          reason: Type.String(),
          rollout: Type.Optional(
            Type.Object(
              { mode: Type.Union([Type.Literal('canary'), Type.Literal('shadow')]), plan_id: Type.String() },
              { description: 'The roll-out plan the version was published into (gate.rollout); its rules or an operator decide activation' },
            ),
          ),
        }),
      }),
      Type.Null(),
    ]),
    error: Type.Union([Type.String(), Type.Null()]),
    attempts: Type.Integer(),
    created_at: Type.String(),
    started_at: Type.Union([Type.String(), Type.Null()]),
    finished_at: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'Job' },
);

/** A page of the job list when the query names none. */
export const JOB_PAGE_DEFAULTS = { offset: 0, limit: 50 } as const;

export const JobListQuerySchema = Type.Object({
  state: Type.Optional(JobStateSchema),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: JOB_PAGE_DEFAULTS.offset, description: 'Jobs to skip, newest first' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: JOB_PAGE_DEFAULTS.limit, description: 'Jobs to return, at most 200' })),
});

export const JobListSchema = Type.Object({
  jobs: Type.Array(JobSchema),
  total: Type.Integer(),
  offset: Type.Integer(),
  limit: Type.Integer(),
});

export const SubmittedSchema = Type.Object({ id: Type.String(), state: JobStateSchema });

/** Every job route: admin key, Redis reachable. */
const JOB_KINDS = [...ADMIN_KINDS, 'jobs_unavailable'] as const;
export const submitErrorResponses = problemResponses(...BODY_KINDS, ...JOB_KINDS, 'invalid_spec');
export const listErrorResponses = problemResponses(...JOB_KINDS, 'validation');
export const jobErrorResponses = problemResponses(...JOB_KINDS, 'validation', 'job_not_found');
/** DELETE may carry a body (ignored), so what a body can get wrong applies too. */
export const cancelErrorResponses = problemResponses(
  ...JOB_KINDS,
  'validation',
  'job_not_found',
  'job_state_conflict',
  'body_too_large',
  'unsupported_media_type',
);

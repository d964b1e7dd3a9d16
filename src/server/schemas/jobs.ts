/** Schemas of the job routes. The spec itself is the training layer's JobSpecSchema. */
import { type Static, Type } from '@sinclair/typebox';
import { JOB_STATES } from '../../queue/job-types.js';
import { problemResponses } from './common.js';
import { MetricsSchema } from './models.js';

export const JobIdParamsSchema = Type.Object({
  id: Type.String({ pattern: '^[A-Za-z0-9._-]{1,100}$', description: 'Job id as returned by POST /v1/jobs' }),
});

export const JobStateSchema = Type.Union(
  JOB_STATES.map((s) => Type.Literal(s)),
  { description: 'queued | active | completed | failed | cancelled' },
);

const Losses = Type.Record(Type.String(), Type.Number());
const MetricsByRole = Type.Record(Type.String(), MetricsSchema, { description: 'by role: teacher, student_fp32, student_int8' });

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

export const JobListQuerySchema = Type.Object({
  state: Type.Optional(JobStateSchema),
  offset: Type.Integer({ minimum: 0, default: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
});

export const JobListSchema = Type.Object({
  jobs: Type.Array(JobSchema),
  total: Type.Integer(),
  offset: Type.Integer(),
  limit: Type.Integer(),
});

export const SubmittedSchema = Type.Object({ id: Type.String(), state: JobStateSchema });

export type JobListQuery = Static<typeof JobListQuerySchema>;

export const jobErrorResponses = problemResponses(400, 401, 403, 404, 409, 503);

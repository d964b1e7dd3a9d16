/**
 * The model lifecycle over HTTP: submit a distillation job, follow it (state, server-sent events,
 * an HTML report), cancel it. Every route needs an admin key: jobs spend GPU hours and publish
 * models. While Redis is down these routes answer 503 and inference carries on.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { JobService } from '../../queue/job-service.js';
import type { JobView } from '../../queue/job-types.js';
import { JobSpecSchema, parseJobSpec } from '../../training/job-spec.js';
import { requestValidatorCompiler } from '../validators.js';
import {
  JOB_PAGE_DEFAULTS,
  JobIdParamsSchema,
  cancelErrorResponses,
  jobErrorResponses,
  listErrorResponses,
  submitErrorResponses,
  JobListQuerySchema,
  JobListSchema,
  JobSchema,
  SubmittedSchema,
} from '../schemas/jobs.js';
import { renderJobReport } from '../views/job-report.js';
import type { RolloutEvent } from '../../inference/registry/types.js';
import exampleSpec from '../../../examples/distill-support-intent.json' with { type: 'json' };

export type ServerJobs = Pick<JobService, 'submit' | 'get' | 'list' | 'cancel' | 'logs' | 'history' | 'spec'>;

export interface JobRouteOptions {
  jobs: ServerJobs;
  /** How often the event stream looks for news (ms). */
  eventPollMs?: number;
  /** A model's roll-out history, for the report (empty when the model is unknown). */
  rolloutHistory?: (model: string) => Promise<RolloutEvent[]>;
}

const FINAL = new Set(['completed', 'failed', 'cancelled']);

export default async function jobRoutes(app: FastifyInstance, { jobs, eventPollMs = 1000, rolloutHistory }: JobRouteOptions): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const partsCompiler = app.validatorCompiler ?? requestValidatorCompiler();
  const security = [{ bearerAuth: [] }];

  r.post(
    '/v1/jobs',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['jobs'],
        summary: 'Submit a distillation job',
        description: 'The spec is validated and its paths resolved inside DATA_DIR before it is queued; a 400 lists every problem and nothing is queued.',
        security,
        // The example is the README's (examples/distill-support-intent.json), so Try it out runs it.
        body: { ...JobSpecSchema, examples: [exampleSpec] },
        response: { 202: SubmittedSchema, ...submitErrorResponses },
      },
      // The spec is checked by the training layer's own parser, the one every process uses: it
      // lists every problem (not only the first) and says what would be right. The other parts
      // (the query string, which takes nothing here) keep the app's validation.
      validatorCompiler: (route) =>
        route.httpPart === 'body'
          ? (data: unknown) => {
              try {
                return { value: parseJobSpec(data) };
              } catch (error) {
                return { error: error as Error };
              }
            }
          : partsCompiler(route),
    },
    async (request, reply) => {
      const view = await jobs.submit(request.body);
      return reply.code(202).header('location', `/v1/jobs/${view.id}`).send({ id: view.id, state: view.state });
    },
  );

  r.get(
    '/v1/jobs',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['jobs'],
        summary: 'List jobs, newest first, optionally by state',
        security,
        querystring: JobListQuerySchema,
        response: { 200: JobListSchema, ...listErrorResponses },
      },
    },
    async (request) => {
      const { state, offset = JOB_PAGE_DEFAULTS.offset, limit = JOB_PAGE_DEFAULTS.limit } = request.query;
      const page = await jobs.list({ ...(state ? { state } : {}), offset, limit });
      return { ...page, offset, limit };
    },
  );

  r.get(
    '/v1/jobs/:id',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['jobs'],
        summary: 'One job: state, progress, result (version, metrics, gate decision), error, timestamps',
        security,
        params: JobIdParamsSchema,
        response: { 200: JobSchema, ...jobErrorResponses },
      },
    },
    async (request) => jobs.get(request.params.id),
  );

  r.delete(
    '/v1/jobs/:id',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['jobs'],
        summary: 'Cancel a queued job, or stop a running one (the trainer checkpoints and exits; the job ends cancelled)',
        security,
        params: JobIdParamsSchema,
        response: { 202: JobSchema, ...cancelErrorResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await jobs.cancel(request.params.id)),
  );

  r.get(
    '/v1/jobs/:id/report',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['jobs'],
        summary: 'Human-readable HTML report: loss curves, eval metrics over time, teacher vs students',
        security,
        params: JobIdParamsSchema,
        produces: ['text/html'],
        response: {
          200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } },
          ...jobErrorResponses,
        },
      },
    },
    async (request, reply) => {
      const job = await jobs.get(request.params.id);
      const [history, spec, rollout] = await Promise.all([
        jobs.history(job.id),
        jobs.spec(job.id),
        job.result && rolloutHistory ? rolloutHistory(job.result.model).catch(() => []) : [],
      ]);
      return reply.type('text/html; charset=utf-8').send(renderJobReport({ job, history, spec, rollout }));
    },
  );

  r.get(
    '/v1/jobs/:id/events',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['jobs'],
        summary: 'Server-sent events: progress, log lines and the final state of a job',
        description:
          'Events: `state` (the job, whenever its state or progress changes), `log` (one line of the run log), `end` (the final job, then the stream closes).',
        security,
        params: JobIdParamsSchema,
        produces: ['text/event-stream'],
        response: {
          200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          ...jobErrorResponses,
        },
      },
    },
    async (request, reply) => {
      // Fail with a normal problem response (404, 503) before the stream starts.
      let job: JobView = await jobs.get(request.params.id);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-request-id': request.id,
      });
      const send = (event: string, data: unknown): void => {
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      let open = true;
      res.on('close', () => {
        open = false;
      });
      let logOffset = 0;
      let last = '';
      const emit = async (): Promise<boolean> => {
        const { logs } = await jobs.logs(job.id, logOffset).catch(() => ({ logs: [] as string[] }));
        for (const line of logs) send('log', { line });
        logOffset += logs.length;
        const snapshot = JSON.stringify([job.state, job.progress]);
        if (snapshot !== last) {
          send('state', job);
          last = snapshot;
        }
        return FINAL.has(job.state);
      };
      try {
        while (open) {
          if (await emit()) {
            send('end', job);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, eventPollMs));
          if (!open) break;
          try {
            job = await jobs.get(job.id);
          } catch (err) {
            // Redis went away mid-stream: say so and let the client reconnect later.
            send('error', { detail: (err as Error).message });
            break;
          }
        }
      } finally {
        res.end();
      }
    },
  );
}

/**
 * The Fastify app, built from its parts. Tests call buildApp() and use inject() or listen on
 * port 0; main.ts owns the process around it. Each route file is an encapsulated plugin: adding
 * a feature (e.g. routes/jobs.ts) is one more register() call below.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ServerConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { ServerEngine } from './engine.js';
import errorsPlugin, { answerClientError, answerFrameworkError, MAX_PARAM_LENGTH } from './plugins/errors.js';
import authPlugin from './plugins/auth.js';
import httpMetricsPlugin from './plugins/http-metrics.js';
import docsPlugin from './plugins/docs.js';
import { UnsupportedContentEncodingError } from './problems.js';
import { ProblemSchema, REQUEST_ID_HEADER } from './schemas/common.js';
import { useJsonBodyParser } from './json-body.js';
import { requestValidatorCompiler } from './validators.js';
import classifyRoutes from './routes/classify.js';
import qaRoutes from './routes/qa.js';
import modelRoutes from './routes/models.js';
import healthRoutes from './routes/health.js';
import type { ServerJobs } from './routes/jobs.js';
import type { DashboardQueue } from './plugins/queue-dashboard.js';
import packageJson from '../../package.json' with { type: 'json' };

/** The query schema of a /v1 route that reads no query parameters. */
const NO_QUERY = { type: 'object', properties: {}, additionalProperties: false };

export interface BuildAppOptions {
  config: { server: ServerConfig };
  engine: ServerEngine;
  metrics: Pick<Metrics, 'registry' | 'httpRequestDuration'>;
  /** pino logger; without one the app logs nothing (tests). */
  logger?: FastifyBaseLogger;
  /** The job queue; without it the /v1/jobs routes and the queue dashboard are not mounted. */
  jobs?: ServerJobs & { bullQueue?: () => Promise<DashboardQueue>; isAvailable?: () => boolean };
}

/** A caller's request id is reused only when it is short and plain, so it is safe in logs. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function requestId(req: IncomingMessage): string {
  const incoming = req.headers[REQUEST_ID_HEADER];
  return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export async function buildApp({ config, engine, metrics, logger, jobs }: BuildAppOptions): Promise<FastifyInstance> {
  const settings = config.server;
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    genReqId: requestId,
    bodyLimit: settings.bodyLimitBytes,
    requestTimeout: settings.requestTimeoutMs,
    // Also to http.createServer itself: Node 20 takes requestTimeout at construction, and the one
    // Fastify assigns afterwards never fires (a body that stopped coming stayed open 40 s with a 1 s
    // limit; passed here, 408 after 1.26 s). Node looks for timed-out requests on
    // connectionsCheckingInterval (default 30 s), so a short limit would fire late without it.
    http: {
      requestTimeout: settings.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(settings.requestTimeoutMs / 4))),
    },
    // `/v1/models/` is `/v1/models`: otherwise its empty name parameter fails validation with a
    // message about the name, not the slash the caller typed.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, ignoreTrailingSlash: true },
    // What the router or Node's HTTP parser refuses before any route runs is a problem too.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
  });

  app.setValidatorCompiler(requestValidatorCompiler());
  // The API speaks JSON only: without this, text/plain bodies would reach validation as strings
  // and get a confusing "body must be object" instead of a clear 415.
  app.removeContentTypeParser('text/plain');
  useJsonBodyParser(app, settings.bodyLimitBytes);

  // Once close() has begun, answers to in-flight requests say Connection: close, so keep-alive
  // sockets end with them and the server can finish closing without waiting for idle timeouts.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    if (closing) reply.header('connection', 'close');
  });

  // A compressed body would reach the JSON parser as bytes it cannot read, and the client would
  // hear "not valid UTF-8" about a body it sent correctly compressed.
  app.addHook('preParsing', async (request) => {
    const encoding = request.headers['content-encoding']?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') {
      throw new UnsupportedContentEncodingError(
        `the body is sent with content-encoding ${encoding}, which this API does not decode; send it uncompressed (no Content-Encoding header)`,
      );
    }
  });
  // A query parameter no /v1 route reads would be dropped without a word (POST /v1/classify?top_k=5
  // answered one label): under /v1, a route refuses query parameters its schema does not name, and
  // one without a query schema takes none. Other paths (the docs, the queue dashboard) are left as
  // they are.
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/')) return;
    const schema = route.schema ?? {};
    const query = schema.querystring as Record<string, unknown> | undefined;
    route.schema = { ...schema, querystring: query ? { ...query, additionalProperties: query.additionalProperties ?? false } : NO_QUERY };
  });

  app.addSchema(ProblemSchema);
  await app.register(errorsPlugin, { bodyLimitBytes: settings.bodyLimitBytes });
  await app.register(authPlugin, { apiKeys: settings.apiKeys, adminApiKeys: settings.adminApiKeys });
  await app.register(httpMetricsPlugin, { metrics });
  await app.register(docsPlugin, { version: packageJson.version });

  const limits = settings;
  // Admin actions that change a model's state (activate, canary, shadow) take turns per model
  // inside the engine, under the same per-model lock as its registry syncs and roll-out decisions.
  await app.register(healthRoutes, { engine, registry: metrics.registry });
  await app.register(classifyRoutes, { engine, limits });
  await app.register(qaRoutes, { engine, limits });
  await app.register(modelRoutes, { engine });
  if (jobs) {
    // Imported here, not at the top: without jobs the API never loads Bull Board (see main.ts).
    const [{ default: jobRoutes }, { default: queueDashboard }] = await Promise.all([import('./routes/jobs.js'), import('./plugins/queue-dashboard.js')]);
    await app.register(jobRoutes, { jobs, rolloutHistory: async (name) => (await engine.getModel(name)).rollout.history });
    if (jobs.bullQueue) {
      await app.register(queueDashboard, {
        queue: jobs.bullQueue.bind(jobs),
        basePath: '/admin/queues',
        adminEnabled: settings.adminApiKeys.length > 0,
        bodyLimitBytes: settings.bodyLimitBytes,
        ...(jobs.isAvailable ? { available: () => jobs.isAvailable?.() ?? true } : {}),
      });
    }
  }
  return app;
}

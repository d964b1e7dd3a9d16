/**
 * The server process: settings, logger, engine, listen, and a graceful stop.
 *
 * Order matters. Models are loaded and warmed before the port opens, so a load balancer never
 * sees a server that cannot answer. On SIGTERM/SIGINT the server stops accepting, lets in-flight
 * requests finish (at most SHUTDOWN_GRACE_MS), then closes the engine and exits 0.
 */
import { pino } from 'pino';
import { loadConfigOrExit } from '../config.js';
import { createMetrics } from '../metrics.js';
import { createInferenceEngine } from '../inference/index.js';
import type { JobService } from '../queue/job-service.js';
import type { ModelEvent, ModelEventSubscription } from '../queue/model-events.js';
import { buildApp } from './app.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = pino({ level: config.server.logLevel, base: { service: 'distillery-api' } });
  const metrics = createMetrics();
  // Set once the job service exists (below): a state.json this replica changes is announced on
  // Redis so the other replicas follow at once instead of at their next poll.
  let announce: ((event: ModelEvent) => void) | undefined;
  const engine = createInferenceEngine({
    config,
    logger: logger.child({ component: 'inference' }),
    metrics,
    onStateChange: ({ model, state, reason }) => announce?.({ type: reason, model, version: state.active, active: true }),
  });

  // Redis is optional for serving: without it the job routes answer 503 and models still swap
  // through the registry watcher. Its reconnect errors are logged once a minute, not per retry.
  let lastRedisWarning = 0;
  const onRedisError = (err: Error): void => {
    if (Date.now() - lastRedisWarning < 60_000) return;
    lastRedisWarning = Date.now();
    logger.warn({ err: err.message, redis: config.queue.redisUrl }, 'Redis unreachable: job routes answer 503 until it is back; inference is unaffected');
  };
  // Imported only when jobs are on (ioredis and the job service; BullMQ and Bull Board wait for the
  // first job call or dashboard request): an API without jobs never holds them (npm run
  // bench:memory, variants defaults vs jobs-on).
  const queueModules = config.queue.enabled ? await Promise.all([import('../queue/job-service.js'), import('../queue/model-events.js')]) : undefined;
  const jobs: JobService | undefined = queueModules ? new queueModules[0].JobService({ queue: config.queue, paths: config.paths, onRedisError }) : undefined;
  if (jobs) announce = (event) => void jobs.announceModelChange(event);
  let modelEvents: ModelEventSubscription | undefined;

  let stopping: Promise<void> | undefined;
  const stop = (signal: string, code = 0): Promise<void> => {
    // A repeated signal (impatient operator, orchestrator retry) joins the stop in progress.
    if (stopping) {
      logger.warn({ signal }, 'already shutting down');
      return stopping;
    }
    stopping = shutdown(signal, code);
    return stopping;
  };

  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  async function shutdown(signal: string, code: number): Promise<void> {
    logger.info({ signal, graceMs: config.server.shutdownGraceMs }, 'shutting down: no new requests, finishing in-flight ones');
    let exitCode = code;
    const force = setTimeout(() => {
      logger.error({ graceMs: config.server.shutdownGraceMs }, 'in-flight requests did not finish within SHUTDOWN_GRACE_MS; closing anyway');
      app?.server.closeAllConnections();
      exitCode = 1;
    }, config.server.shutdownGraceMs);
    force.unref();
    try {
      await app?.close();
    } catch (err) {
      logger.error({ err }, 'closing the HTTP server failed');
      exitCode = 1;
    }
    clearTimeout(force);
    try {
      await engine.close();
    } catch (err) {
      logger.error({ err }, 'closing the inference engine failed');
      exitCode = 1;
    }
    await modelEvents?.close();
    await jobs?.close();
    metrics.close();
    logger.info({ exitCode }, 'stopped');
    logger.flush();
    process.exit(exitCode);
  }

  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  try {
    logger.info({ modelDir: config.paths.modelDir }, 'loading and warming models');
    await engine.start();
    app = await buildApp({ config, engine, logger, metrics, ...(jobs ? { jobs } : {}) });
    if (jobs && queueModules) {
      // A worker published or activated a version: look at the registry now, not at the next poll.
      // Never awaits Redis: with Redis down at boot the port opens anyway (job routes answer 503).
      const sync = (why: string): void => {
        engine.syncRegistry().catch((err: unknown) => logger.error({ err }, `registry sync after ${why} failed`));
      };
      modelEvents = queueModules[1].subscribeModelEvents({
        redisUrl: config.queue.redisUrl,
        channel: jobs.names.modelEvents,
        onError: onRedisError,
        onConnected: () => {
          if (lastRedisWarning > 0) logger.info({ redis: config.queue.redisUrl }, 'Redis reachable again: job routes are back');
          lastRedisWarning = 0;
          // Events published while Redis was away are lost: look at the registry now.
          sync('a Redis reconnect');
        },
        onEvent: (event) => {
          logger.info({ event }, 'model event: syncing the registry');
          sync('a model event');
        },
      });
    }
    const address = await app.listen({ host: config.server.host, port: config.server.port });
    logger.info({ address }, 'accepting requests');
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await stop('startup-failure', 1);
  }
}

await main();

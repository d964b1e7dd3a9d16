/**
 * `npm run worker`: the training worker process. Takes distillation jobs from Redis, runs the
 * trainer (on the GPU where there is one), publishes versions, and exposes its own /metrics.
 * SIGTERM/SIGINT: stop taking jobs, let running trainers checkpoint, exit 0.
 */
import { createServer, type Server } from 'node:http';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { loadConfigOrExit } from '../config.js';
import { createWorkerMetrics } from '../metrics.js';
import { DistillWorker } from './distill-worker.js';
import { queueNames } from './names.js';
import { createRedis } from './redis-connection.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = pino({ level: config.server.logLevel, base: { service: 'distillery-worker' } });
  const names = queueNames(config.queue.prefix);
  const countsQueue = new Queue(names.queue, {
    connection: createRedis(config.queue.redisUrl, 'api', () => undefined),
    prefix: names.bullPrefix,
  });
  countsQueue.on('error', () => undefined);
  const metrics = createWorkerMetrics({
    // A scrape must not hang on a dead Redis: Prometheus would take the worker for down.
    unfinishedJobCounts: () =>
      Promise.race([
        countsQueue.getJobCounts('waiting', 'delayed', 'prioritized', 'active'),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('redis timeout')), 1000).unref()),
      ]),
  });
  const { registry } = metrics;

  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        },
      );
      return;
    }
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  // Listen before taking jobs: a busy port is a configuration error to report, not a crash
  // after a job has started.
  const { workerMetricsPort: port, workerMetricsHost: host } = config.queue;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'EADDRINUSE' ? `port ${port} on ${host} is already in use` : e.code === 'EACCES' ? `no permission to listen on port ${port}` : e.message;
    logger.fatal(`the worker's metrics server cannot listen: ${why}; set WORKER_METRICS_PORT (and WORKER_METRICS_HOST) to a free port, or 0 for any`);
    logger.flush();
    await countsQueue.close().catch(() => undefined);
    process.exit(1);
  }
  const worker = new DistillWorker({ queue: config.queue, paths: config.paths, trainer: config.trainer, inference: config.inference, logger, metrics });
  const address = server.address();
  logger.info(
    { metrics: typeof address === 'object' && address ? `${address.address}:${address.port}` : address, concurrency: config.queue.workerConcurrency },
    'worker started',
  );

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: running trainers checkpoint, their jobs resume later');
    void (async () => {
      await worker.close();
      await countsQueue.close().catch(() => undefined);
      server.close();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();

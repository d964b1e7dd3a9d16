/**
 * Run by queue-modules.test.ts in a process of its own (node --import tsx): which job-queue
 * libraries a server with jobs on has loaded at start, after a job route and after the
 * dashboard. Prints one JSON line. Node's require cache holds every CommonJS file loaded, also
 * through import, so a package is loaded when a file under its folder is there.
 */
import { createRequire } from 'node:module';
import { ADMIN_KEY, bearer, startServer } from '../server/helpers.js';

const cache = createRequire(import.meta.url).cache;
const loaded = () => {
  const files = Object.keys(cache);
  const has = (pkg: string) => files.some((f) => f.includes(`/node_modules/${pkg}/`));
  return { bullmq: has('bullmq'), bullBoard: has('@bull-board/api') };
};

const s = await startServer({ ADMIN_API_KEYS: ADMIN_KEY });
try {
  const atStart = loaded();
  const jobs = await fetch(`${s.url}/v1/jobs`, { headers: bearer(ADMIN_KEY) });
  const afterJobRoute = loaded();
  const page = await fetch(`${s.url}/admin/queues`, { headers: bearer(ADMIN_KEY) });
  const afterDashboard = loaded();
  process.stdout.write(`${JSON.stringify({ atStart, jobStatus: jobs.status, afterJobRoute, dashboardStatus: page.status, afterDashboard })}\n`);
} finally {
  await s.close();
}

/**
 * Load generator (its own process, so its CPU is not the server's event loop): `concurrency`
 * closed-loop clients over keep-alive sockets, each sending the next request of the shared
 * workload as soon as its previous one is answered. A warm-up phase is not measured; the run is
 * bounded by duration and by request count. Loopback only.
 *
 * Each client owns one keep-alive connection of our minimal HTTP/1.1 client (keep-alive-client.ts):
 * on a 2-core machine every microsecond the client spends is taken from the server it measures.
 * `client: 'node-http'` runs the same loop over node:http (a keep-alive Agent, one socket per
 * client), the load generator of earlier runs, to compare the two.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { announceResult, childSpec } from './child.js';
import { encodePost, KeepAliveConnection, type Outcome } from './keep-alive-client.js';
import { type LatencySummary, summarize } from './stats.js';
import { REQUEST_KINDS, type RequestKind, type WorkloadItem } from './workload.js';

export interface LoadSpec {
  /** http://127.0.0.1:PORT/v1/classify */
  url: string;
  model: string;
  workloadFile: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Most requests sent in the whole run (warm-up included). */
  maxRequests: number;
  /** A request not answered within this is counted as an error. */
  timeoutMs: number;
  /** HTTP client: our keep-alive client (the default) or node:http (earlier runs' load generator). */
  client?: LoadClient;
}

export const LOAD_CLIENTS = ['keep-alive', 'node-http'] as const;
export type LoadClient = (typeof LOAD_CLIENTS)[number];

export interface LoadResult {
  concurrency: number;
  /** Measured window in seconds (shorter than asked when maxRequests ran out). */
  windowS: number;
  /** 200 answers completed inside the window, per second. */
  throughput: number;
  overall: LatencySummary;
  byKind: Record<RequestKind, LatencySummary>;
  /** Non-200 answers and transport errors, by status or error code (whole run). */
  errors: Record<string, number>;
  /** Requests sent in the whole run, warm-up included. */
  sent: number;
  /** Sum of served row tokens over every 200 answer of the whole run (for padding efficiency). */
  realTokens: number;
  answered: number;
  /** CPU seconds this load generator used over the whole run, and the run's wall time. */
  cpuS: number;
  wallS: number;
}

function post(agent: http.Agent, url: URL, body: Buffer, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode === 200 ? { ok: true } : { ok: false, error: String(res.statusCode) }));
        res.once('error', (err) => resolve({ ok: false, error: (err as NodeJS.ErrnoException).code ?? 'response_error' }));
      },
    );
    req.once('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.once('error', (err) => resolve({ ok: false, error: (err as NodeJS.ErrnoException).code ?? 'request_error' }));
    req.end(body);
  });
}

/** One send function per client over the chosen HTTP client, and how to close them all. */
function openSenders(spec: LoadSpec, url: URL, bodies: readonly Buffer[]): { clients: Array<(item: number) => Promise<Outcome>>; close(): void } {
  if (spec.client === 'node-http') {
    const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency, maxFreeSockets: spec.concurrency });
    const send = (item: number) => post(agent, url, bodies[item]!, spec.timeoutMs);
    return { clients: Array.from({ length: spec.concurrency }, () => send), close: () => agent.destroy() };
  }
  const target = { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80) };
  const requests = bodies.map((body) => encodePost({ authority: url.host, path: url.pathname + url.search, body }));
  const connections = Array.from({ length: spec.concurrency }, () => new KeepAliveConnection({ ...target, timeoutMs: spec.timeoutMs }));
  return {
    clients: connections.map((c) => (item: number) => c.send(requests[item]!)),
    close: () => {
      for (const c of connections) c.close();
    },
  };
}

export async function generateLoad(spec: LoadSpec, items: readonly WorkloadItem[]): Promise<LoadResult> {
  const url = new URL(spec.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error(`load generator is loopback only (got ${url.hostname})`);
  const bodies = items.map((i) => Buffer.from(JSON.stringify({ model: spec.model, inputs: [i.text] })));
  const senders = openSenders(spec, url, bodies);

  const latencies: Record<RequestKind, number[]> = { short: [], paragraph: [], long: [] };
  const errors: Record<string, number> = {};
  let next = 0;
  let answered = 0;
  let realTokens = 0;
  const completions: number[] = [];
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const measureFrom = startedAt + spec.warmupMs;
  let measureTo = measureFrom + spec.durationMs;

  const client = async (send: (item: number) => Promise<Outcome>): Promise<void> => {
    for (;;) {
      const now = performance.now();
      if (now >= measureTo) return;
      if (next >= spec.maxRequests) {
        measureTo = Math.min(measureTo, now);
        return;
      }
      const i = next++ % items.length;
      const outcome = await send(i);
      const end = performance.now();
      if (!outcome.ok) {
        errors[outcome.error!] = (errors[outcome.error!] ?? 0) + 1;
        continue;
      }
      answered++;
      realTokens += items[i]!.rowTokens;
      if (now >= measureFrom && now < measureTo) latencies[items[i]!.kind].push(end - now);
      completions.push(end);
    }
  };
  await Promise.all(senders.clients.map(client));
  senders.close();
  const cpu = process.cpuUsage(cpuBefore);

  const windowS = Math.max(1e-3, (measureTo - measureFrom) / 1000);
  const inWindow = completions.filter((t) => t >= measureFrom && t <= measureTo).length;
  const all = REQUEST_KINDS.flatMap((k) => latencies[k]);
  return {
    concurrency: spec.concurrency,
    windowS,
    throughput: inWindow / windowS,
    overall: summarize(all),
    byKind: { short: summarize(latencies.short), paragraph: summarize(latencies.paragraph), long: summarize(latencies.long) },
    errors,
    sent: next,
    realTokens,
    answered,
    cpuS: (cpu.user + cpu.system) / 1e6,
    wallS: (performance.now() - startedAt) / 1000,
  };
}

if (import.meta.filename === process.argv[1]) {
  const spec = childSpec<LoadSpec>();
  const items = JSON.parse(readFileSync(spec.workloadFile, 'utf8')) as WorkloadItem[];
  announceResult(await generateLoad(spec, items));
}

/**
 * Requests refused before any route runs (a URL that cannot be decoded, a path parameter longer
 * than the router reads, headers larger than Node reads, a request line that is not HTTP) are
 * answered as application/problem+json like every other error, not in Fastify's or Node's own
 * JSON. Sent over a real socket: app.inject() bypasses Node's HTTP parser.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { EnvReader, loadServerConfig } from '../../src/config.js';
import { createMetrics } from '../../src/metrics.js';
import { buildApp } from '../../src/server/app.js';
import { noEngine } from '../../src/server/openapi.js';

let app: FastifyInstance;
let port = 0;
const metrics = createMetrics({ defaultMetrics: false });

beforeAll(async () => {
  app = await buildApp({ config: { server: loadServerConfig(new EnvReader({})) }, engine: noEngine, metrics });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  port = typeof address === 'object' && address ? address.port : 0;
});
afterAll(async () => {
  await app.close();
  metrics.close();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Send `request` as it is and read the answer until the server closes or ends it. */
function raw(request: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    socket.write(request);
  });
}

const get = (path: string, extra = '') => raw(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n${extra}\r\n`);

function expectProblem(answer: RawAnswer, status: number, type: string, detail: RegExp): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(answer.body) as { type: string; status: number; detail: string };
  expect(body).toMatchObject({ type: `urn:distillery:problem:${type}`, status });
  expect(body.detail).toMatch(detail);
}

describe('requests refused before routing', () => {
  it('a path that is not valid percent-encoding: 400 saying which path', async () => {
    const answer = await get('/v1/models/%ZZ');
    expectProblem(answer, 400, 'bad-request', /\/v1\/models\/%ZZ.*percent-encod/);
    expect(answer.headers['x-request-id']).toBeTruthy();
  });

  it('a path parameter longer than the router reads: 414 naming the limit', async () => {
    expectProblem(await get(`/v1/models/${'x'.repeat(5000)}`), 414, 'uri-too-long', /longer than 100 characters/);
  });

  it('headers larger than the server reads: 431 saying what to shorten', async () => {
    expectProblem(await get('/v1/models', `x-routing-key: ${'k'.repeat(20_000)}\r\n`), 431, 'headers-too-large', /headers.*larger/);
  });

  it('a request that is not HTTP: 400', async () => {
    expectProblem(await raw('NOT HTTP AT ALL\r\n\r\n'), 400, 'bad-request', /not a valid HTTP\/1.1 request/);
  });
});

describe('a request that never arrives in full', () => {
  it('a body that stops coming: 408 after REQUEST_TIMEOUT_MS, and the connection is closed', async () => {
    // Its own server: a 1 s limit, where the default is 30 s.
    const slow = await buildApp({ config: { server: loadServerConfig(new EnvReader({ REQUEST_TIMEOUT_MS: '1000' })) }, engine: noEngine, metrics });
    try {
      await slow.listen({ host: '127.0.0.1', port: 0 });
      const address = slow.server.address();
      const slowPort = typeof address === 'object' && address ? address.port : 0;
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect({ host: '127.0.0.1', port: slowPort });
        let text = '';
        socket.setEncoding('utf8').on('data', (c: string) => (text += c));
        socket.on('error', reject);
        socket.on('close', () => resolve(text));
        // Headers promise 100 bytes; 7 come, then nothing.
        socket.write('POST /v1/qa HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"a":1}');
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toMatch(/request-timeout/);
      // Closed by the server well before any of Node's own longer limits.
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await slow.close();
    }
  }, 30_000);
});

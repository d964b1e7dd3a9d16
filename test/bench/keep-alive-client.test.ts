import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePost, KeepAliveConnection, parseResponseHead } from '../../bench/serving/keep-alive-client.js';

describe('parseResponseHead', () => {
  it('frames an answer by its Content-Length, headers in any case', () => {
    const head = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCONTENT-LENGTH: 17\r\nConnection: keep-alive';
    expect(parseResponseHead(head)).toEqual({ status: 200, total: head.length + 4 + 17, close: false });
  });

  it('says when the server will close the connection', () => {
    expect(parseResponseHead('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close')).toMatchObject({ status: 503, close: true });
  });

  it('refuses chunked answers, answers without a length, and what is not HTTP/1.x', () => {
    expect(parseResponseHead('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked')).toEqual({ error: 'unsupported_framing' });
    expect(parseResponseHead('HTTP/1.1 200 OK\r\ncontent-type: text/plain')).toEqual({ error: 'unsupported_framing' });
    expect(parseResponseHead('SSH-2.0-OpenSSH')).toEqual({ error: 'bad_status_line' });
  });
});

describe('KeepAliveConnection against a real Fastify server', () => {
  let app: FastifyInstance;
  let port: number;
  const sockets = new Set<string>();

  beforeAll(async () => {
    app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
    app.addHook('onRequest', async (request) => {
      sockets.add(`${request.socket.remotePort}`);
    });
    app.post('/echo', async (request) => ({ got: request.body }));
    app.post('/teapot', async (_request, reply) => reply.code(418).send({ detail: 'no' }));
    app.post('/close', async (_request, reply) => reply.header('connection', 'close').send({ bye: true }));
    app.post('/chunked', (_request, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/plain' });
      reply.raw.write('a');
      reply.raw.end('b');
    });
    app.post('/slow', async () => new Promise((resolve) => setTimeout(() => resolve({ late: true }), 2_000)));
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await app.close();
  });

  const post = (path: string, body: object) => encodePost({ authority: `127.0.0.1:${port}`, path, body: Buffer.from(JSON.stringify(body)) });

  it('sends many requests over one connection and reads each answer whole', async () => {
    sockets.clear();
    const connection = new KeepAliveConnection({ host: '127.0.0.1', port, timeoutMs: 5_000 });
    // A body large enough to arrive in several reads.
    const text = 'x'.repeat(200_000);
    for (let i = 0; i < 5; i++) expect(await connection.send(post('/echo', { i, text }))).toEqual({ ok: true });
    connection.close();
    expect(sockets.size).toBe(1);
  });

  it('counts other statuses by their code and keeps the connection', async () => {
    sockets.clear();
    const connection = new KeepAliveConnection({ host: '127.0.0.1', port, timeoutMs: 5_000 });
    expect(await connection.send(post('/teapot', {}))).toEqual({ ok: false, error: '418' });
    expect(await connection.send(post('/nowhere', {}))).toEqual({ ok: false, error: '404' });
    expect(await connection.send(post('/echo', {}))).toEqual({ ok: true });
    connection.close();
    expect(sockets.size).toBe(1);
  });

  it('reconnects after the server closes the connection', async () => {
    sockets.clear();
    const connection = new KeepAliveConnection({ host: '127.0.0.1', port, timeoutMs: 5_000 });
    expect(await connection.send(post('/close', {}))).toEqual({ ok: true });
    expect(await connection.send(post('/echo', {}))).toEqual({ ok: true });
    connection.close();
    expect(sockets.size).toBe(2);
  });

  it('fails an answer it cannot frame, then works again on a new connection', async () => {
    const connection = new KeepAliveConnection({ host: '127.0.0.1', port, timeoutMs: 5_000 });
    expect(await connection.send(post('/chunked', {}))).toEqual({ ok: false, error: 'unsupported_framing' });
    expect(await connection.send(post('/echo', {}))).toEqual({ ok: true });
    connection.close();
  });

  it('times a silent server out, and reports a refused connection by its code', async () => {
    const slow = new KeepAliveConnection({ host: '127.0.0.1', port, timeoutMs: 200 });
    expect(await slow.send(post('/slow', {}))).toEqual({ ok: false, error: 'TIMEOUT' });
    slow.close();

    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = new KeepAliveConnection({ host: '127.0.0.1', port: freePort, timeoutMs: 1_000 });
    expect(await refused.send(post('/echo', {}))).toEqual({ ok: false, error: 'ECONNREFUSED' });
  });

  it('refuses a second request while one is in flight', async () => {
    const connection = new KeepAliveConnection({ host: '127.0.0.1', port, timeoutMs: 5_000 });
    const first = connection.send(post('/echo', { n: 1 }));
    expect(await connection.send(post('/echo', { n: 2 }))).toEqual({ ok: false, error: 'busy' });
    expect(await first).toEqual({ ok: true });
    connection.close();
  });
});

describe('KeepAliveConnection against a raw TCP server', () => {
  /** A server that answers each request's bytes with `answer(n)` (n: requests so far on the socket), written piece by piece. */
  async function rawServer(answer: (n: number) => string[]): Promise<{ port: number; close(): Promise<void> }> {
    const server = net.createServer((socket) => {
      let n = 0;
      socket.on('data', async () => {
        for (const piece of answer(n++)) {
          socket.write(piece);
          await new Promise((r) => setTimeout(r, 5));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
  const request = encodePost({ authority: 'test', path: '/', body: Buffer.from('{}') });

  it('reads an answer whose header block, even its blank line, arrives split over reads', async () => {
    const server = await rawServer(() => ['HTTP/1.1 200 OK\r\nContent-Le', 'ngth: 2\r\n\r', '\n', '{', '}']);
    const connection = new KeepAliveConnection({ host: '127.0.0.1', port: server.port, timeoutMs: 2_000 });
    expect(await connection.send(request)).toEqual({ ok: true });
    expect(await connection.send(request)).toEqual({ ok: true });
    connection.close();
    await server.close();
  });

  it('fails an answer without a length, and bytes past the answer, instead of guessing', async () => {
    const noLength = await rawServer(() => ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello']);
    const a = new KeepAliveConnection({ host: '127.0.0.1', port: noLength.port, timeoutMs: 2_000 });
    expect(await a.send(request)).toEqual({ ok: false, error: 'unsupported_framing' });
    a.close();
    await noLength.close();

    const extra = await rawServer(() => ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n']);
    const b = new KeepAliveConnection({ host: '127.0.0.1', port: extra.port, timeoutMs: 2_000 });
    expect(await b.send(request)).toEqual({ ok: false, error: 'unexpected_data' });
    b.close();
    await extra.close();
  });
});

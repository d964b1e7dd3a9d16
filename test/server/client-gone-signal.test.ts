/**
 * ClientGoneSignal on real Node HTTP responses: it fires once when the client hangs up before the
 * answer is written, never after a normal answer, and a listener removed before then is not
 * called. RequestControl reads it as it reads an AbortSignal.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestControl } from '../../src/inference/batching/request-control.js';
import { RequestAbortedError } from '../../src/inference/errors.js';
import { ClientGoneSignal } from '../../src/server/request-work.js';

let server: http.Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server whose handler hands each response's signal to `onRequest`; returns its port. */
async function serve(onRequest: (signal: ClientGoneSignal, res: http.ServerResponse) => void): Promise<number> {
  const s = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => onRequest(new ClientGoneSignal(res), res));
  });
  server = s;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
}

/** Sends a POST and destroys the socket once the server has the request. */
function hangUp(port: number, received: Promise<unknown>): void {
  const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/' });
  req.on('error', () => {});
  req.end('{}');
  void received.then(() => req.destroy());
}

describe('ClientGoneSignal', () => {
  it('fires once, to every listener, when the client hangs up before the answer', async () => {
    let received!: () => void;
    const gotRequest = new Promise<void>((r) => (received = r));
    const fired: string[] = [];
    let signal!: ClientGoneSignal;
    const aborted = new Promise<void>((resolve) => {
      void serve((s) => {
        signal = s;
        expect(s.aborted).toBe(false);
        s.addEventListener('abort', () => fired.push('first'));
        s.addEventListener('abort', () => {
          fired.push('second');
          resolve();
        });
        received();
      }).then((port) => hangUp(port, gotRequest));
    });
    await aborted;
    expect(signal.aborted).toBe(true);
    expect(fired).toEqual(['first', 'second']);
  });

  it('does not fire after a normal answer, and a removed listener is not called', async () => {
    let closed!: () => void;
    const responseClosed = new Promise<void>((r) => (closed = r));
    const calls: string[] = [];
    let signal!: ClientGoneSignal;
    const port = await serve((s, res) => {
      signal = s;
      const removed = () => calls.push('removed');
      s.addEventListener('abort', () => calls.push('kept'));
      s.addEventListener('abort', removed);
      s.removeEventListener('abort', removed);
      res.on('close', () => setImmediate(closed));
      res.end('ok');
    });
    const body = await (await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' })).text();
    expect(body).toBe('ok');
    await responseClosed;
    expect(signal.aborted).toBe(false);
    expect(calls).toEqual([]);
  });

  it('cancels a RequestControl when the client hangs up, and is already aborted for a destroyed response', async () => {
    let received!: () => void;
    const gotRequest = new Promise<void>((r) => (received = r));
    let late!: ClientGoneSignal;
    const reason = new Promise<Error>((resolve) => {
      void serve((s, res) => {
        const control = new RequestControl(60_000, s);
        control.onCancel(resolve);
        res.on('close', () => {
          late = new ClientGoneSignal(res);
        });
        received();
      }).then((port) => hangUp(port, gotRequest));
    });
    expect(await reason).toBeInstanceOf(RequestAbortedError);
    await new Promise((r) => setImmediate(r));
    expect(late.aborted).toBe(true);
    // A listener added after the client left is never called (the request is refused up front).
    let called = false;
    late.addEventListener('abort', () => (called = true));
    expect(called).toBe(false);
  });
});

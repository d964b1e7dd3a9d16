/**
 * The deadline and cancellation signal of one inference request, handed to the engine so it can
 * drop work that nobody will read: a deadline that passed (504), or a client that hung up.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CancelSignal } from '../inference/batching/request-control.js';
import { RequestValidationError } from './problems.js';
import { DEADLINE_HEADER, MODEL_VERSION_HEADER, ROUTING_KEY_HEADER } from './schemas/work.js';
import type { WorkOptions } from './engine.js';

export interface DeadlineLimits {
  maxDeadlineMs: number;
}

/**
 * Deadline from x-request-deadline-ms, bounded by MAX_DEADLINE_MS. Without the header it is
 * undefined and the engine applies REQUEST_DEADLINE_MS: one default, kept where the work runs.
 */
export function deadlineOf(request: FastifyRequest, limits: DeadlineLimits): number | undefined {
  const raw = request.headers[DEADLINE_HEADER];
  if (raw === undefined) return undefined;
  const text = (Array.isArray(raw) ? raw[0] : raw) ?? '';
  const value = /^[0-9]{1,10}$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isInteger(value) || value < 1 || value > limits.maxDeadlineMs) {
    throw new RequestValidationError([
      {
        field: `headers/${DEADLINE_HEADER}`,
        message: `must be a whole number of milliseconds from 1 to ${limits.maxDeadlineMs} (server setting MAX_DEADLINE_MS)`,
      },
    ]);
  }
  return value;
}

/**
 * Fires when the client goes away before the response is written.
 *
 * request.raw's 'close' cannot be used: Node emits it as soon as the body has been read. The
 * response's 'close' fires on disconnect, and also after a normal finish, which
 * writableFinished tells apart.
 *
 * A CancelSignal, not an AbortSignal: every inference request makes one, and an AbortController
 * with its EventTarget costs several microseconds of CPU per request on Node 20, where this costs
 * one 'close' listener (docs/benchmarks.md, the request path).
 */
export class ClientGoneSignal implements CancelSignal {
  private gone = false;
  private listeners: Array<() => void> = [];

  constructor(private readonly res: ServerResponse) {
    if (res.destroyed) this.onClose();
    else res.once('close', this.onClose);
  }

  get aborted(): boolean {
    return this.gone;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.gone) return;
    this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.listeners.indexOf(listener);
    if (at >= 0) this.listeners.splice(at, 1);
  }

  private readonly onClose = (): void => {
    if (this.res.writableFinished || this.gone) return;
    this.gone = true;
    // Once, like an AbortSignal's 'abort'.
    for (const listener of this.listeners.splice(0)) listener();
  };
}

export function workOptions(request: FastifyRequest, reply: FastifyReply, limits: DeadlineLimits): WorkOptions & { routingKey?: string } {
  const deadlineMs = deadlineOf(request, limits);
  const key = request.headers[ROUTING_KEY_HEADER];
  const routingKey = Array.isArray(key) ? key[0] : key;
  return {
    ...(deadlineMs === undefined ? {} : { deadlineMs }),
    ...(routingKey ? { routingKey } : {}),
    signal: new ClientGoneSignal(reply.raw),
  };
}

/** Say which version answered, in the header as well as the body (proxies and logs see headers). */
export async function answeredBy<T extends { version: number }>(reply: FastifyReply, result: Promise<T>): Promise<T> {
  const out = await result;
  reply.header(MODEL_VERSION_HEADER, String(out.version));
  return out;
}

/**
 * The deadline and cancellation signal of one inference request, handed to the engine so it can
 * drop work that nobody will read: a deadline that passed (504), or a client that hung up.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
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
 * An AbortSignal that fires when the client goes away before the response is written.
 *
 * request.raw's 'close' cannot be used: Node emits it as soon as the body has been read. The
 * response's 'close' fires on disconnect, and also after a normal finish, which
 * writableFinished tells apart.
 */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
  };
  if (res.destroyed) onClose();
  else res.once('close', onClose);
  return controller.signal;
}

export function workOptions(request: FastifyRequest, reply: FastifyReply, limits: DeadlineLimits): WorkOptions & { routingKey?: string } {
  const deadlineMs = deadlineOf(request, limits);
  const key = request.headers[ROUTING_KEY_HEADER];
  const routingKey = Array.isArray(key) ? key[0] : key;
  return {
    ...(deadlineMs === undefined ? {} : { deadlineMs }),
    ...(routingKey ? { routingKey } : {}),
    signal: clientGoneSignal(reply),
  };
}

/** Say which version answered, in the header as well as the body (proxies and logs see headers). */
export async function answeredBy<T extends { version: number }>(reply: FastifyReply, result: Promise<T>): Promise<T> {
  const out = await result;
  reply.header(MODEL_VERSION_HEADER, String(out.version));
  return out;
}

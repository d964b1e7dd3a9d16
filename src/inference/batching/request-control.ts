/**
 * The life of one request in the engine: its deadline and its caller's AbortSignal. Whichever
 * fires first cancels the request once; listeners (the queue) drop its rows before they cost
 * compute, and the caller's promise rejects at once instead of waiting for a batch.
 */
import { DeadlineExceededError, RequestAbortedError } from '../errors.js';

/**
 * The part of an AbortSignal the engine reads. An AbortSignal is one; so is the server's
 * ClientGoneSignal (server/request-work.ts), which spares every request an AbortController and
 * its EventTarget: 6.6-7.7 µs of CPU per request against 0.3 µs on Node 20 in a micro-benchmark
 * (docs/benchmarks.md, the request path).
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class RequestControl {
  readonly deadlineAt: number;
  private reason: Error | undefined;
  private readonly listeners: Array<(reason: Error) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort = () => this.cancel(new RequestAbortedError());

  constructor(
    readonly deadlineMs: number,
    private readonly signal?: CancelSignal,
    now = performance.now(),
  ) {
    this.deadlineAt = now + deadlineMs;
    if (signal?.aborted) {
      this.reason = new RequestAbortedError();
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    this.timer = setTimeout(() => this.cancel(new DeadlineExceededError(deadlineMs)), deadlineMs);
    this.timer.unref?.();
  }

  /** The error the request was cancelled with, if it was. */
  get cancelled(): Error | undefined {
    return this.reason;
  }

  throwIfCancelled(): void {
    if (this.reason) throw this.reason;
  }

  /** Cancel now (first reason wins); expired() checks the clock without waiting for the timer. */
  cancel(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.dispose();
    for (const l of this.listeners.splice(0)) l(reason);
  }

  expired(now = performance.now()): boolean {
    if (!this.reason && now >= this.deadlineAt) this.cancel(new DeadlineExceededError(this.deadlineMs));
    return this.reason !== undefined;
  }

  onCancel(listener: (reason: Error) => void): void {
    if (this.reason) listener(this.reason);
    else this.listeners.push(listener);
  }

  /** Stop the timer and the abort listener once the request is answered. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}

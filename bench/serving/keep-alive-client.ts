/**
 * The load generator's HTTP/1.1 client: one keep-alive TCP connection, one request at a time,
 * requests written as pre-encoded bytes and answers framed by their Content-Length, nothing else.
 *
 * Why not node:http: on 2 cores the load generator's CPU is taken from the server it measures.
 * Near the rate our server answers with the model (1600-1800 req/s over 64 connections), node:http
 * cost the client 0.15-0.17 ms of CPU per request, undici 6 0.06-0.18, this client 0.03-0.06 (a
 * side-by-side script against a Fastify server answering a constant after 35 ms;
 * docs/benchmarks.md, the serving bench). Every server the bench measures is Fastify, which frames
 * its JSON answers to POSTs with Content-Length; an answer framed any other way (chunked, closed
 * to end it, or a bodiless 1xx, 204 or 304) is counted as an error with its own code rather than
 * parsed, so it cannot go unnoticed. A server that closes a kept-alive connection without saying
 * so fails the next request on it ('closed'), which is counted, not retried.
 */
import net from 'node:net';

/** What one request came to: a 200, another status, or a transport failure. */
export interface Outcome {
  ok: boolean;
  /** The status code for non-200 answers, or a code for a transport or framing failure. */
  error?: string;
}

export interface KeepAliveOptions {
  host: string;
  port: number;
  /** A request not answered this long after the connection's last activity fails with TIMEOUT. */
  timeoutMs: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** The bytes of one POST with a JSON body, to send as they are; `authority` is the Host header (`127.0.0.1:8080`). */
export function encodePost(opts: { authority: string; path: string; body: Buffer }): Buffer {
  const head = `POST ${opts.path} HTTP/1.1\r\nHost: ${opts.authority}\r\n` + `Content-Type: application/json\r\nContent-Length: ${opts.body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), opts.body]);
}

interface Framing {
  status: number;
  /** Header and body bytes together. */
  total: number;
  close: boolean;
}

/** Status and length of an answer from its header block, or the code of why it cannot be framed. */
export function parseResponseHead(head: string): Framing | { error: string } {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!match) return { error: 'bad_status_line' };
  const lower = head.toLowerCase();
  if (/\r\ntransfer-encoding:/.test(lower)) return { error: 'unsupported_framing' };
  const length = /\r\ncontent-length: *(\d+)/.exec(lower);
  if (!length) return { error: 'unsupported_framing' };
  return { status: Number(match[1]), total: head.length + HEADER_END.length + Number(length[1]), close: /\r\nconnection: *close/.test(lower) };
}

/** One keep-alive connection; reconnects on its own after the server closes it or a failure. */
export class KeepAliveConnection {
  private socket: net.Socket | undefined;
  private chunks: Buffer[] = [];
  private received = 0;
  private framing: Framing | undefined;
  private pending: ((outcome: Outcome) => void) | undefined;

  constructor(private readonly opts: KeepAliveOptions) {}

  /** Sends one encoded request and resolves with its outcome; never rejects. One at a time. */
  send(request: Buffer): Promise<Outcome> {
    if (this.pending) return Promise.resolve({ ok: false, error: 'busy' });
    return new Promise((resolve) => {
      this.pending = resolve;
      this.connection().write(request);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connection(): net.Socket {
    if (this.socket) return this.socket;
    const socket = net.connect({ host: this.opts.host, port: this.opts.port, noDelay: true });
    socket.setTimeout(this.opts.timeoutMs);
    socket.on('data', (data) => this.receive(data));
    socket.on('timeout', () => this.fail(socket, 'TIMEOUT'));
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(socket, err.code ?? 'socket_error'));
    socket.on('close', () => this.fail(socket, 'closed'));
    this.socket = socket;
    return socket;
  }

  private receive(data: Buffer): void {
    if (!this.pending) {
      this.fail(this.socket, 'unexpected_data');
      return;
    }
    this.chunks.push(data);
    this.received += data.length;
    if (!this.framing) {
      const buffered = this.chunks.length === 1 ? data : Buffer.concat(this.chunks);
      this.chunks = [buffered];
      const end = buffered.indexOf(HEADER_END);
      if (end < 0) return;
      const framing = parseResponseHead(buffered.toString('latin1', 0, end));
      if ('error' in framing) {
        this.fail(this.socket, framing.error);
        return;
      }
      this.framing = framing;
    }
    if (this.received < this.framing.total) return;
    // One request at a time: bytes past this answer mean the server sent something unasked.
    if (this.received > this.framing.total) {
      this.fail(this.socket, 'unexpected_data');
      return;
    }
    const { status, close } = this.framing;
    this.reset();
    if (close) this.close();
    const resolve = this.pending;
    this.pending = undefined;
    resolve(status === 200 ? { ok: true } : { ok: false, error: String(status) });
  }

  /** Fails the request in flight (if any) and drops the connection; the next send reconnects. */
  private fail(socket: net.Socket | undefined, code: string): void {
    if (socket !== this.socket) return;
    this.close();
    this.reset();
    const resolve = this.pending;
    this.pending = undefined;
    resolve?.({ ok: false, error: code });
  }

  private reset(): void {
    this.chunks = [];
    this.received = 0;
    this.framing = undefined;
  }
}

import net from 'node:net';

/**
 * A raw HTTP/1.1 client on one kept-alive connection: byte-exact requests
 * written as they are, responses framed by hand (length, chunked, close,
 * or none for HEAD / 1xx / 204 / 304), one after another, so pipelining,
 * stray bytes and who closed the connection, and when, can be asserted.
 * For a one-shot exchange that only needs the statuses that came back, see
 * sendRaw in test/hostile/raw-client.ts.
 */

export interface RawResponse {
  status: number;
  /** Status line and fields as received (latin1, without the blank line). */
  head: string;
  /** [name as sent, value] in order. */
  fields: [string, string][];
  /** Lower-cased names; repeated fields joined with ', ' (set-cookie: '\n'). */
  headers: Record<string, string>;
  body: Buffer;
  /** How the body was framed: 'none' | 'length' | 'chunked' | 'close'. */
  framing: string;
}

export class RawConn {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  /** Date.now() when the gateway closed the connection (or it errored). */
  closedAt: number | null = null;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedAt = Date.now();
        this.wake?.();
        resolve();
      }),
    );
  }

  static open(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawConn(socket));
      });
      socket.once('error', reject);
    });
  }

  write(bytes: string | Buffer): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Bytes received and not consumed by response(). */
  get pending(): string {
    return this.buf.toString('latin1');
  }

  /** Waits (bounded) until `take` returns something, re-trying at each new chunk and at close. */
  private async until<T>(take: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = take();
      if (got !== undefined) return got;
      const left = deadline - Date.now();
      if (this.closedAt !== null || left <= 0) {
        const state = this.closedAt !== null ? 'connection closed' : `no ${what} within ${timeoutMs} ms`;
        throw new Error(`${state}; unread: ${JSON.stringify(this.pending.slice(0, 300))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  /** The next response; `headRequest`: it answers a HEAD (no body whatever the fields say). */
  response(opts: { headRequest?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    return this.until(() => this.takeResponse(opts.headRequest ?? false), 'response', opts.timeoutMs ?? 5000);
  }

  /** Resolves when the gateway closes the connection, or rejects after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closed,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`still open after ${timeoutMs} ms`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    return this.closedAt!;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private takeResponse(headRequest: boolean): RawResponse | undefined {
    const blank = this.buf.indexOf('\r\n\r\n');
    if (blank < 0) return undefined;
    const head = this.buf.toString('latin1', 0, blank);
    const [statusLine, ...lines] = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine);
    if (!m) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const status = Number(m[1]);
    const fields = lines.map((l): [string, string] => {
      const colon = l.indexOf(':');
      return [l.slice(0, colon), l.slice(colon + 1).trim()];
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of fields) {
      const key = name.toLowerCase();
      headers[key] = headers[key] === undefined ? value : `${headers[key]}${key === 'set-cookie' ? '\n' : ', '}${value}`;
    }
    let at = blank + 4;
    let body: Buffer;
    let framing: string;
    if (headRequest || status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0);
      framing = 'none';
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      for (;;) {
        const eol = this.buf.indexOf('\r\n', at);
        if (eol < 0) return undefined;
        const size = parseInt(this.buf.toString('latin1', at, eol), 16);
        if (Number.isNaN(size)) throw new Error(`bad chunk size at ${JSON.stringify(this.buf.toString('latin1', at, at + 20))}`);
        if (size === 0) {
          // No trailers expected: the last chunk is followed by the blank line.
          if (this.buf.length < eol + 4) return undefined;
          at = eol + 4;
          break;
        }
        if (this.buf.length < eol + 2 + size + 2) return undefined;
        parts.push(this.buf.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
      }
      body = Buffer.concat(parts);
      framing = 'chunked';
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (this.buf.length < at + n) return undefined;
      body = Buffer.from(this.buf.subarray(at, at + n));
      at += n;
      framing = 'length';
    } else {
      if (this.closedAt === null) return undefined;
      body = Buffer.from(this.buf.subarray(at));
      at = this.buf.length;
      framing = 'close';
    }
    this.buf = this.buf.subarray(at);
    return { status, head, fields, headers, body, framing };
  }
}

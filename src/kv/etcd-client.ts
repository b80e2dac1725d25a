import http from 'node:http';
import https from 'node:https';

/**
 * A small etcd v3 client on the JSON gateway every etcd since 3.4 serves on
 * its client port (`/v3/kv/*`, `/v3/watch`, `/v3/lease/*`,
 * `/v3/auth/authenticate`): plain HTTP/1.1, keys and values in base64, so no
 * gRPC stack is needed for the few calls the etcd provider (reading, watching)
 * and the shared ACME storage (writing, leases, transactions) make.
 * Endpoints are tried in turn: a failed call moves to the next one.
 */
export interface ClientTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

export interface EtcdClientOptions {
  endpoints: string[];
  username?: string;
  password?: string;
  tls?: ClientTlsOptions;
}

export interface EtcdEvent {
  type: 'PUT' | 'DELETE';
  key: string;
  value: string;
}

export interface EtcdWatch {
  /** Settles when the watch ends: the server closed it, the connection dropped, or close() was called. */
  ended: Promise<void>;
  /** Ends the watch; `reason` is what `ended` rejects with. */
  close(reason?: string): void;
}

interface RawKv {
  key?: string;
  value?: string;
}

const CALL_TIMEOUT_MS = 5000;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** The end of the range of keys starting with `prefix` (etcd's prefix convention: last byte plus one). */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      bytes[i]++;
      return bytes.subarray(0, i + 1).toString('base64');
    }
  }
  return b64('\0');
}

export class EtcdClient {
  private current = 0;
  private token?: string;
  private readonly open = new Set<http.ClientRequest>();

  constructor(private readonly opts: EtcdClientOptions) {}

  get endpoint(): string {
    return this.base(this.opts.endpoints[this.current]);
  }

  /** Every key below `prefix` (with `keysOnly`, values empty), and the store revision the listing is consistent with. */
  async range(prefix: string, keysOnly = false): Promise<{ revision: number; pairs: [string, string][] }> {
    const res = (await this.call('/v3/kv/range', { key: b64(prefix), range_end: prefixEnd(prefix), ...(keysOnly ? { keys_only: true } : {}) })) as { header?: { revision?: string }; kvs?: RawKv[] };
    return { revision: Number(res.header?.revision ?? 0), pairs: (res.kvs ?? []).map((kv) => [unb64(kv.key), unb64(kv.value)]) };
  }

  async get(key: string): Promise<string | undefined> {
    const res = (await this.call('/v3/kv/range', { key: b64(key) })) as { kvs?: RawKv[] };
    return res.kvs?.length ? unb64(res.kvs[0].value) : undefined;
  }

  /** Writes `key`; with `lease`, the key is deleted when that lease expires or is revoked. */
  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.call('/v3/kv/put', { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) });
  }

  /** Writes `key` unless it exists, in one transaction; true when this call wrote it. */
  async create(key: string, value: string, lease?: string): Promise<boolean> {
    const res = (await this.call('/v3/kv/txn', {
      compare: [{ key: b64(key), target: 'CREATE', result: 'EQUAL', create_revision: '0' }],
      success: [{ request_put: { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) } }],
    })) as { succeeded?: boolean };
    // The gateway leaves false fields out.
    return res.succeeded === true;
  }

  async delete(key: string): Promise<void> {
    await this.call('/v3/kv/deleterange', { key: b64(key) });
  }

  /** A new lease of `ttlSeconds` (etcd may raise a very short one to its minimum); its id. */
  async grant(ttlSeconds: number): Promise<string> {
    const res = (await this.call('/v3/lease/grant', { TTL: String(ttlSeconds) })) as { ID?: string };
    if (!res.ID) throw new Error(`${this.endpoint}: lease grant answered no id`);
    return res.ID;
  }

  /** Restarts the lease's time to live; false when it has already expired (its keys are gone). */
  async keepAlive(lease: string): Promise<boolean> {
    const res = (await this.call('/v3/lease/keepalive', { ID: lease })) as { result?: { TTL?: string } };
    return Number(res.result?.TTL ?? 0) > 0;
  }

  /** Ends the lease at once, deleting the keys attached to it. */
  async revoke(lease: string): Promise<void> {
    await this.call('/v3/lease/revoke', { ID: lease });
  }

  /** Answers when the current endpoint serves reads (a count of the keys below `prefix`, nothing transferred). */
  async alive(prefix: string): Promise<void> {
    await this.call('/v3/kv/range', { key: b64(prefix), range_end: prefixEnd(prefix), count_only: true });
  }

  /**
   * Streams the changes below `prefix` from `fromRevision` on. A compacted
   * start revision ends the watch with an error: the caller lists again.
   */
  async watch(prefix: string, fromRevision: number, onEvents: (events: EtcdEvent[]) => void): Promise<EtcdWatch> {
    await this.authenticate();
    const body = JSON.stringify({ create_request: { key: b64(prefix), range_end: prefixEnd(prefix), start_revision: String(fromRevision) } });
    const req = this.request('/v3/watch', body);
    const ended = new Promise<void>((resolve, reject) => {
      let buffered = '';
      const fail = (err: Error): void => {
        req.destroy();
        reject(err);
      };
      req.on('error', (err) => fail(this.failed(err)));
      // Destroyed without an error (close(), or a probe that found the endpoint gone).
      req.on('close', () => fail(new Error(`${this.endpoint}: watch closed`)));
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          if (res.statusCode === 401) this.token = undefined;
          fail(new Error(`${this.endpoint}: watch answered ${res.statusCode}`));
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line === '') continue;
            const err = this.watchMessage(line, onEvents);
            if (err) return fail(err);
          }
        });
        res.on('end', () => fail(new Error(`${this.endpoint}: watch stream closed`)));
        res.on('error', (err) => fail(this.failed(err)));
      });
      req.end(body);
    });
    return { ended, close: (reason) => req.destroy(reason ? new Error(reason) : undefined) };
  }

  /** Aborts every call in flight. */
  close(): void {
    for (const req of this.open) req.destroy();
  }

  private watchMessage(line: string, onEvents: (events: EtcdEvent[]) => void): Error | undefined {
    let msg: { result?: { canceled?: boolean; cancel_reason?: string; compact_revision?: string; events?: { type?: string; kv?: RawKv }[] }; error?: { message?: string } };
    try {
      msg = JSON.parse(line);
    } catch {
      return new Error(`${this.endpoint}: unreadable watch message`);
    }
    if (msg.error) return new Error(`${this.endpoint}: watch failed: ${msg.error.message ?? 'unknown error'}`);
    const r = msg.result ?? {};
    if (r.canceled) return new Error(`${this.endpoint}: watch canceled: ${r.compact_revision ? `revision compacted (${r.compact_revision})` : (r.cancel_reason ?? 'no reason given')}`);
    const events = (r.events ?? []).map((e): EtcdEvent => ({ type: e.type === 'DELETE' ? 'DELETE' : 'PUT', key: unb64(e.kv?.key), value: unb64(e.kv?.value) }));
    if (events.length) onEvents(events);
    return undefined;
  }

  private async authenticate(): Promise<void> {
    if (this.opts.username === undefined || this.token) return;
    const res = (await this.post('/v3/auth/authenticate', { name: this.opts.username, password: this.opts.password ?? '' })) as { token?: string };
    if (!res.token) throw new Error(`${this.endpoint}: authentication answered no token`);
    this.token = res.token;
  }

  private async call(path: string, body: unknown): Promise<unknown> {
    await this.authenticate();
    return this.post(path, body);
  }

  private post(path: string, body: unknown): Promise<unknown> {
    const text = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = this.request(path, text, CALL_TIMEOUT_MS);
      req.on('error', (err) => reject(this.failed(err)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(this.failed(err)));
        res.on('end', () => {
          let parsed: { error?: string; message?: string } | undefined;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            parsed = undefined;
          }
          if (res.statusCode === 200 && parsed) return resolve(parsed);
          // An expired token is answered 401: the next call authenticates again.
          if (res.statusCode === 401) this.token = undefined;
          reject(new Error(`${this.endpoint}${path}: ${res.statusCode} ${parsed?.message ?? parsed?.error ?? 'unreadable answer'}`));
        });
      });
      req.end(text);
    });
  }

  private request(path: string, body: string, timeoutMs?: number): http.ClientRequest {
    const url = new URL(path, this.endpoint);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (this.token) headers.authorization = this.token;
    const options: https.RequestOptions = { method: 'POST', headers, agent: false, ...(this.opts.tls ?? {}) };
    const req = (url.protocol === 'https:' ? https : http).request(url, options);
    this.open.add(req);
    req.on('close', () => this.open.delete(req));
    req.on('socket', (s) => s.setKeepAlive(true, 10_000));
    if (timeoutMs) req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    return req;
  }

  /** A connection-level failure: the next call goes to the next endpoint. */
  private failed(err: Error): Error {
    const at = this.endpoint;
    this.current = (this.current + 1) % this.opts.endpoints.length;
    return new Error(`${at}: ${err.message}`);
  }

  private base(endpoint: string): string {
    if (/^https?:\/\//i.test(endpoint)) return endpoint;
    return `${this.opts.tls ? 'https' : 'http'}://${endpoint}`;
  }
}

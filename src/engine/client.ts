import * as http from 'node:http';
import { PortierError } from '../errors';

/** A small client of the engine's socket API, for the CLI. */
export class EngineClient {
  constructor(readonly socketPath: string) {}

  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await this.open(method, path, body);
    let text = '';
    for await (const chunk of res) text += chunk;
    const parsed = text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
    if ((res.statusCode ?? 500) >= 400) {
      const message = (parsed as { message?: string } | undefined)?.message ?? `HTTP ${res.statusCode}`;
      throw new PortierError('ENGINE', message, { status: res.statusCode });
    }
    return parsed as T;
  }

  /** Calls `onLine` with each line of a streaming answer until it ends or `signal` aborts. */
  async stream(path: string, onLine: (line: string) => void, signal?: AbortSignal): Promise<void> {
    const res = await this.open('GET', path, undefined, signal);
    if ((res.statusCode ?? 500) >= 400) {
      let text = '';
      for await (const chunk of res) text += chunk;
      throw new PortierError('ENGINE', (JSON.parse(text) as { message: string }).message, { status: res.statusCode });
    }
    let rest = '';
    try {
      for await (const chunk of res) {
        const lines = (rest + String(chunk)).split('\n');
        rest = lines.pop() ?? '';
        lines.forEach(onLine);
      }
    } catch (err) {
      if (!signal?.aborted) throw err;
    }
  }

  private open(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        { socketPath: this.socketPath, path, method, signal, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
        (res) => {
          res.setEncoding('utf8');
          resolve(res);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          reject(new PortierError('ENGINE', `no engine is running at ${this.socketPath}: start one with \`portier\` or \`portier engine\`, or point --engine-socket / PORTIER_ENGINE_SOCKET at it`));
        } else reject(err);
      });
      req.end(payload);
    });
  }
}

import type { OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http';
import { checkField } from '../proxy/field-names';
import { noBodyStatus } from './node-response';

/**
 * What the responses of Portier's own front ends share (DirectResponse for
 * HTTP/1.1, H2Response for HTTP/2 streams): the part of Node's
 * ServerResponse a plain route uses (the balancer, the upstream client,
 * error answers, observers), with the same meaning. Subclasses decide how
 * the head and the body go out.
 * Events: `drain` when the client can take more, `close` once, when the
 * response is done or the client went away first (then
 * `writableFinished` is false).
 */
export abstract class PlainResponse {
  statusCode = 200;
  statusMessage = '';
  headersSent = false;
  writableFinished = false;
  /** Body bytes written (framing excluded). */
  bodyBytes = 0;
  /**
   * The upstream's fields as its parser gave them (name, value, …), taken
   * whole by receiveAll: most responses are written from this list and
   * never need the Map.
   */
  protected received: readonly string[] | null = null;
  private map: Map<string, OutgoingHttpHeader> | null = null;
  protected closed = false;
  private closeListeners: (() => void)[] | null = null;
  private drainListeners: (() => void)[] | null = null;

  constructor(private readonly headRequest: boolean) {}

  /**
   * The two events there are, without an EventEmitter (whose set-up and
   * bookkeeping showed in the profile of every request). `close` fires
   * once and a `drain` listener fires at most once, so `once` is `on`.
   */
  on(event: 'close' | 'drain', listener: () => void): this {
    if (event === 'close') (this.closeListeners ??= []).push(listener);
    else if (event === 'drain') {
      (this.drainListeners ??= []).push(listener);
      this.awaitDrain();
    } else throw new Error(`a ${this.constructor.name} has no ${JSON.stringify(event)} event`);
    return this;
  }

  once(event: 'close' | 'drain', listener: () => void): this {
    return this.on(event, listener);
  }

  off(event: 'close' | 'drain', listener: () => void): this {
    const list = event === 'close' ? this.closeListeners : this.drainListeners;
    const i = list ? list.indexOf(listener) : -1;
    if (i >= 0) list!.splice(i, 1);
    return this;
  }

  /** A `drain` listener was added: a subclass that learns of drains only on request asks for the next one. */
  protected awaitDrain(): void {}

  /** The client can take more: each waiting listener runs, once. */
  drained(): void {
    const listeners = this.drainListeners;
    this.drainListeners = null;
    if (listeners) for (const l of listeners) l();
  }

  /** The client went away, or the response is done: `close`, once. */
  closeOnce(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeListeners) for (const l of this.closeListeners) l();
  }

  /** The fields by name, the truth from the first time anything but receiveAll touches them. */
  protected get fields(): Map<string, OutgoingHttpHeader> {
    if (this.map) return this.map;
    const map = (this.map = new Map<string, OutgoingHttpHeader>());
    const list = this.received;
    this.received = null;
    // Also after the head went out (an access log reads them then): filled here, not through setReceived's guard.
    if (list) for (let i = 0; i < list.length; i += 2) map.set(list[i], joined(map.get(list[i]), list[i + 1]));
    return map;
  }

  /**
   * Takes the upstream's whole field list (from its parser: valid, names
   * lower-cased) when no field is set yet; false when some are, and the
   * caller sets them one by one.
   */
  receiveAll(list: readonly string[]): boolean {
    if (this.headersSent || this.received || (this.map && this.map.size)) return false;
    this.map = null;
    this.received = list;
    return true;
  }

  /** As Node's: an invalid field is refused with Node's error codes. */
  setHeader(name: string, value: OutgoingHttpHeader): this {
    checkField(name, value);
    return this.setReceived(name.toLowerCase(), value);
  }

  /**
   * A field as the upstream response parser admitted it (only valid ones,
   * names lower-cased), or as Portier itself makes it: not checked again.
   */
  setReceived(name: string, value: OutgoingHttpHeader): this {
    if (this.headersSent) throw Object.assign(new Error('Cannot set headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' });
    this.fields.set(name, value);
    return this;
  }

  /** Adds a value to a field (a second value makes it a list, as Node's appendHeader). */
  appendHeader(name: string, value: OutgoingHttpHeader): this {
    checkField(name, value);
    return this.appendReceived(name.toLowerCase(), value);
  }

  /** appendHeader for a field setReceived would take. */
  appendReceived(name: string, value: OutgoingHttpHeader): this {
    return this.setReceived(name, joined(this.fields.get(name), value));
  }

  removeHeader(name: string): void {
    if (this.headersSent) throw Object.assign(new Error('Cannot remove headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' });
    this.fields.delete(name.toLowerCase());
  }

  getHeader(name: string): OutgoingHttpHeader | undefined {
    return this.fields.get(name.toLowerCase());
  }

  getHeaders(): OutgoingHttpHeaders {
    return Object.fromEntries(this.fields);
  }

  /** The end is queued (or the client is gone): nothing more may be written. */
  get writableEnded(): boolean {
    return this.writableFinished || this.closed;
  }

  /**
   * Fields given here come from a middleware's own answer (a redirect's
   * Location, a challenge): checked as Node's writeHead checks them, since
   * they may carry configured or client-derived text.
   */
  writeHead(status: number, reasonOrHeaders?: string | OutgoingHttpHeaders, headers?: OutgoingHttpHeaders): this {
    const fields = typeof reasonOrHeaders === 'object' ? reasonOrHeaders : headers;
    if (typeof reasonOrHeaders === 'string') this.statusMessage = reasonOrHeaders;
    if (fields) {
      for (const name in fields) {
        const value = fields[name];
        if (value !== undefined) this.setHeader(name, value);
      }
    }
    this.statusCode = status;
    return this;
  }

  /** No body goes out: a HEAD request's response, 1xx, 204 and 304. */
  protected get bodyless(): boolean {
    return this.headRequest || noBodyStatus(this.statusCode);
  }

  abstract write(chunk: Buffer | string): boolean;
  abstract end(chunk?: Buffer | string | (() => void)): this;
  abstract destroy(): this;
}

/** A field's value with one more: a second value makes it a list, as Node's appendHeader. */
function joined(prev: OutgoingHttpHeader | undefined, value: OutgoingHttpHeader): OutgoingHttpHeader {
  if (prev === undefined) return value;
  return [...(Array.isArray(prev) ? prev : [String(prev)]), ...(Array.isArray(value) ? value : [String(value)])];
}

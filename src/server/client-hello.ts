/**
 * What the first TLS message of a connection says before any handshake:
 * the server name (SNI) and the application protocols (ALPN) the client
 * asks for. The entrypoint reads it to choose how to serve the connection
 * (terminate here; TCP routers by `HostSNI` and passthrough plug in here).
 */

export interface ClientHello {
  /** Lower-cased, without a trailing dot; '' when the client sent none. */
  serverName: string;
  alpn: string[];
}

export const HELLO_INCOMPLETE = 0;

/** A TLS handshake record: what a connection's first byte is when it starts TLS. */
export const TLS_HANDSHAKE = 0x16;

/** A ClientHello fits in far less; this bounds what a client can make the entrypoint hold before a handshake. */
const MAX_HELLO = 64 * 1024;

export class ClientHelloError extends Error {}

/**
 * Reads the ClientHello from the TLS records at the start of `buf` (it may
 * span several records). Returns HELLO_INCOMPLETE while more bytes are
 * needed; throws ClientHelloError, naming the byte at fault, for anything
 * that is not a ClientHello.
 */
export function readClientHello(buf: Buffer): ClientHello | typeof HELLO_INCOMPLETE {
  const message: Buffer[] = [];
  let have = 0;
  let at = 0;
  let need = -1;
  while (need < 0 || have < need) {
    if (buf.length < at + 5) return incomplete(at);
    if (buf[at] !== TLS_HANDSHAKE) throw new ClientHelloError(`record type ${buf[at]} at byte ${at}, expected a handshake (22)`);
    if (buf[at + 1] !== 3) throw new ClientHelloError(`record version ${buf[at + 1]}.${buf[at + 2]} at byte ${at + 1}`);
    const len = buf.readUInt16BE(at + 3);
    if (len === 0 || len > 16384 + 2048) throw new ClientHelloError(`record length ${len} at byte ${at + 3}`);
    if (buf.length < at + 5 + len) return incomplete(at + 5 + len);
    message.push(buf.subarray(at + 5, at + 5 + len));
    have += len;
    at += 5 + len;
    if (need < 0 && have >= 4) {
      const first = message.length === 1 ? message[0] : Buffer.concat(message);
      if (first[0] !== 1) throw new ClientHelloError(`handshake type ${first[0]} at byte 5, expected ClientHello (1)`);
      need = 4 + first.readUIntBE(1, 3);
      if (need > MAX_HELLO) throw new ClientHelloError(`ClientHello of ${need} bytes, over ${MAX_HELLO}`);
    }
  }
  return parseHello(Buffer.concat(message).subarray(4, need));
}

function incomplete(total: number): typeof HELLO_INCOMPLETE {
  if (total > MAX_HELLO + 64) throw new ClientHelloError(`ClientHello records over ${MAX_HELLO} bytes`);
  return HELLO_INCOMPLETE;
}

/** A bounds-checked reader: every read past the end is the malformed hello's error. */
class Reader {
  constructor(
    private readonly buf: Buffer,
    public at = 0,
  ) {}

  take(n: number, what: string): Buffer {
    if (this.at + n > this.buf.length) throw new ClientHelloError(`ClientHello truncated in ${what} (handshake byte ${this.at})`);
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  u8(what: string): number {
    return this.take(1, what)[0];
  }

  u16(what: string): number {
    return this.take(2, what).readUInt16BE(0);
  }

  /** A length-prefixed field's bytes. */
  bytes(lenBytes: 1 | 2, what: string): Buffer {
    return this.take(lenBytes === 1 ? this.u8(what) : this.u16(what), what);
  }

  vector(lenBytes: 1 | 2, what: string): Reader {
    return new Reader(this.bytes(lenBytes, what));
  }

  get done(): boolean {
    return this.at >= this.buf.length;
  }
}

const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

function parseHello(body: Buffer): ClientHello {
  const r = new Reader(body);
  r.take(2 + 32, 'version and random');
  r.vector(1, 'session id');
  r.vector(2, 'cipher suites');
  r.vector(1, 'compression methods');
  const out: ClientHello = { serverName: '', alpn: [] };
  if (r.done) return out;
  const exts = r.vector(2, 'extensions');
  while (!exts.done) {
    const type = exts.u16('extension type');
    const data = exts.vector(2, 'extension');
    if (type === EXT_SERVER_NAME) out.serverName = serverName(data);
    else if (type === EXT_ALPN) {
      const list = data.vector(2, 'ALPN list');
      while (!list.done) out.alpn.push(list.bytes(1, 'ALPN protocol').toString('latin1'));
    }
  }
  return out;
}

function serverName(data: Reader): string {
  const list = data.vector(2, 'server name list');
  while (!list.done) {
    const kind = list.u8('server name type');
    const name = list.bytes(2, 'server name');
    if (kind === 0) return name.toString('latin1').toLowerCase().replace(/\.$/, '');
  }
  return '';
}

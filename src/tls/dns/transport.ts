/**
 * Sends one DNS message to one server and returns its answer: over UDP,
 * then over TCP when the answer comes back truncated or the message is too
 * large for a datagram (RFC 1035 4.2). Each attempt is bounded by `timeoutMs`.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { errorMessage } from '../../errors';

export interface DnsServer {
  host: string;
  port: number;
}

const UDP_MAX = 512;

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address; port 53 by default. */
export function parseServer(text: string): DnsServer {
  const s = text.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) return { host: bracket[1], port: bracket[2] ? Number(bracket[2]) : 53 };
  if (net.isIPv6(s)) return { host: s, port: 53 };
  const m = /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m || (m[2] && (Number(m[2]) < 1 || Number(m[2]) > 65535))) throw new Error(`expected host or host:port, got ${JSON.stringify(text)}`);
  return { host: m[1], port: m[2] ? Number(m[2]) : 53 };
}

export const formatServer = (s: DnsServer): string => (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`);

export async function exchange(server: DnsServer, wire: Buffer, timeoutMs: number): Promise<Buffer> {
  if (wire.length <= UDP_MAX) {
    const answer = await overUdp(server, wire, timeoutMs);
    // TC: the answer did not fit; ask again over TCP.
    if ((answer.readUInt16BE(2) & 0x0200) === 0) return answer;
  }
  return overTcp(server, wire, timeoutMs);
}

function overUdp(server: DnsServer, wire: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    const id = wire.readUInt16BE(0);
    const done = (err: Error | undefined, answer?: Buffer): void => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => done(new Error(`no answer from ${formatServer(server)} within ${timeoutMs / 1000} s (UDP)`)), timeoutMs);
    socket.on('error', (err) => done(new Error(`DNS server ${formatServer(server)}: ${errorMessage(err)}`)));
    // Anything else that arrives on the port (another id, a stray datagram) is not the answer.
    socket.on('message', (msg, rinfo) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id && rinfo.port === server.port) done(undefined, msg);
    });
    socket.send(wire, server.port, server.host);
  });
}

function overTcp(server: DnsServer, wire: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, server.host);
    let got = Buffer.alloc(0);
    const done = (err: Error | undefined, answer?: Buffer): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => done(new Error(`no answer from ${formatServer(server)} within ${timeoutMs / 1000} s (TCP)`)), timeoutMs);
    socket.on('error', (err) => done(new Error(`DNS server ${formatServer(server)}: ${errorMessage(err)}`)));
    socket.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(wire.length);
      socket.write(Buffer.concat([len, wire]));
    });
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) done(undefined, got.subarray(2, 2 + got.readUInt16BE(0)));
    });
    socket.on('end', () => done(new Error(`DNS server ${formatServer(server)} closed the TCP connection before answering`)));
  });
}

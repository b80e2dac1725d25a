/**
 * TSIG (RFC 8945): a DNS message signed with a shared HMAC key, as BIND,
 * Knot and PowerDNS require for dynamic updates. Signs requests and checks
 * the signature on their responses.
 */
import crypto from 'node:crypto';
import { CLASS, DecodedMessage, encodeName, TYPE } from './wire';

export interface TsigKey {
  /** The key's name, as the server's configuration spells it (`portier-key.`). */
  name: string;
  /** The algorithm's DNS name (`hmac-sha256.`). */
  algorithm: string;
  secret: Buffer;
}

const HASHES: Record<string, string> = {
  'hmac-md5.sig-alg.reg.int': 'md5',
  'hmac-sha1': 'sha1',
  'hmac-sha224': 'sha224',
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
};

export const TSIG_ALGORITHMS = Object.keys(HASHES).map((a) => `${a}.`);

/** The hash behind a TSIG algorithm name (trailing dot optional), or undefined if Portier does not know it. */
export function tsigHash(algorithm: string): string | undefined {
  return HASHES[algorithm.toLowerCase().replace(/\.$/, '')];
}

const TSIG_ERRORS: Record<number, string> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };
export const tsigErrorName = (code: number): string => TSIG_ERRORS[code] ?? `error ${code}`;

const FUDGE = 300;

function time48(seconds: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(Math.floor(seconds / 2 ** 32));
  b.writeUInt32BE(seconds % 2 ** 32, 2);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** The TSIG variables (RFC 8945 4.3.3) a MAC covers after the message. */
function variables(key: TsigKey, signedAt: Buffer, fudge: number, error: number, other: Buffer): Buffer {
  return Buffer.concat([encodeName(key.name, true), u16(CLASS.ANY), Buffer.alloc(4), encodeName(key.algorithm, true), signedAt, u16(fudge), u16(error), u16(other.length), other]);
}

function hmac(key: TsigKey, ...parts: Buffer[]): Buffer {
  const hash = tsigHash(key.algorithm);
  if (!hash) throw new Error(`unknown TSIG algorithm ${JSON.stringify(key.algorithm)}`);
  const h = crypto.createHmac(hash, key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `message` (encoded, without TSIG) with its TSIG record appended; `mac` is what the response's signature covers. */
export function signMessage(message: Buffer, key: TsigKey, now = Date.now()): { wire: Buffer; mac: Buffer } {
  const signedAt = time48(Math.floor(now / 1000));
  const mac = hmac(key, message, variables(key, signedAt, FUDGE, 0, Buffer.alloc(0)));
  const id = message.readUInt16BE(0);
  const rdata = Buffer.concat([encodeName(key.algorithm, true), signedAt, u16(FUDGE), u16(mac.length), mac, u16(id), u16(0), u16(0)]);
  const record = Buffer.concat([encodeName(key.name, true), u16(TYPE.TSIG), u16(CLASS.ANY), Buffer.alloc(4), u16(rdata.length), rdata]);
  const wire = Buffer.concat([message, record]);
  wire.writeUInt16BE(wire.readUInt16BE(10) + 1, 10);
  return { wire, mac };
}

interface TsigFields {
  signedAt: Buffer;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
}

function readTsig(data: Buffer): TsigFields {
  let at = 0;
  // The algorithm name is written uncompressed in TSIG (RFC 8945 4.2).
  while (at < data.length && data[at] !== 0) at += 1 + data[at];
  at += 1;
  const signedAt = data.subarray(at, at + 6);
  const fudge = data.readUInt16BE(at + 6);
  const macLen = data.readUInt16BE(at + 8);
  const mac = data.subarray(at + 10, at + 10 + macLen);
  at += 10 + macLen;
  const originalId = data.readUInt16BE(at);
  const error = data.readUInt16BE(at + 2);
  const otherLen = data.readUInt16BE(at + 4);
  return { signedAt, fudge, mac, originalId, error, other: data.subarray(at + 6, at + 6 + otherLen) };
}

/**
 * Checks a response's TSIG. Returns undefined when it verifies, else why
 * not: a TSIG error the server reports (its MAC is then empty), a missing
 * or wrong signature.
 */
export function verifyResponse(wire: Buffer, decoded: DecodedMessage, key: TsigKey, requestMac: Buffer): string | undefined {
  const last = decoded.additional[decoded.additional.length - 1];
  if (!last || last.type !== TYPE.TSIG) return 'the response is not signed (no TSIG record)';
  let t: TsigFields;
  try {
    t = readTsig(last.data);
  } catch {
    return 'the response has a malformed TSIG record';
  }
  if (t.error !== 0) return `the server refused the signature: TSIG ${tsigErrorName(t.error)}`;
  const unsigned = Buffer.from(wire.subarray(0, decoded.lastRecordAt));
  unsigned.writeUInt16BE(t.originalId, 0);
  unsigned.writeUInt16BE(decoded.additional.length - 1, 10);
  const expected = hmac(key, u16(requestMac.length), requestMac, unsigned, variables(key, t.signedAt, t.fudge, t.error, t.other));
  if (expected.length !== t.mac.length || !crypto.timingSafeEqual(expected, t.mac)) return 'the response signature does not verify (TSIG key or secret mismatch)';
  return undefined;
}

/**
 * The DNS wire format (RFC 1035 4.1), as much as DNS UPDATE (RFC 2136) and
 * its TSIG signature (RFC 8945) need: names written uncompressed (always
 * valid), read with compression pointers; records kept as raw RDATA.
 */

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28, TSIG: 250 } as const;
export const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
export const OPCODE_UPDATE = 5;
export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: Buffer;
  /** Where `data` starts in the message it was read from (names in RDATA may point back into it). */
  dataAt?: number;
}

export interface Message {
  id: number;
  /** QR, opcode, AA, TC, RD, RA and rcode, as in the header's second 16 bits. */
  flags: number;
  /** Called zone, prerequisite, update and additional in an UPDATE. */
  question: Question[];
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

export const rcodeOf = (m: Message): number => m.flags & 0xf;
export const truncated = (m: Message): boolean => (m.flags & 0x0200) !== 0;

/** A fully qualified name in wire form; `canonical` lower-cases it (TSIG's key and algorithm names). */
export function encodeName(name: string, canonical = false): Buffer {
  const trimmed = name.replace(/\.$/, '');
  const parts: Buffer[] = [];
  for (const label of trimmed ? trimmed.split('.') : []) {
    const bytes = Buffer.from(canonical ? label.toLowerCase() : label, 'ascii');
    if (bytes.length === 0 || bytes.length > 63) throw new Error(`invalid DNS name ${JSON.stringify(name)}: label of ${bytes.length} bytes`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function encodeRecord(r: ResourceRecord): Buffer {
  return Buffer.concat([encodeName(r.name), u16(r.type), u16(r.class), u32(r.ttl), u16(r.data.length), r.data]);
}

export function encodeMessage(m: Message): Buffer {
  const header = Buffer.concat([u16(m.id), u16(m.flags), u16(m.question.length), u16(m.answer.length), u16(m.authority.length), u16(m.additional.length)]);
  const questions = m.question.map((q) => Buffer.concat([encodeName(q.name), u16(q.type), u16(q.class)]));
  return Buffer.concat([header, ...questions, ...[...m.answer, ...m.authority, ...m.additional].map(encodeRecord)]);
}

/** TXT RDATA: the value cut into character-strings of at most 255 bytes. */
export function txtData(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length || parts.length === 0; at += 255) {
    const chunk = bytes.subarray(at, at + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

class Reader {
  at = 0;
  constructor(readonly buf: Buffer) {}

  need(n: number): void {
    if (this.at + n > this.buf.length) throw new Error(`DNS message cut short at byte ${this.at}`);
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  name(): string {
    const labels: string[] = [];
    let at = this.at;
    let jumped = false;
    // Each pointer must go backwards, which bounds the walk.
    let limit = at;
    for (;;) {
      if (at >= this.buf.length) throw new Error(`DNS name runs past the message at byte ${at}`);
      const len = this.buf[at];
      if ((len & 0xc0) === 0xc0) {
        if (at + 1 >= this.buf.length) throw new Error(`DNS name pointer cut short at byte ${at}`);
        const target = ((len & 0x3f) << 8) | this.buf[at + 1];
        if (target >= limit) throw new Error(`DNS name pointer at byte ${at} does not point backwards`);
        if (!jumped) this.at = at + 2;
        jumped = true;
        limit = target;
        at = target;
        continue;
      }
      if (len === 0) {
        if (!jumped) this.at = at + 1;
        return labels.join('.');
      }
      if (len > 63 || at + 1 + len > this.buf.length) throw new Error(`bad DNS label at byte ${at}`);
      labels.push(this.buf.toString('latin1', at + 1, at + 1 + len));
      at += 1 + len;
    }
  }

  record(): ResourceRecord {
    const name = this.name();
    const type = this.u16();
    const klass = this.u16();
    const ttl = this.u32();
    const len = this.u16();
    const dataAt = this.at;
    const data = this.bytes(len);
    return { name, type, class: klass, ttl, data, dataAt };
  }
}

export interface DecodedMessage extends Message {
  /** Where the additional section's last record starts (TSIG is always last): what a response MAC covers. */
  lastRecordAt: number;
}

export function decodeMessage(buf: Buffer): DecodedMessage {
  const r = new Reader(buf);
  const id = r.u16();
  const flags = r.u16();
  const counts = [r.u16(), r.u16(), r.u16(), r.u16()];
  const question: Question[] = [];
  for (let i = 0; i < counts[0]; i++) question.push({ name: r.name(), type: r.u16(), class: r.u16() });
  const sections: ResourceRecord[][] = [[], [], []];
  let lastRecordAt = r.at;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]; i++) {
      lastRecordAt = r.at;
      sections[s].push(r.record());
    }
  }
  return { id, flags, question, answer: sections[0], authority: sections[1], additional: sections[2], lastRecordAt };
}

/** Reads the character-strings of TXT RDATA, joined. */
export function readTxt(data: Buffer): string {
  const parts: string[] = [];
  for (let at = 0; at < data.length; ) {
    const len = data[at];
    parts.push(data.toString('utf8', at + 1, at + 1 + len));
    at += 1 + len;
  }
  return parts.join('');
}

/** A (possibly compressed) name at `offset` of a whole message: the names inside NS and SOA RDATA. */
export function readNameAt(message: Buffer, offset: number): string {
  const r = new Reader(message);
  r.at = offset;
  return r.name();
}

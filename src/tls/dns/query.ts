/**
 * Plain DNS queries for the DNS-01 checks: one question to one server,
 * the answer decoded. `recursive` sets RD (a resolver); authoritative
 * servers are asked without it.
 */
import crypto from 'node:crypto';
import { DnsServer, exchange, formatServer } from './transport';
import { CLASS, decodeMessage, DecodedMessage, encodeMessage, RCODES, rcodeOf, readNameAt, readTxt, ResourceRecord, TYPE } from './wire';

export async function query(server: DnsServer, name: string, type: number, opts: { recursive: boolean; timeoutMs: number }): Promise<{ message: DecodedMessage; wire: Buffer }> {
  const id = crypto.randomInt(0, 0x10000);
  const wire = encodeMessage({ id, flags: opts.recursive ? 0x0100 : 0, question: [{ name, type, class: CLASS.IN }], answer: [], authority: [], additional: [] });
  const answer = await exchange(server, wire, opts.timeoutMs);
  const message = decodeMessage(answer);
  if (message.id !== id) throw new Error(`${formatServer(server)} answered another query`);
  return { message, wire: answer };
}

const sameName = (a: string, b: string): boolean => a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');

/** The TXT values `server` holds for `name` (none for NXDOMAIN); an error for SERVFAIL, REFUSED, …. */
export async function txtValues(server: DnsServer, name: string, opts: { recursive: boolean; timeoutMs: number }): Promise<string[]> {
  const { message } = await query(server, name, TYPE.TXT, opts);
  const rcode = rcodeOf(message);
  if (rcode !== 0 && rcode !== 3) throw new Error(`${formatServer(server)} answered ${RCODES[rcode] ?? rcode} for ${name} TXT`);
  return message.answer.filter((r) => r.type === TYPE.TXT).map((r) => readTxt(r.data));
}

/**
 * The zone `name` is in, as `server` sees it: the owner of the SOA in the
 * answer (name is the apex) or in the authority section (any name below it).
 */
export async function zoneOf(server: DnsServer, name: string, opts: { recursive: boolean; timeoutMs: number }): Promise<string> {
  const { message } = await query(server, name, TYPE.SOA, opts);
  const rcode = rcodeOf(message);
  if (rcode !== 0 && rcode !== 3) throw new Error(`${formatServer(server)} answered ${RCODES[rcode] ?? rcode} for the SOA of ${name} (is it authoritative for this zone?)`);
  const soa = [...message.answer, ...message.authority].find((r) => r.type === TYPE.SOA);
  if (!soa) throw new Error(`${formatServer(server)} returned no SOA for ${name}`);
  return soa.name.toLowerCase();
}

/** The name servers of `zone` (NS), with their IPv4 addresses, from a recursive resolver. */
export async function authoritativeServers(resolver: DnsServer, zone: string, timeoutMs: number): Promise<DnsServer[]> {
  const ns = await query(resolver, zone, TYPE.NS, { recursive: true, timeoutMs });
  const names = ns.message.answer.filter((r) => r.type === TYPE.NS && sameName(r.name, zone)).map((r) => nameIn(ns.wire, r));
  const out: DnsServer[] = [];
  for (const n of names) {
    const a = await query(resolver, n, TYPE.A, { recursive: true, timeoutMs });
    for (const r of a.message.answer) if (r.type === TYPE.A && r.data.length === 4) out.push({ host: [...r.data].join('.'), port: 53 });
  }
  if (out.length === 0) throw new Error(`no address for the name servers of ${zone} (${names.join(', ') || 'no NS records'})`);
  return out;
}

function nameIn(wire: Buffer, r: ResourceRecord): string {
  return readNameAt(wire, r.dataAt ?? 0);
}

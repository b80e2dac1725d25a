/**
 * `rfc2136`: the TXT record is added and removed with DNS UPDATE (RFC 2136)
 * signed with TSIG (RFC 8945), at the primary name server lego's variables
 * name. The zone is the one that server reports for the record's name (the
 * owner of its SOA). Adding never replaces other TXT values of the name: a
 * wildcard and its base domain are validated with two values at once.
 */
import crypto from 'node:crypto';
import { ChallengeRecord, DnsProvider, DnsProviderFactory, envInt, envSeconds, envValue, requiredEnv } from './provider';
import { zoneOf } from './query';
import { DnsServer, exchange, formatServer, parseServer } from './transport';
import { signMessage, TSIG_ALGORITHMS, tsigHash, TsigKey, verifyResponse } from './tsig';
import { CLASS, decodeMessage, encodeMessage, OPCODE_UPDATE, RCODES, rcodeOf, ResourceRecord, TYPE, txtData } from './wire';

export const rfc2136: DnsProviderFactory = (env) => {
  const nameserver = requiredEnv(env, 'RFC2136_NAMESERVER');
  let server: DnsServer;
  try {
    server = parseServer(nameserver);
  } catch (err) {
    throw new Error(`RFC2136_NAMESERVER: ${(err as Error).message}`);
  }
  const keyName = envValue(env, 'RFC2136_TSIG_KEY');
  const secret = envValue(env, 'RFC2136_TSIG_SECRET');
  if ((keyName === undefined) !== (secret === undefined)) throw new Error('set both RFC2136_TSIG_KEY and RFC2136_TSIG_SECRET, or neither (no TSIG)');
  const algorithm = envValue(env, 'RFC2136_TSIG_ALGORITHM') ?? 'hmac-sha1.';
  if (!tsigHash(algorithm)) throw new Error(`RFC2136_TSIG_ALGORITHM: unknown algorithm ${JSON.stringify(algorithm)} (use one of ${TSIG_ALGORITHMS.join(', ')})`);
  const key: TsigKey | undefined = keyName && secret ? { name: keyName, algorithm, secret: Buffer.from(secret, 'base64') } : undefined;
  return new Rfc2136Provider(server, key, {
    ttl: envInt(env, 'RFC2136_TTL', 120),
    dnsTimeoutMs: envSeconds(env, 'RFC2136_DNS_TIMEOUT', 10),
    propagationTimeoutMs: envSeconds(env, 'RFC2136_PROPAGATION_TIMEOUT', envSeconds(env, 'RFC2136_TIMEOUT', 60) / 1000),
    pollingIntervalMs: envSeconds(env, 'RFC2136_POLLING_INTERVAL', 2),
  });
};

class Rfc2136Provider implements DnsProvider {
  readonly propagationTimeoutMs: number;
  readonly pollingIntervalMs: number;

  constructor(
    private readonly server: DnsServer,
    private readonly key: TsigKey | undefined,
    private readonly opts: { ttl: number; dnsTimeoutMs: number; propagationTimeoutMs: number; pollingIntervalMs: number },
  ) {
    this.propagationTimeoutMs = opts.propagationTimeoutMs;
    this.pollingIntervalMs = opts.pollingIntervalMs;
  }

  present(r: ChallengeRecord): Promise<void> {
    return this.update(r, { name: r.fqdn, type: TYPE.TXT, class: CLASS.IN, ttl: this.opts.ttl, data: txtData(r.value) });
  }

  /** Deletes this value only (class NONE, RFC 2136 2.5.4): a concurrent validation's value stays. */
  cleanup(r: ChallengeRecord): Promise<void> {
    return this.update(r, { name: r.fqdn, type: TYPE.TXT, class: CLASS.NONE, ttl: 0, data: txtData(r.value) });
  }

  private async update(r: ChallengeRecord, change: ResourceRecord): Promise<void> {
    const at = formatServer(this.server);
    const zone = await zoneOf(this.server, r.fqdn, { recursive: false, timeoutMs: this.opts.dnsTimeoutMs });
    const id = crypto.randomInt(0, 0x10000);
    const unsigned = encodeMessage({ id, flags: OPCODE_UPDATE << 11, question: [{ name: zone, type: TYPE.SOA, class: CLASS.IN }], answer: [], authority: [change], additional: [] });
    const { wire, mac } = this.key ? signMessage(unsigned, this.key) : { wire: unsigned, mac: undefined };
    const answer = await exchange(this.server, wire, this.opts.dnsTimeoutMs);
    const decoded = decodeMessage(answer);
    if (decoded.id !== id) throw new Error(`DNS UPDATE at ${at}: the answer is for another message`);
    const rcode = rcodeOf(decoded);
    const tsigProblem = this.key && mac ? verifyResponse(answer, decoded, this.key, mac) : undefined;
    if (rcode !== 0) {
      const why = tsigProblem ? ` (${tsigProblem})` : '';
      throw new Error(`DNS UPDATE of ${r.fqdn} in zone ${zone} at ${at} refused: ${RCODES[rcode] ?? `rcode ${rcode}`}${why}`);
    }
    if (tsigProblem) throw new Error(`DNS UPDATE at ${at}: ${tsigProblem}`);
  }
}

/**
 * DNS-01 for an ACME resolver: publishes `_acme-challenge.<domain>` through
 * the resolver's DNS provider, waits until it can be seen (propagation.ts),
 * and removes exactly that value afterwards, after a failure too (acme-client
 * calls the remove step in a `finally`).
 */
import dns from 'node:dns';
import type * as acme from 'acme-client';
import { checkPropagation, ChallengeRecord, DnsProvider } from './dns/index';
import { DnsServer, parseServer } from './dns/transport';
import { DnsChallengeOptions } from './resolver-options';

type Challenge = Parameters<acme.Client['getChallengeKeyAuthorization']>[0];

/** Each query of the propagation check waits at most this long for its answer. */
const QUERY_TIMEOUT_MS = 2000;

export class DnsChallenger {
  constructor(
    private readonly provider: DnsProvider,
    private readonly opts: DnsChallengeOptions,
  ) {}

  /** What the provider is given: lego's fqdn and value, and the RAW modes' domain, token and key authorization. */
  async record(client: acme.Client, authz: acme.Authorization, challenge: Challenge, value: string): Promise<ChallengeRecord> {
    const domain = authz.identifier.value;
    // The key authorization itself (acme-client hands dns-01 its digest): what lego's RAW modes pass on.
    const keyAuth = await client.getChallengeKeyAuthorization({ ...challenge, type: 'http-01' } as Challenge);
    return { fqdn: `_acme-challenge.${domain}.`, value, domain, token: challenge.token, keyAuth };
  }

  async present(record: ChallengeRecord, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    await this.provider.present(record);
    const p = this.opts.propagation;
    await checkPropagation(record.fqdn, record.value, {
      resolvers: this.resolvers(),
      delayBeforeChecksMs: p.delayBeforeChecks,
      disableChecks: p.disableChecks,
      requireAllRNS: p.requireAllRNS,
      disableANSChecks: p.disableANSChecks,
      timeoutMs: this.provider.propagationTimeoutMs,
      pollingIntervalMs: this.provider.pollingIntervalMs,
      queryTimeoutMs: QUERY_TIMEOUT_MS,
      signal,
    });
  }

  cleanup(record: ChallengeRecord): Promise<void> {
    return this.provider.cleanup(record);
  }

  /** The configured resolvers, else the system's (read each time: /etc/resolv.conf may change). */
  private resolvers(): DnsServer[] {
    return (this.opts.resolvers ?? dns.getServers()).map(parseServer);
  }
}

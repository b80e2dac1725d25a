/**
 * The DNS providers Portier knows, by lego's names. A name not here is an
 * error on the resolver that names it (see resolver-options.ts).
 */
import { exec } from './exec';
import { httpreq } from './httpreq';
import { DnsProviderFactory } from './provider';
import { rfc2136 } from './rfc2136';

export const DNS_PROVIDERS: ReadonlyMap<string, DnsProviderFactory> = new Map([
  ['rfc2136', rfc2136],
  ['exec', exec],
  ['httpreq', httpreq],
]);

export type { ChallengeRecord, DnsProvider, DnsProviderFactory, Env } from './provider';
export { checkPropagation } from './propagation';
export type { PropagationOptions } from './propagation';

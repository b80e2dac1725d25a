/**
 * Waits until a published TXT value can be seen before the CA is asked to
 * validate, as lego checks: through the recursive resolvers (the
 * resolver's `dnsChallenge.resolvers`, else the system's), every one of
 * them with `requireAllRNS`; then at each authoritative server of the zone
 * (from its SOA and NS) unless `disableANSChecks`. Polls every
 * `pollingIntervalMs` and gives up after `timeoutMs` with what it last saw.
 */
import { authoritativeServers, txtValues, zoneOf } from './query';
import { DnsServer, formatServer } from './transport';

export interface PropagationOptions {
  resolvers: DnsServer[];
  delayBeforeChecksMs: number;
  disableChecks: boolean;
  requireAllRNS: boolean;
  disableANSChecks: boolean;
  timeoutMs: number;
  pollingIntervalMs: number;
  /** Bound on each query. */
  queryTimeoutMs: number;
  signal: AbortSignal;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves once `value` is visible for `fqdn`; rejects with the last thing seen when `timeoutMs` runs out. */
export async function checkPropagation(fqdn: string, value: string, o: PropagationOptions): Promise<void> {
  if (o.delayBeforeChecksMs > 0) await sleep(o.delayBeforeChecksMs, o.signal);
  if (o.disableChecks) return;
  const deadline = Date.now() + o.timeoutMs;
  let authoritative: DnsServer[] | undefined;
  for (;;) {
    let missing: string;
    try {
      missing = await recursiveMissing(fqdn, value, o);
      if (!missing && !o.disableANSChecks) {
        authoritative ??= await findAuthoritative(fqdn, o);
        missing = await allHave(authoritative, fqdn, value, false, o.queryTimeoutMs);
      }
    } catch (err) {
      missing = (err as Error).message;
    }
    if (!missing) return;
    if (Date.now() + o.pollingIntervalMs > deadline) {
      throw new Error(`DNS propagation: the TXT record ${fqdn} was not seen within ${o.timeoutMs / 1000} s (${missing})`);
    }
    await sleep(o.pollingIntervalMs, o.signal);
  }
}

/** '' when the resolvers see the value, else what they see instead. */
async function recursiveMissing(fqdn: string, value: string, o: PropagationOptions): Promise<string> {
  if (o.requireAllRNS) return allHave(o.resolvers, fqdn, value, true, o.queryTimeoutMs);
  const problems: string[] = [];
  // The first resolver that answers decides, as lego's check does.
  for (const r of o.resolvers) {
    try {
      const values = await txtValues(r, fqdn, { recursive: true, timeoutMs: o.queryTimeoutMs });
      return values.includes(value) ? '' : `${formatServer(r)} has ${describe(values)}`;
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return problems.join('; ') || 'no resolver to ask';
}

async function allHave(servers: DnsServer[], fqdn: string, value: string, recursive: boolean, timeoutMs: number): Promise<string> {
  const answers = await Promise.all(
    servers.map(async (s) => {
      try {
        const values = await txtValues(s, fqdn, { recursive, timeoutMs });
        return values.includes(value) ? '' : `${formatServer(s)} has ${describe(values)}`;
      } catch (err) {
        return (err as Error).message;
      }
    }),
  );
  return answers.filter(Boolean).join('; ');
}

async function findAuthoritative(fqdn: string, o: PropagationOptions): Promise<DnsServer[]> {
  let lastError: unknown;
  for (const r of o.resolvers) {
    try {
      const zone = await zoneOf(r, fqdn, { recursive: true, timeoutMs: o.queryTimeoutMs });
      return await authoritativeServers(r, zone, o.queryTimeoutMs);
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`cannot find the authoritative servers of ${fqdn}: ${(lastError as Error | undefined)?.message ?? 'no resolver to ask'}`);
}

const describe = (values: string[]): string => (values.length ? `other values (${values.length})` : 'no such record');

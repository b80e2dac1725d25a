/**
 * `httpreq`: an HTTP endpoint of the user's publishes and removes the
 * record, as lego's provider calls it: `POST <HTTPREQ_ENDPOINT>/present`
 * and `/cleanup` with JSON `{"fqdn","value"}`, or with `HTTPREQ_MODE=RAW`
 * `{"domain","token","keyAuth"}`; basic auth with HTTPREQ_USERNAME and
 * HTTPREQ_PASSWORD. Any status outside 2xx fails the challenge.
 */
import { ChallengeRecord, DnsProvider, DnsProviderFactory, envSeconds, envValue, requiredEnv } from './provider';

export const httpreq: DnsProviderFactory = (env) => {
  const raw = requiredEnv(env, 'HTTPREQ_ENDPOINT');
  let endpoint: URL;
  try {
    endpoint = new URL(raw);
  } catch {
    throw new Error(`HTTPREQ_ENDPOINT: expected a URL, got ${JSON.stringify(raw)}`);
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new Error(`HTTPREQ_ENDPOINT: expected an http(s) URL, got ${JSON.stringify(raw)}`);
  const mode = envValue(env, 'HTTPREQ_MODE');
  if (mode !== undefined && mode !== 'RAW') throw new Error(`HTTPREQ_MODE: expected RAW or nothing, got ${JSON.stringify(mode)}`);
  const user = envValue(env, 'HTTPREQ_USERNAME');
  const password = envValue(env, 'HTTPREQ_PASSWORD');
  const timeoutMs = envSeconds(env, 'HTTPREQ_HTTP_TIMEOUT', 30);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (user !== undefined || password !== undefined) headers.authorization = `Basic ${Buffer.from(`${user ?? ''}:${password ?? ''}`).toString('base64')}`;
  const call = async (action: string, r: ChallengeRecord): Promise<void> => {
    const url = new URL(endpoint.toString());
    url.pathname = `${url.pathname.replace(/\/$/, '')}/${action}`;
    const body = mode === 'RAW' ? { domain: r.domain, token: r.token, keyAuth: r.keyAuth } : { fqdn: r.fqdn, value: r.value };
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new Error(`HTTPREQ ${action}: POST ${url.origin}${url.pathname} failed: ${(err as Error).message}`);
    }
    const text = (await res.text().catch(() => '')).slice(0, 200).trim();
    if (res.status < 200 || res.status > 299) throw new Error(`HTTPREQ ${action}: POST ${url.origin}${url.pathname} answered ${res.status}${text ? `: ${text}` : ''}`);
  };
  const provider: DnsProvider = {
    propagationTimeoutMs: envSeconds(env, 'HTTPREQ_PROPAGATION_TIMEOUT', 60),
    pollingIntervalMs: envSeconds(env, 'HTTPREQ_POLLING_INTERVAL', 2),
    present: (r) => call('present', r),
    cleanup: (r) => call('cleanup', r),
  };
  return provider;
};

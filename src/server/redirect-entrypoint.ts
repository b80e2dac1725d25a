import type { PreRouting } from './entrypoint';
import type { EntryPoint } from '../config/static';
import { parseAddress } from './entrypoint';

/**
 * `entryPoints.<ep>.http.redirections.entryPoint`: every request on the
 * entrypoint is redirected to the same URL on another entrypoint (`to`, a
 * name or `:port`) with `scheme`, as Traefik does for HTTP → HTTPS. Runs
 * after the ACME HTTP-01 responder, so validations still reach it.
 */
export function entryPointRedirect(redirect: NonNullable<NonNullable<EntryPoint['http']>['redirections']>['entryPoint'], all: Record<string, EntryPoint>): PreRouting['answer'] {
  const target = all[redirect.to]?.address ?? redirect.to;
  const port = parseAddress(target.startsWith(':') || target.includes(':') ? target : `:${target}`).port;
  const scheme = redirect.scheme;
  const defaultPort = scheme === 'https' ? 443 : 80;
  const suffix = port && port !== defaultPort ? `:${port}` : '';
  return (req, res, ex) => {
    // Traefik's redirection is a router without tls: a TLS connection on this entrypoint is routed as usual.
    if (ex.tls) return false;
    const host = ex.match.host.includes(':') ? `[${ex.match.host}]` : ex.match.host;
    const location = `${scheme}://${host}${suffix}${req.url?.startsWith('/') ? req.url : ex.path}`;
    const safe = req.method === 'GET' || req.method === 'HEAD';
    res.writeHead(redirect.permanent ? (safe ? 301 : 308) : safe ? 302 : 307, { location, 'content-length': 0 });
    res.end();
    return true;
  };
}

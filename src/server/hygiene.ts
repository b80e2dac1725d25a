import type { IncomingMessage } from 'node:http';

export interface HygieneLimits {
  maxHeaderCount: number;
  dropUnderscoreHeaders: boolean;
}

export interface Rejection {
  status: number;
  reason: string;
}

/**
 * Checks a request before routing, for the cases Node's parser lets through
 * (measured on Node 20): a second Host header (Node keeps the first
 * silently), `*` targets on methods other than OPTIONS, an absolute-form
 * target whose authority disagrees with Host, more header lines than
 * allowed (Node drops the excess silently). Header names with an underscore
 * are dropped, because some backends fold `_` into `-` and would let a
 * client spoof a header the proxy set.
 */
export function inspectRequest(req: IncomingMessage, limits: HygieneLimits): Rejection | null {
  const raw = req.rawHeaders;
  if (raw.length / 2 > limits.maxHeaderCount) return { status: 431, reason: `more than ${limits.maxHeaderCount} header lines` };
  let hosts = 0;
  const underscored: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
    if (name.includes('_')) underscored.push(name.toLowerCase());
  }
  if (hosts > 1) return { status: 400, reason: 'more than one Host header' };
  if (hosts === 0 && req.httpVersionMinor === 1 && req.httpVersionMajor === 1) return { status: 400, reason: 'missing Host header' };
  const url = req.url ?? '';
  if (url === '*') {
    if (req.method !== 'OPTIONS') return { status: 400, reason: '"*" target is only valid for OPTIONS' };
  } else if (!url.startsWith('/')) {
    const abs = absoluteAuthority(url);
    if (abs === null) return { status: 400, reason: 'invalid request target' };
    if (req.headers.host !== undefined && abs.toLowerCase() !== req.headers.host.toLowerCase()) {
      return { status: 400, reason: 'absolute-form target authority differs from Host' };
    }
  }
  if (req.trailers && Object.keys(req.trailers).some((k) => k === 'host')) return { status: 400, reason: 'Host in trailers' };
  if (limits.dropUnderscoreHeaders) for (const name of underscored) delete req.headers[name];
  return null;
}

/** `http://host:port/path` → `host:port`, or null when not an http(s) absolute URL. */
function absoluteAuthority(url: string): string | null {
  const m = /^https?:\/\/([^/?#]+)(?:[/?#]|$)/i.exec(url);
  return m ? m[1] : null;
}

/** The path-and-query of an origin-form or absolute-form target. */
export function originForm(url: string): string {
  if (url.startsWith('/')) return url;
  const m = /^https?:\/\/[^/?#]+(.*)$/i.exec(url);
  const rest = m ? m[1] : '/';
  return rest.startsWith('/') ? rest : `/${rest}`;
}

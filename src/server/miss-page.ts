import type { StaticConfig } from '../config/static';
import type { RoutingTable } from '../routing/table';
import type { Exchange } from '../proxy/exchange';
import { isLoopbackAddress } from './address';
import { servedUrls } from './served-urls';

/**
 * The helpful 404 of a development machine: a request for a `*.localhost`
 * name (or `localhost`, or a loopback address) that no router matches is
 * answered with the list of what is served, as an HTML page for a browser
 * (Accept names text/html) and plain text for everyone else. Only where no
 * one but the machine itself can ask (an entrypoint bound to loopback), or
 * with `devMode: true`: a public gateway never tells a stranger its routes.
 * The page is built once per routing table (tables are immutable), the
 * first time one is needed.
 */
export type MissAnswer = (ex: Exchange, table: RoutingTable) => boolean;

interface Page {
  html: string;
  text: string;
}

/** The answer for one entrypoint, or undefined where the plain 404 stays. */
export function missPage(entryPoint: string, config: StaticConfig, ports: (ep: string) => number): MissAnswer | undefined {
  const ep = config.entryPoints[entryPoint];
  if (!ep || !(config.devMode || isLoopbackAddress(ep.address))) return undefined;
  const pages = new WeakMap<RoutingTable, Page>();
  return (ex, table) => {
    if (ex.upgrade || !isLocalName(ex.match.host)) return false;
    let page = pages.get(table);
    if (!page) pages.set(table, (page = buildPage(table, config, ports)));
    const html = /\btext\/html\b/i.test(String(ex.req.headers.accept ?? ''));
    // Hosts in the page are rule hosts (lowercase), so the upper-case marker is only ever the requested host.
    const personal = html ? page.html.replaceAll('%HOST%', escapeHtml(ex.match.host)) : page.text.replaceAll('%HOST%', ex.match.host);
    ex.res.writeHead(404, {
      'content-type': html ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(personal),
      'cache-control': 'no-store',
      vary: 'Accept',
      'x-content-type-options': 'nosniff',
    });
    ex.res.end(personal);
    return true;
  };
}

/** Names only this machine resolves (RFC 6761 `localhost`) and loopback literals. */
function isLocalName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function buildPage(table: RoutingTable, config: StaticConfig, ports: (ep: string) => number): Page {
  const served = servedUrls(table, config, ports);
  const urls = served.filter((u): u is typeof u & { url: string } => u.url !== undefined);
  const others = served.filter((u) => u.url === undefined);
  const textLines = [
    'No route for %HOST%.',
    '',
    urls.length || others.length ? 'Portier serves:' : 'Portier serves no routes yet.',
    ...urls.map((u) => `  ${u.url}  ->  ${u.service}`),
    ...others.map((u) => `  ${u.rule} on ${u.entryPoint}  ->  ${u.service}`),
  ];
  const items = [
    ...urls.map((u) => `<li><a href="${escapeHtml(u.url)}">${escapeHtml(u.url)}</a> <span>→ ${escapeHtml(u.service ?? '')}</span></li>`),
    ...others.map((u) => `<li><code>${escapeHtml(u.rule)}</code> on ${escapeHtml(u.entryPoint)} <span>→ ${escapeHtml(u.service ?? '')}</span></li>`),
  ];
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>404: no route for %HOST%</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:3rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}li{margin:.3rem 0}span{color:#666}code{background:#f3f3f3;padding:0 .2rem}</style>
</head><body>
<h1>No route for <code>%HOST%</code></h1>
${items.length ? `<p>Portier serves:</p>\n<ul>\n${items.join('\n')}\n</ul>` : '<p>Portier serves no routes yet.</p>'}
</body></html>
`;
  return { html, text: `${textLines.join('\n')}\n` };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

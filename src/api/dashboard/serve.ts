import fs from 'node:fs';
import path from 'node:path';
import type { Handler } from '../../proxy/exchange';

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/**
 * tsc does not copy the static files: from dist/src/api/dashboard, they are
 * read from the package's src/api/dashboard.
 */
function assetDir(): string {
  const candidates = [__dirname, path.resolve(__dirname, '../../../../src/api/dashboard')];
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'index.html')));
  if (!found) throw new Error(`dashboard files not found in ${candidates.join(' or ')}`);
  return found;
}

/**
 * `/dashboard/`: the built-in web dashboard (plain HTML, CSS and JS read
 * once at startup; no CDN). `/dashboard` redirects to `/dashboard/`.
 */
export function createDashboardHandler(): Handler {
  const dir = assetDir();
  const assets = new Map(Object.entries(FILES).map(([name, type]) => [name, { type, body: fs.readFileSync(path.join(dir, name)) }]));
  return async (ex) => {
    const { res } = ex;
    if (ex.path === '/dashboard') {
      res.writeHead(301, { location: '/dashboard/', 'content-length': 0 });
      res.end();
      return;
    }
    const name = ex.path === '/dashboard/' ? 'index.html' : ex.path.slice('/dashboard/'.length);
    const asset = assets.get(name);
    if (!asset || (ex.req.method !== 'GET' && ex.req.method !== 'HEAD')) {
      const body = asset ? 'method not allowed\n' : '404 page not found\n';
      res.writeHead(asset ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
      res.end(body);
      return;
    }
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': asset.body.length,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'self'; img-src 'self' data:",
    });
    res.end(ex.req.method === 'HEAD' ? undefined : asset.body);
  };
}

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StickyCookieConfig } from '../dynamic/model';

/**
 * Sticky sessions by cookie, as Traefik does: the cookie holds a stable
 * hash of the chosen server (not its address, which would leak topology);
 * an unknown or unhealthy pinned server is re-picked and the cookie
 * rewritten.
 */
export class StickyCookie {
  readonly name: string;

  constructor(private readonly cfg: StickyCookieConfig, serviceName: string) {
    this.name = cfg.name || '_' + createHash('sha1').update(serviceName).digest('hex').slice(0, 5);
  }

  static valueFor(key: string): string {
    return createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  read(req: IncomingMessage): string | undefined {
    const header = req.headers.cookie;
    if (!header) return undefined;
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === this.name) return part.slice(eq + 1).trim();
    }
    return undefined;
  }

  write(res: ServerResponse, value: string): void {
    const attrs = [`${this.name}=${value}`, `Path=${this.cfg.path ?? '/'}`];
    // Go's net/http drops the leading dot, which RFC 6265 ignores anyway.
    if (this.cfg.domain) attrs.push(`Domain=${this.cfg.domain.replace(/^\./, '')}`);
    if (this.cfg.maxAge) attrs.push(`Max-Age=${this.cfg.maxAge}`);
    if (this.cfg.secure) attrs.push('Secure');
    if (this.cfg.httpOnly) attrs.push('HttpOnly');
    if (this.cfg.sameSite) attrs.push(`SameSite=${this.cfg.sameSite[0].toUpperCase()}${this.cfg.sameSite.slice(1)}`);
    const prev = res.getHeader('set-cookie');
    const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
    // A retry on another server rewrites the cookie rather than adding a second one.
    res.setHeader('set-cookie', [...list.filter((c) => !c.startsWith(`${this.name}=`)), attrs.join('; ')]);
  }
}

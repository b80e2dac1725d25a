/**
 * Pending ACME challenges, shared by every resolver and answered by the
 * gateway: HTTP-01 tokens on the httpChallenge entrypoint (before any
 * router) and TLS-ALPN-01 certificates on the HTTPS listener itself.
 * Pebble and Let's Encrypt validate from several vantage points at once, so
 * a token stays until its resolver removes it after validation.
 */
import http from 'node:http';
import tls from 'node:tls';

/** Where ACME HTTP-01 validations ask for their tokens (RFC 8555 8.3). */
export const CHALLENGE_PATH = '/.well-known/acme-challenge/';
const PREFIX = CHALLENGE_PATH;

export class ChallengeRegistry {
  private readonly tokens = new Map<string, string>();
  private readonly alpn = new Map<string, tls.SecureContext>();
  /** Shared storages where other instances publish their tokens (acme-cluster). */
  private readonly remotes: ((token: string) => Promise<string | undefined>)[] = [];

  addRemote(lookup: (token: string) => Promise<string | undefined>): void {
    this.remotes.push(lookup);
  }

  setHttpToken(token: string, keyAuthorization: string): void {
    this.tokens.set(token, keyAuthorization);
  }

  deleteHttpToken(token: string): void {
    this.tokens.delete(token);
  }

  setAlpnCertificate(servername: string, context: tls.SecureContext): void {
    this.alpn.set(servername.toLowerCase(), context);
  }

  deleteAlpnCertificate(servername: string): void {
    this.alpn.delete(servername.toLowerCase());
  }

  alpnContext(servername: string | undefined): tls.SecureContext | undefined {
    return servername ? this.alpn.get(servername.toLowerCase()) : undefined;
  }

  /**
   * Answers `GET /.well-known/acme-challenge/<token>` and returns true when it
   * did (404 for an unknown token, as Traefik does); false leaves the request
   * to the routers.
   */
  respond(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const url = req.url ?? '';
    if (!url.startsWith(PREFIX)) return false;
    const token = url.slice(PREFIX.length).split('?')[0];
    const body = this.tokens.get(token);
    if (body === undefined && this.remotes.length && (req.method === 'GET' || req.method === 'HEAD')) {
      void this.lookup(token).then((found) => this.answer(req, res, found));
      return true;
    }
    this.answer(req, res, body);
    return true;
  }

  private async lookup(token: string): Promise<string | undefined> {
    for (const remote of this.remotes) {
      const found = await remote(token);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, body: string | undefined): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    } else if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such ACME challenge\n');
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    }
  }
}

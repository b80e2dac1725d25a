/**
 * Pending ACME challenges, shared by every resolver and answered by the
 * gateway: HTTP-01 tokens on the httpChallenge entrypoint (before any
 * router) and TLS-ALPN-01 certificates on the HTTPS listener itself.
 * Pebble and Let's Encrypt validate from several vantage points at once, so
 * a token stays until its resolver removes it after validation. With shared
 * ACME storage (acme-cluster), a challenge this instance does not hold is
 * looked up in the stores where the other instances publish theirs.
 */
import http from 'node:http';
import tls from 'node:tls';

/** How a shared storage keys the challenges it publishes: HTTP-01 by token, TLS-ALPN-01 by domain. */
export type ChallengeKind = 'http' | 'tls-alpn';

/** A store where other instances publish their pending challenges; a lookup resolves undefined when unknown or unreachable, never rejects. */
export interface ChallengeRemote {
  challenge(kind: ChallengeKind, id: string): Promise<string | undefined>;
}

/** What a shared storage holds for a TLS-ALPN-01 challenge: its certificate and key. */
export function alpnChallengeValue(cert: string, key: string): string {
  return JSON.stringify({ cert, key });
}

/** Where ACME HTTP-01 validations ask for their tokens (RFC 8555 8.3). */
export const CHALLENGE_PATH = '/.well-known/acme-challenge/';
const PREFIX = CHALLENGE_PATH;

export class ChallengeRegistry {
  private readonly tokens = new Map<string, string>();
  private readonly alpn = new Map<string, tls.SecureContext>();
  /** Shared storages where other instances publish their challenges (acme-cluster). */
  private readonly remotes: ChallengeRemote[] = [];

  addRemote(remote: ChallengeRemote): void {
    this.remotes.push(remote);
  }

  /** Whether challenges may be held by other instances (a TLS-ALPN-01 lookup is then worth waiting for). */
  hasRemotes(): boolean {
    return this.remotes.length > 0;
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

  /** The challenge certificate for `servername`, held here or published by another instance. */
  async alpnLookup(servername: string | undefined): Promise<tls.SecureContext | undefined> {
    const local = this.alpnContext(servername);
    if (local || !servername) return local;
    const found = await this.lookup('tls-alpn', servername.toLowerCase());
    if (found === undefined) return undefined;
    try {
      const { cert, key } = JSON.parse(found) as { cert: string; key: string };
      return tls.createSecureContext({ cert, key });
    } catch {
      // A value alpnChallengeValue did not write fails this handshake, not the listener.
      return undefined;
    }
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
      void this.lookup('http', token).then((found) => this.answer(req, res, found));
      return true;
    }
    this.answer(req, res, body);
    return true;
  }

  private async lookup(kind: ChallengeKind, id: string): Promise<string | undefined> {
    for (const remote of this.remotes) {
      const found = await remote.challenge(kind, id);
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

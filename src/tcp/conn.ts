import type { Socket } from 'node:net';

/**
 * A client connection a TCP router took, on its way to a server: what the
 * middlewares judge and what the service forwards. `socket` is the
 * client's cleartext (Portier's TLS socket when it ended TLS, else the raw
 * one); `head` is what was read from it before routing, sent first.
 */
export interface TcpConn {
  readonly socket: Socket;
  head: Buffer;
  readonly clientIp: string;
  /** Who the PROXY header to a server names: the client, and the address it connected to. */
  readonly source: { address: string; port: number };
  readonly destination: { address: string; port: number };
  /**
   * Set for a PostgreSQL client whose STARTTLS Portier answered while the
   * server is to end TLS itself (passthrough): the server is asked for
   * STARTTLS first, its `S` swallowed.
   */
  postgresPassthrough?: boolean;
  /** The router and entrypoint, for logs and metrics. */
  readonly router: string;
  readonly entryPoint: string;
  /** Told once, when the connection is over (relayed, refused or failed). */
  readonly closed: (reason?: string) => void;
}

/** A service, or a middleware around one: takes the connection and closes it when done. */
export type TcpHandler = (conn: TcpConn) => void;

export type TcpMiddleware = (next: TcpHandler) => TcpHandler;

/** Refuses a connection: nothing is sent, the socket is destroyed. */
export function refuse(conn: TcpConn, reason: string): void {
  conn.socket.destroy();
  conn.closed(reason);
}

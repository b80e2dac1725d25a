import type { Socket } from 'node:net';

export interface RelayOptions {
  /**
   * Traefik's terminationDelay: once one side has ended its half, how long
   * the other may still send before both are closed; negative: no bound.
   */
  terminationDelayMs: number;
}

/**
 * Relays bytes both ways between a client's connection and a server's,
 * until both are done. Each side's end is passed on as an end (a half-close
 * reaches the other peer as one), with backpressure by pipe; an error or a
 * reset on either side destroys both, and when one socket closes the other
 * is destroyed too, so no socket outlives its peer.
 */
export function relay(client: Socket, server: Socket, opts: RelayOptions, done: () => void): void {
  client.allowHalfOpen = true;
  server.allowHalfOpen = true;
  let finished = false;
  let lingering: NodeJS.Timeout | undefined;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(lingering);
    client.destroy();
    server.destroy();
    done();
  };
  const halfClosed = (): void => {
    if (opts.terminationDelayMs < 0 || lingering || finished) return;
    lingering = setTimeout(finish, opts.terminationDelayMs);
    lingering.unref();
  };
  // The half-close goes on as an end of the other's writable side; the reverse direction may still run.
  client.once('end', halfClosed);
  server.once('end', halfClosed);
  client.pipe(server);
  server.pipe(client);
  for (const s of [client, server]) {
    s.on('error', finish);
    s.on('close', finish);
  }
  // Both directions ended: the sockets close by themselves; finish() then only reports.
  if (client.readableEnded) halfClosed();
}

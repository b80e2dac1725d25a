/** Consecutive connection failures that eject a server. */
const MAX_FAILURES = 1;
/** How long an ejected server is skipped before it gets traffic again. */
const EJECT_MS = 10_000;

/**
 * What the balancer knows of one upstream server: its active health-check
 * verdict and any passive ejection after connection failures.
 */
export class ServerState {
  /** Verdict of the active health check; true while none is configured. */
  healthy = true;
  private ejectedUntil = 0;
  private failures = 0;

  constructor(
    readonly url: string,
    readonly weight: number,
  ) {}

  available(): boolean {
    // The clock is read only while an ejection is on (every pick asks every server).
    if (this.ejectedUntil !== 0 && Date.now() >= this.ejectedUntil) this.ejectedUntil = 0;
    return this.healthy && this.ejectedUntil === 0;
  }

  /** A connection to the server failed (refused, reset before a response). */
  connectionFailed(now = Date.now()): void {
    this.failures += 1;
    if (this.failures >= MAX_FAILURES) {
      this.ejectedUntil = now + EJECT_MS;
      this.failures = 0;
    }
  }

  connectionSucceeded(): void {
    this.failures = 0;
  }

  /** An active check passed: it also ends a passive ejection. */
  checkPassed(): boolean {
    const changed = !this.healthy;
    this.healthy = true;
    this.ejectedUntil = 0;
    return changed;
  }

  checkFailed(): boolean {
    const changed = this.healthy;
    this.healthy = false;
    return changed;
  }
}

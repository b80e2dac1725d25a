/**
 * When to renew and when to retry. Renewal starts once a third of a
 * certificate's lifetime is left (30 days of Let's Encrypt's 90). A failed
 * order is retried on a growing schedule, like certmagic's, capped at 6 h:
 * with the attempt persisted before each order, even a crash loop makes at
 * most one order per domain set per step, far under Let's Encrypt's limit
 * of 5 failed validations per hostname per hour.
 */

const MIN = 60_000;
export const RETRY_SCHEDULE_MS = [1, 2, 5, 10, 20, 30, 60, 180, 360].map((m) => m * MIN);

/** Delay before the next order after `attempts` consecutive failures (≥ 1); `scale` shrinks it in tests. */
export function retryDelay(attempts: number, scale = 1): number {
  const i = Math.min(Math.max(attempts, 1), RETRY_SCHEDULE_MS.length) - 1;
  return RETRY_SCHEDULE_MS[i] * scale;
}

/** True once less than `fraction` of the lifetime is left. */
export function renewalDue(notBefore: Date, notAfter: Date, now = Date.now(), fraction = 1 / 3): boolean {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return notAfter.getTime() - now < lifetime * fraction;
}

/** How often to look for due certificates: often enough for short certificates, at most daily. */
export function renewalCheckInterval(certificatesDurationHours: number): number {
  const ms = (certificatesDurationHours * 3600_000) / 90;
  return Math.min(Math.max(ms, MIN), 24 * 60 * MIN);
}

/**
 * When to renew a certificate and when to try again after a failure, as pure
 * decisions: renew once two thirds of the lifetime have passed, plus a random
 * share of the lifetime so that many servers do not renew at one instant;
 * after failures wait 1 min, doubling up to 1 day, and never less than the
 * server's Retry-After.
 *
 * @module
 */

/** The validity period of a certificate. */
export interface Validity {
  /** The start. */
  readonly notBefore: Date;
  /** The end. */
  readonly notAfter: Date;
}

/** The renewal numbers. */
export const RENEWAL = {
  /** The share of the lifetime after which a certificate is due. */
  dueFraction: 2 / 3,
  /** The largest random share of the lifetime added to the due time. */
  jitterFraction: 1 / 30,
  /** The wait after the first failure. */
  firstRetryMs: 60_000,
  /** The longest wait between failures. */
  maxRetryMs: 86_400_000,
} as const;

/**
 * The time a certificate becomes due: two thirds into its lifetime.
 *
 * @param validity The certificate's validity.
 * @returns Epoch milliseconds.
 *
 * @example
 * ```ts
 * renewalDueAt({ notBefore: new Date(0), notAfter: new Date(90) }); // 60
 * ```
 */
export function renewalDueAt(validity: Validity): number {
  const start = validity.notBefore.getTime();
  return start + (validity.notAfter.getTime() - start) * RENEWAL.dueFraction;
}

/**
 * Whether a certificate should be replaced now: it is due, or not yet valid
 * or already expired.
 *
 * @param validity The certificate's validity.
 * @param now Epoch milliseconds.
 * @returns True when a new certificate should be ordered.
 *
 * @example
 * ```ts
 * renewalDue({ notBefore: new Date(0), notAfter: new Date(90) }, 59); // false
 * ```
 */
export function renewalDue(validity: Validity, now: number): boolean {
  return now < validity.notBefore.getTime() || now >= renewalDueAt(validity);
}

/**
 * When to renew: the due time plus a random share of up to 1/30 of the
 * lifetime (3 days of a 90-day certificate). Never before the due time.
 *
 * @param validity The certificate's validity.
 * @param random A number in [0, 1); `Math.random()` in production.
 * @returns Epoch milliseconds.
 *
 * @example
 * ```ts
 * renewalTime({ notBefore: new Date(0), notAfter: new Date(90_000) }, 0.5); // 61_500
 * ```
 */
export function renewalTime(validity: Validity, random: number): number {
  const lifetime = validity.notAfter.getTime() - validity.notBefore.getTime();
  return renewalDueAt(validity) + random * lifetime * RENEWAL.jitterFraction;
}

/**
 * How long to wait after consecutive failures: 1 min, doubling, at most
 * 1 day; at least the server's Retry-After when it gave one.
 *
 * @param failures How many attempts in a row failed (1 for the first).
 * @param retryAfterMs The server's Retry-After, in milliseconds, if any.
 * @returns Milliseconds.
 *
 * @example
 * ```ts
 * retryDelay(3); // 240_000
 * retryDelay(1, 3_600_000); // 3_600_000
 * ```
 */
export function retryDelay(failures: number, retryAfterMs?: number): number {
  const exponent = Math.max(0, failures - 1);
  const backoff = Math.min(RENEWAL.maxRetryMs, RENEWAL.firstRetryMs * 2 ** exponent);
  return Math.max(backoff, retryAfterMs ?? 0);
}

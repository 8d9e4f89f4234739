/**
 * When a serving worker that died is started again: soon at first, then
 * with a delay that doubles while deaths keep coming, and not at all once
 * too many came within a short window (a worker that cannot stay up would
 * otherwise be restarted forever; exiting lets the process manager act).
 *
 * @module
 */

/** The policy's numbers. */
export interface RestartLimits {
  /** The delay before the first restart, in milliseconds. */
  readonly firstDelayMs: number;
  /** The longest delay, in milliseconds. */
  readonly maxDelayMs: number;
  /** The window deaths are counted in, in milliseconds. */
  readonly windowMs: number;
  /** The most deaths within the window that are still restarted. */
  readonly maxDeaths: number;
}

/** Restart after 100 ms, doubling to 5 s; give up after 5 deaths within a minute. */
export const DEFAULT_RESTART_LIMITS: RestartLimits = Object.freeze({
  firstDelayMs: 100,
  maxDelayMs: 5000,
  windowMs: 60_000,
  maxDeaths: 5,
});

/** What to do about a death. */
export type RestartDecision =
  | { readonly kind: "restart"; readonly delayMs: number; readonly deaths: number }
  | { readonly kind: "give-up"; readonly deaths: number };

/**
 * Counts the deaths of a pool's workers and decides about each.
 *
 * @example
 * ```ts
 * const policy = new RestartPolicy();
 * policy.died(0); // { kind: "restart", delayMs: 100, deaths: 1 }
 * ```
 */
export class RestartPolicy {
  readonly #limits: RestartLimits;
  #deaths: number[] = [];

  /** @param limits The delays and the window. */
  constructor(limits: RestartLimits = DEFAULT_RESTART_LIMITS) {
    this.#limits = limits;
  }

  /** The window deaths are counted in, in seconds, for messages. */
  get windowSeconds(): number {
    return this.#limits.windowMs / 1000;
  }

  /**
   * Records a death and decides.
   *
   * @param now The time, in milliseconds (any monotonic origin).
   * @returns Restart after a delay, or give up.
   */
  died(now: number): RestartDecision {
    const { firstDelayMs, maxDelayMs, windowMs, maxDeaths } = this.#limits;
    this.#deaths = this.#deaths.filter((at) => now - at < windowMs);
    this.#deaths.push(now);
    const deaths = this.#deaths.length;
    if (deaths > maxDeaths) return { kind: "give-up", deaths };
    const delayMs = Math.min(maxDelayMs, firstDelayMs * 2 ** (deaths - 1));
    return { kind: "restart", delayMs, deaths };
  }
}

/**
 * A progress watchdog for one connection: while the server waits on the
 * client (for request-body bytes, or for room to write a response), some
 * byte must move within a time limit, or the connection is given up.
 *
 * @module
 */

/**
 * Where a {@linkcode Watchdog} reads the time and sets its timer. The real
 * one is {@linkcode realClock}; tests pass a clock they advance by hand, so
 * that what they check does not depend on how busy the machine is.
 */
export interface Clock {
  /** Milliseconds from some fixed origin, never going back (like `performance.now()`). */
  now(): number;
  /** Calls `callback` once, `ms` from now; returns a handle (never undefined) for `clearTimer`. */
  setTimer(callback: () => void, ms: number): unknown;
  /** Cancels a timer that has not fired; a fired or cleared one is ignored. */
  clearTimer(timer: unknown): void;
}

/**
 * The clock of the running program: `performance.now()` and `setTimeout`.
 *
 * @example
 * ```ts
 * import { realClock } from "./watchdog.ts";
 *
 * const started = realClock.now();
 * realClock.setTimer(() => console.log(realClock.now() - started), 10);
 * ```
 */
export const realClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimer: (callback: () => void, ms: number) => setTimeout(callback, ms),
  clearTimer: (timer: unknown) => clearTimeout(timer as ReturnType<typeof setTimeout>),
});

/**
 * Watches waits for progress. Costs one clock read per event and at most
 * one timer per period, so it can sit on every read and write.
 *
 * @example
 * ```ts
 * const watchdog = new Watchdog(30_000, () => conn.close());
 * watchdog.begin();
 * try {
 *   await conn.write(bytes);
 *   watchdog.progress();
 * } finally {
 *   watchdog.end();
 * }
 * ```
 */
export class Watchdog {
  #limitMs: number;
  #onStall: () => void;
  #clock: Clock;
  #waits = 0;
  #last = 0;
  #timer: unknown = undefined;
  #stopped = false;

  /**
   * Makes a watchdog that watches nothing until a wait begins.
   *
   * @param limitMs How long a wait may go without progress.
   * @param onStall Called once when it does.
   * @param clock Where time is read and timers set; the real clock unless given.
   */
  constructor(limitMs: number, onStall: () => void, clock: Clock = realClock) {
    this.#limitMs = limitMs;
    this.#onStall = onStall;
    this.#clock = clock;
  }

  /** A wait starts; waits may overlap. */
  begin(): void {
    if (this.#stopped) return;
    if (this.#waits++ === 0) this.#last = this.#clock.now();
    if (this.#timer === undefined) this.#arm(this.#limitMs);
  }

  /** Whether some wait is under way. */
  get waiting(): boolean {
    return this.#waits > 0;
  }

  /**
   * Some bytes moved. Only waits under way care (a wait that starts later
   * counts from its start), so with none this costs nothing.
   */
  progress(): void {
    if (this.#waits > 0) this.#last = this.#clock.now();
  }

  /**
   * A wait ends.
   *
   * @param progressed Whether bytes moved as it ended (a write that
   * completed), which counts as progress for waits still under way.
   */
  end(progressed = false): void {
    if (this.#waits > 0 && --this.#waits > 0 && progressed) this.#last = this.#clock.now();
  }

  /** Stops watching for good; `onStall` is not called after this. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #arm(delay: number): void {
    this.#timer = this.#clock.setTimer(() => this.#check(), delay);
  }

  // The timer is not cleared when a wait ends: it checks, and re-arms only
  // while something still waits, so a busy connection pays for one timer a
  // period instead of one per read or write.
  #check(): void {
    this.#timer = undefined;
    if (this.#stopped || this.#waits === 0) return;
    const quiet = this.#clock.now() - this.#last;
    if (quiet >= this.#limitMs) {
      this.stop();
      this.#onStall();
    } else {
      this.#arm(this.#limitMs - quiet);
    }
  }
}

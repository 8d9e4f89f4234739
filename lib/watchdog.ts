/**
 * A progress watchdog for one connection: while the server waits on the
 * client (for request-body bytes, or for room to write a response), some
 * byte must move within a time limit, or the connection is given up.
 *
 * @module
 */

/**
 * Watches waits for progress. Costs one `performance.now()` per event and at
 * most one timer per period, so it can sit on every read and write.
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
  #waits = 0;
  #last = 0;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #stopped = false;

  /**
   * @param limitMs How long a wait may go without progress.
   * @param onStall Called once when it does.
   */
  constructor(limitMs: number, onStall: () => void) {
    this.#limitMs = limitMs;
    this.#onStall = onStall;
  }

  /** A wait starts; waits may overlap. */
  begin(): void {
    if (this.#stopped) return;
    if (this.#waits++ === 0) this.#last = performance.now();
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
    if (this.#waits > 0) this.#last = performance.now();
  }

  /**
   * A wait ends.
   *
   * @param progressed Whether bytes moved as it ended (a write that
   * completed), which counts as progress for waits still under way.
   */
  end(progressed = false): void {
    if (this.#waits > 0 && --this.#waits > 0 && progressed) this.#last = performance.now();
  }

  /** Stops watching for good; `onStall` is not called after this. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(() => this.#check(), delay);
  }

  // The timer is not cleared when a wait ends: it checks, and re-arms only
  // while something still waits, so a busy connection pays for one timer a
  // period instead of one per read or write.
  #check(): void {
    this.#timer = undefined;
    if (this.#stopped || this.#waits === 0) return;
    const quiet = performance.now() - this.#last;
    if (quiet >= this.#limitMs) {
      this.stop();
      this.#onStall();
    } else {
      this.#arm(this.#limitMs - quiet);
    }
  }
}

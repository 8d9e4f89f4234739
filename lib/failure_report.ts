/**
 * Failures that happen once per client (bad handshakes, missing PROXY
 * headers): counted, and reported at most once a minute with how many
 * there were and the last reason, so scanners cannot fill the log.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import type { Clock } from "./watchdog.ts";

/** How often a kind of failure is reported at most. */
export const FAILURE_REPORT_INTERVAL_MS = 60_000;

/**
 * One kind of failure, counted and reported once a minute.
 *
 * @example
 * ```ts
 * const report = new FailureReport(logger, realClock, (n) => `${n} TLS handshakes failed`);
 * report.failed("timed out");
 * ```
 */
export class FailureReport {
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #describe: (count: number) => string;
  #lastReport = -Infinity;
  #unreported = 0;
  /** Failures since the start. */
  total = 0;

  /**
   * @param logger Where the report goes.
   * @param clock Times the reports.
   * @param describe The report's words for a number of failures (the last reason is added).
   */
  constructor(logger: Logger, clock: Clock, describe: (count: number) => string) {
    this.#logger = logger;
    this.#clock = clock;
    this.#describe = describe;
  }

  /**
   * Counts a failure, and reports when the last report is a minute old.
   *
   * @param reason Why it failed.
   */
  failed(reason: string): void {
    this.total++;
    this.#unreported++;
    const now = this.#clock.now();
    if (now - this.#lastReport < FAILURE_REPORT_INTERVAL_MS) return;
    this.#logger.error(`${this.#describe(this.#unreported)} (last: ${reason})`);
    this.#lastReport = now;
    this.#unreported = 0;
  }
}

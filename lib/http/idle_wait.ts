/**
 * The wait between two requests on one connection: for the first byte of
 * the next request, for at most the idle timeout, and not once the server
 * is closing. One watchdog per connection (made again only after a wait
 * that came close to expiring) rather than a timer per request.
 *
 * @module
 */

import { Watchdog } from "../watchdog.ts";

/**
 * Waits for the next request on one connection, closing it when the wait
 * runs out or the server starts to close.
 *
 * @example
 * ```ts
 * const idle = new IdleWait(5000, closing, () => conn.close());
 * if (!await idle.wait(() => reader.fill())) return; // closed, or gone quiet
 * ```
 */
export class IdleWait {
  readonly #limitMs: number;
  readonly #closing: AbortSignal;
  readonly #close: () => void;
  #watchdog: Watchdog;
  #waiting = false;
  #closedWhileWaiting = false;
  readonly #onClosing = () => this.#closeWaiting();

  /**
   * @param limitMs The idle timeout.
   * @param closing Aborted when the server shuts down.
   * @param close Closes the connection.
   */
  constructor(limitMs: number, closing: AbortSignal, close: () => void) {
    this.#limitMs = limitMs;
    this.#closing = closing;
    this.#close = close;
    this.#watchdog = this.#newWatchdog();
    closing.addEventListener("abort", this.#onClosing, { once: true });
  }

  /**
   * Waits for `fill` (a read of the next bytes).
   *
   * @returns Whether bytes arrived; false when the client closed the
   * connection, or it was closed for idling or for shutdown.
   */
  wait(fill: () => Promise<boolean>): Promise<boolean> {
    this.#waiting = true;
    this.#watchdog.begin();
    // Settled without an async frame of its own: this runs once per request.
    return fill().then((filled) => {
      this.#ended();
      return filled;
    }, (error) => {
      this.#ended();
      if (this.#closedWhileWaiting) return false;
      throw error;
    });
  }

  #ended(): void {
    this.#waiting = false;
    this.#watchdog.end();
  }

  /** Stops watching; the connection is closing anyway. */
  stop(): void {
    this.#watchdog.stop();
    this.#closing.removeEventListener("abort", this.#onClosing);
  }

  #newWatchdog(): Watchdog {
    return new Watchdog(this.#limitMs, () => {
      // A read that completed during a busy stretch of the event loop gets
      // one more turn to be seen before the connection is given up.
      setTimeout(() => {
        if (this.#waiting) this.#closeWaiting();
        else this.#watchdog = this.#newWatchdog();
      }, 0);
    });
  }

  #closeWaiting(): void {
    if (!this.#waiting) return;
    this.#closedWhileWaiting = true;
    this.#close();
  }
}

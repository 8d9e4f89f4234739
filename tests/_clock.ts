/**
 * A clock for tests: time moves only when the test says, so whatever is
 * timed (a watchdog, a batch of changes, a heartbeat) is checked exactly,
 * however busy the machine is, and no test sleeps.
 *
 * @module
 */

import type { Clock } from "../lib/watchdog.ts";

/** A clock that moves only when told, running each timer as its time comes. */
export class ManualClock implements Clock {
  #now = 0;
  #nextId = 1;
  #timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimer(timer: unknown): void {
    this.#timers.delete(timer as number);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time on by `ms`, firing each timer due meanwhile at its own time, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    while (true) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
      }
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].callback();
    }
    this.#now = end;
  }
}

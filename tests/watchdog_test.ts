/**
 * The progress watchdog: it fires only while something waits without
 * progress, and never after it is stopped. Time is a manual clock that the
 * tests advance, so every check is exact and no test sleeps.
 */

import { assert, assertEquals } from "./_deps.ts";
import { ManualClock } from "./_clock.ts";
import { Watchdog } from "../lib/watchdog.ts";

const LIMIT_MS = 60;

/** A watchdog on a manual clock, and the clock times at which it fired. */
function watched(): { clock: ManualClock; watchdog: Watchdog; stalls: number[] } {
  const clock = new ManualClock();
  const stalls: number[] = [];
  const watchdog = new Watchdog(LIMIT_MS, () => stalls.push(clock.now()), clock);
  return { clock, watchdog, stalls };
}

Deno.test("Watchdog fires once a wait has gone the limit without progress", () => {
  const { clock, watchdog, stalls } = watched();
  watchdog.begin();
  clock.advance(LIMIT_MS - 1);
  assertEquals(stalls, []);
  clock.advance(1);
  assertEquals(stalls, [LIMIT_MS]);
  // Once only, and nothing left running.
  clock.advance(10 * LIMIT_MS);
  assertEquals(stalls, [LIMIT_MS]);
  assertEquals(clock.pending, 0);
});

Deno.test("Watchdog is held off by progress during a wait", () => {
  const { clock, watchdog, stalls } = watched();
  watchdog.begin();
  // Progress every third of the limit, for three limits' time.
  for (let i = 0; i < 9; i++) {
    clock.advance(LIMIT_MS / 3);
    watchdog.progress();
    // One timer a period, not one per event.
    assert(clock.pending <= 1, `${clock.pending} timers`);
  }
  assertEquals(stalls, []);
  // Then the bytes stop moving: it fires a limit after the last progress, not before.
  const last = clock.now();
  clock.advance(LIMIT_MS - 1);
  assertEquals(stalls, []);
  clock.advance(1);
  assertEquals(stalls, [last + LIMIT_MS]);
});

Deno.test("Watchdog does not fire while nothing waits", () => {
  const { clock, watchdog, stalls } = watched();
  watchdog.begin();
  watchdog.end();
  clock.advance(3 * LIMIT_MS);
  assertEquals(stalls, []);
  // The timer found nothing waiting and was not set again.
  assertEquals(clock.pending, 0);
  assertEquals(watchdog.waiting, false);
  // A new wait is timed from its own start, not from the first one's.
  const second = watched();
  second.watchdog.begin();
  second.watchdog.end();
  second.clock.advance(2 * LIMIT_MS);
  const begun = second.clock.now();
  second.watchdog.begin();
  second.clock.advance(LIMIT_MS - 1);
  assertEquals(second.stalls, []);
  second.clock.advance(1);
  assertEquals(second.stalls, [begun + LIMIT_MS]);
  watchdog.stop();
  second.watchdog.stop();
});

Deno.test("Watchdog times a wait begun while the timer of an ended one is still set from its start", () => {
  const { clock, watchdog, stalls } = watched();
  watchdog.begin();
  clock.advance(LIMIT_MS / 2);
  watchdog.end();
  const begun = clock.now();
  watchdog.begin(); // the first timer is still set, for LIMIT_MS after the first begin
  clock.advance(LIMIT_MS / 2);
  assertEquals(stalls, [], "the old timer found the new wait too young");
  clock.advance(LIMIT_MS / 2);
  assertEquals(stalls, [begun + LIMIT_MS]);
});

Deno.test("Watchdog.stop() keeps a pending wait from firing", () => {
  const { clock, watchdog, stalls } = watched();
  watchdog.begin();
  watchdog.stop();
  assertEquals(clock.pending, 0, "stop() clears the timer");
  clock.advance(2 * LIMIT_MS);
  assertEquals(stalls, []);
  // Nothing starts it again.
  watchdog.begin();
  clock.advance(2 * LIMIT_MS);
  assertEquals(stalls, []);
  assertEquals(clock.pending, 0);
});

Deno.test("Watchdog.end(true) counts as progress for the waits still under way", () => {
  const { clock, watchdog, stalls } = watched();
  watchdog.begin(); // a body read that waits throughout
  // Writes that complete every third of the limit, for three limits' time.
  for (let i = 0; i < 9; i++) {
    watchdog.begin();
    clock.advance(LIMIT_MS / 3);
    watchdog.end(true);
  }
  assertEquals(stalls, []);
  assert(watchdog.waiting);
  // Writes that end without moving bytes do not hold it off.
  const last = clock.now();
  for (let i = 0; i < 2; i++) {
    watchdog.begin();
    clock.advance(LIMIT_MS / 3);
    watchdog.end(false);
  }
  clock.advance(LIMIT_MS / 3 - 1);
  assertEquals(stalls, []);
  clock.advance(1);
  assertEquals(stalls, [last + LIMIT_MS], "fired a limit after the last progress");
});

Deno.test("Watchdog uses the real clock unless given one", async () => {
  // Only that it fires, once: how late a real timer runs depends on the machine.
  const fired = Promise.withResolvers<void>();
  let stalls = 0;
  const watchdog = new Watchdog(5, () => {
    stalls++;
    fired.resolve();
  });
  watchdog.begin();
  await fired.promise;
  assertEquals(stalls, 1);
  assertEquals(watchdog.waiting, true, "firing does not end the wait; the caller does");
  watchdog.stop();
});

/**
 * The progress watchdog: it fires only while something waits without
 * progress, and never after it is stopped.
 */

import { assert, assertEquals } from "./_deps.ts";
import { Watchdog } from "../lib/watchdog.ts";

const LIMIT_MS = 60;

/** Resolves after `ms`; used only to let time pass when asserting that nothing happens. */
const elapse = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("Watchdog fires once a wait has gone the limit without progress", async () => {
  const fired = Promise.withResolvers<number>();
  const watchdog = new Watchdog(LIMIT_MS, () => fired.resolve(performance.now()));
  const begun = performance.now();
  watchdog.begin();
  const at = await fired.promise;
  assert(at - begun >= LIMIT_MS - 1, `fired after ${at - begun} ms`);
  watchdog.stop();
});

Deno.test("Watchdog is held off by progress during a wait", async () => {
  const fired = Promise.withResolvers<number>();
  let stalls = 0;
  const watchdog = new Watchdog(LIMIT_MS, () => {
    stalls++;
    fired.resolve(performance.now());
  });
  watchdog.begin();
  const begun = performance.now();
  // Progress every third of the limit, for three limits' time.
  while (performance.now() - begun < 3 * LIMIT_MS) {
    await elapse(LIMIT_MS / 3);
    watchdog.progress();
  }
  assertEquals(stalls, 0);
  // Then the bytes stop moving.
  const last = performance.now();
  assert(await fired.promise - last >= LIMIT_MS - 1);
  assertEquals(stalls, 1);
});

Deno.test("Watchdog does not fire while nothing waits", async () => {
  let stalls = 0;
  const watchdog = new Watchdog(LIMIT_MS, () => stalls++);
  watchdog.begin();
  watchdog.end();
  await elapse(3 * LIMIT_MS);
  assertEquals(stalls, 0);
  // A new wait is timed from its own start, not from the first one's.
  const fired = Promise.withResolvers<number>();
  const watchdog2 = new Watchdog(LIMIT_MS, () => fired.resolve(performance.now()));
  watchdog2.begin();
  watchdog2.end();
  await elapse(2 * LIMIT_MS);
  const begun = performance.now();
  watchdog2.begin();
  assert(await fired.promise - begun >= LIMIT_MS - 1);
  watchdog.stop();
  watchdog2.stop();
});

Deno.test("Watchdog.stop() keeps a pending wait from firing", async () => {
  let stalls = 0;
  const watchdog = new Watchdog(LIMIT_MS, () => stalls++);
  watchdog.begin();
  watchdog.stop();
  await elapse(2 * LIMIT_MS);
  assertEquals(stalls, 0);
});

Deno.test("Watchdog.end(true) counts as progress for the waits still under way", async () => {
  const fired = Promise.withResolvers<number>();
  let stalls = 0;
  const watchdog = new Watchdog(LIMIT_MS, () => {
    stalls++;
    fired.resolve(performance.now());
  });
  watchdog.begin(); // a body read that waits throughout
  const begun = performance.now();
  // Writes that complete every third of the limit, for three limits' time.
  while (performance.now() - begun < 3 * LIMIT_MS) {
    watchdog.begin();
    await elapse(LIMIT_MS / 3);
    watchdog.end(true);
  }
  assertEquals(stalls, 0);
  assert(watchdog.waiting);
  // Writes that end without moving bytes do not hold it off.
  const last = performance.now();
  watchdog.begin();
  watchdog.end(false);
  const at = await fired.promise;
  assert(at - last >= LIMIT_MS - 1, `fired ${at - last} ms after the last progress`);
  assertEquals(stalls, 1);
});

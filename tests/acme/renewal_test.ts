import { renewalDue, renewalDueAt, renewalTime, retryDelay } from "../../lib/acme/renewal.ts";
import { assertEquals } from "../_deps.ts";

const DAY = 86_400_000;
const START = Date.UTC(2030, 0, 1);
const NINETY_DAYS = { notBefore: new Date(START), notAfter: new Date(START + 90 * DAY) };

Deno.test("renewalDueAt() is two thirds into the lifetime", () => {
  assertEquals(renewalDueAt(NINETY_DAYS), START + 60 * DAY);
});

Deno.test("renewalDue() is false before two thirds, true after, and for not-yet-valid or expired", () => {
  const cases: [number, boolean][] = [
    [START - 1, true],
    [START, false],
    [START + 60 * DAY - 1, false],
    [START + 60 * DAY, true],
    [START + 91 * DAY, true],
  ];
  for (const [now, due] of cases) assertEquals(renewalDue(NINETY_DAYS, now), due, String(now));
});

Deno.test("renewalTime() adds up to a thirtieth of the lifetime of jitter, never earlier than due", () => {
  assertEquals(renewalTime(NINETY_DAYS, 0), START + 60 * DAY);
  assertEquals(renewalTime(NINETY_DAYS, 0.5), START + 61.5 * DAY);
  assertEquals(renewalTime(NINETY_DAYS, 0.999999) < START + 63 * DAY, true);
});

Deno.test("retryDelay() starts at 1 min and doubles up to 1 day", () => {
  const minutes = [1, 2, 3, 4, 5, 10, 11, 12, 30].map((failures) => retryDelay(failures) / 60_000);
  assertEquals(minutes, [1, 2, 4, 8, 16, 512, 1024, 1440, 1440]);
});

Deno.test("retryDelay() waits at least the server's Retry-After", () => {
  assertEquals(retryDelay(1, 3_600_000), 3_600_000);
  assertEquals(retryDelay(3, 1000), 240_000);
});

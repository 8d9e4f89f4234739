import { FailureReport } from "../lib/failure_report.ts";
import { assertEquals } from "./_deps.ts";
import { ManualClock } from "./_clock.ts";
import { recordingLogger } from "./_helpers.ts";

Deno.test("FailureReport.failed() reports at once, then at most once a minute with the count and last reason", () => {
  const clock = new ManualClock();
  const logger = recordingLogger();
  const report = new FailureReport(logger, clock, (n) => `${n} went wrong`);
  report.failed("first");
  report.failed("second");
  report.failed("third");
  assertEquals(logger.errors, ["1 went wrong (last: first)"]);
  clock.advance(60_000);
  report.failed("fourth");
  assertEquals(logger.errors, ["1 went wrong (last: first)", "3 went wrong (last: fourth)"]);
  assertEquals(report.total, 4);
});

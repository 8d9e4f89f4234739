import { RestartPolicy } from "../lib/restart_policy.ts";
import { assertEquals } from "./_deps.ts";

const LIMITS = { firstDelayMs: 100, maxDelayMs: 1000, windowMs: 60_000, maxDeaths: 5 };

Deno.test("RestartPolicy.died() doubles the delay while deaths keep coming, up to the most", () => {
  const policy = new RestartPolicy(LIMITS);
  const delays = [0, 1, 2, 3, 4].map((i) => policy.died(i * 1000));
  assertEquals(
    delays.map((decision) => decision.kind === "restart" ? decision.delayMs : -1),
    [100, 200, 400, 800, 1000],
  );
});

Deno.test("RestartPolicy.died() gives up past the most deaths within the window", () => {
  const policy = new RestartPolicy(LIMITS);
  for (let i = 0; i < 5; i++) assertEquals(policy.died(i).kind, "restart");
  assertEquals(policy.died(5), { kind: "give-up", deaths: 6 });
});

Deno.test("RestartPolicy.died() forgets deaths older than the window", () => {
  const policy = new RestartPolicy(LIMITS);
  for (let i = 0; i < 5; i++) policy.died(i);
  assertEquals(policy.died(60_000 + 4), { kind: "restart", delayMs: 100, deaths: 1 });
});

import { adminHandler, parseAdminAddress, PROMETHEUS_TYPE } from "../lib/admin.ts";
import { UserError } from "../lib/errors.ts";
import { assertEquals, assertThrows } from "./_deps.ts";

Deno.test("parseAdminAddress() reads a port on loopback or HOST:PORT, and refuses the rest", () => {
  const cases: [string, { hostname: string; port: number }][] = [
    ["9100", { hostname: "127.0.0.1", port: 9100 }],
    ["0.0.0.0:9100", { hostname: "0.0.0.0", port: 9100 }],
    ["[::1]:9100", { hostname: "::1", port: 9100 }],
    ["localhost:0", { hostname: "localhost", port: 0 }],
  ];
  for (const [text, address] of cases) assertEquals(parseAdminAddress(text, "--admin"), address);
  for (const bad of ["", "host", "70000", "::1:9100", "1.2.3.4:", "a b:1"]) {
    assertThrows(() => parseAdminAddress(bad, "--admin"), UserError, "--admin must be a port");
  }
});

Deno.test("adminHandler() answers /metrics, the health path, 404 and 405", async () => {
  let draining = false;
  const handler = adminHandler({
    metrics: () => Promise.resolve("portico_up 1\n"),
    draining: () => draining,
    health: "/healthz",
  });
  const ask = (path: string, method = "GET") =>
    handler(new Request(`http://localhost${path}`, { method }));
  const metrics = await ask("/metrics");
  assertEquals(metrics.headers.get("content-type"), PROMETHEUS_TYPE);
  assertEquals(await metrics.text(), "portico_up 1\n");
  assertEquals((await ask("/healthz")).status, 200);
  draining = true;
  assertEquals((await ask("/healthz")).status, 503);
  assertEquals((await ask("/other")).status, 404);
  const post = await ask("/metrics", "POST");
  assertEquals([post.status, post.headers.get("allow")], [405, "GET, HEAD"]);
  assertEquals((await ask("/metrics", "HEAD")).body, null);
});

/**
 * The admin listener of the command line: the workers' metrics merged in
 * the Prometheus text format, checked against the requests actually made,
 * and the health endpoint beside them.
 */

import { assertEquals } from "../_deps.ts";
import { parsePrometheus, sampleValue } from "../_prometheus.ts";
import { withMain } from "./_main.ts";

/** Makes a request on a connection of its own and drops the body. */
async function request(url: string, init: RequestInit = {}): Promise<number> {
  const response = await fetch(url, { ...init, headers: { connection: "close" } });
  await response.body?.cancel();
  return response.status;
}

Deno.test("main.ts --admin serves the workers' merged metrics, counting the requests made", async () => {
  await withMain(
    ["--workers", "2", "--admin", "127.0.0.1:0", "--health", "/healthz"],
    async (main) => {
      const [, adminUrl] = /metrics: (http:\/\/[^\s]+)\/metrics/.exec(
        await main.waitFor(/metrics: http:\/\/[^\s]+\/metrics/),
      )!;
      for (let i = 0; i < 5; i++) assertEquals(await request(main.url), 200);
      for (let i = 0; i < 3; i++) assertEquals(await request(main.url + "missing"), 404);
      assertEquals(await request(main.url, { method: "POST", body: "x" }), 405);

      const response = await fetch(adminUrl + "/metrics");
      assertEquals(
        response.headers.get("content-type"),
        "text/plain; version=0.0.4; charset=utf-8",
      );
      const metrics = parsePrometheus(await response.text());
      const requests = (method: string, kind: string) =>
        sampleValue(metrics, "portico_requests_total", { method, class: kind });
      assertEquals(requests("GET", "2xx"), 5);
      assertEquals(requests("GET", "4xx"), 3);
      assertEquals(requests("POST", "4xx"), 1);
      assertEquals(sampleValue(metrics, "portico_connections_total"), 9);
      assertEquals(sampleValue(metrics, "portico_request_duration_seconds_count"), 9);
      assertEquals(sampleValue(metrics, "portico_worker_restarts_total"), 0);

      const health = await fetch(adminUrl + "/healthz");
      assertEquals([health.status, await health.text()], [200, "ok\n"]);
      const other = await fetch(adminUrl + "/");
      await other.body?.cancel();
      assertEquals(other.status, 404);
    },
  );
});

import { silentLogger } from "../lib/log.ts";
import { serverMetrics, TIMEOUT_KIND, TLS_RESULT } from "../lib/metrics.ts";
import { meteredLogger, recordSample, timeoutCounter } from "../lib/server_metrics.ts";
import { assertEquals } from "./_deps.ts";

const ENTRY = {
  remote: "127.0.0.1",
  method: "GET",
  target: "/",
  protocol: "HTTP/1.1",
  status: 200,
  bytes: 12,
  milliseconds: 4,
  userAgent: null,
  referrer: null,
  requestId: "r1",
};

Deno.test("meteredLogger() counts requests, bytes, durations, bodies over the limit and head timeouts", () => {
  const metrics = serverMetrics();
  const passed: string[] = [];
  const logger = meteredLogger(
    { ...silentLogger, access: (entry) => passed.push(entry.target) },
    metrics,
  );
  logger.access(ENTRY);
  logger.access({ ...ENTRY, method: "POST", status: 413, bytes: 100 });
  logger.access({ ...ENTRY, method: "-", status: 408, bytes: 0 });
  assertEquals(passed.length, 3, "every line still goes to the logger");
  assertEquals(metrics.requests.at(0, 1).value, 1); // GET 2xx
  assertEquals(metrics.responseBytes.value, 112);
  assertEquals(metrics.requestDuration.count, 3);
  assertEquals(metrics.bodiesOverLimit.value, 1);
  assertEquals(metrics.timeouts.at(TIMEOUT_KIND.header).value, 1);
});

Deno.test("timeoutCounter() counts idle and body timeouts by kind", () => {
  const metrics = serverMetrics();
  const count = timeoutCounter(metrics);
  count("idle");
  count("idle");
  count("body");
  assertEquals(metrics.timeouts.at(TIMEOUT_KIND.idle).value, 2);
  assertEquals(metrics.timeouts.at(TIMEOUT_KIND.body).value, 1);
});

Deno.test("recordSample() sets gauges and moves counters up to totals, never down", () => {
  const metrics = serverMetrics();
  const cache = { hits: 7, misses: 2, bytes: 4096, entries: 3 };
  const handshakes = { ok: 3, failed: 1 };
  recordSample(metrics, {
    connectionsOpen: 4,
    connectionsTotal: 10,
    buffersInUse: 1,
    cache,
    handshakes,
  });
  recordSample(metrics, {
    connectionsOpen: 1,
    connectionsTotal: 9,
    buffersInUse: 0,
    cache: { ...cache, hits: 5 },
  });
  assertEquals(metrics.connectionsOpen.value, 1);
  assertEquals(metrics.connectionsTotal.value, 10);
  assertEquals(metrics.buffersInUse.value, 0);
  assertEquals(metrics.cacheHits.value, 7);
  assertEquals(metrics.cacheMisses.value, 2);
  assertEquals([metrics.cacheBytes.value, metrics.cacheEntries.value], [4096, 3]);
  assertEquals(metrics.tlsHandshakes.at(TLS_RESULT.ok).value, 3);
  assertEquals(metrics.tlsHandshakes.at(TLS_RESULT.failed).value, 1);
});

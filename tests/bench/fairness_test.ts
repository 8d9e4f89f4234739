/**
 * The fairness generator: its arithmetic (quantiles, spread, starved
 * connections) and response framing as pure functions, the harness's parse
 * of its output line, and one short run against a `Deno.serve` server. The
 * run needs Node.js; without it that test is ignored and its name says why.
 * Nothing here depends on how fast the machine is.
 */

import { assert, assertEquals, assertThrows } from "../_deps.ts";
import { parseHead, quantile, summarize } from "../../bench/fairness.mjs";
import { fairnessErrors, parseFairness, runFairness } from "../../bench/_fairness.ts";
import { which } from "../../bench/_servers.ts";

/** Asserts that two numbers are equal but for floating-point rounding. */
function assertNear(actual: number | null, expected: number, message = ""): void {
  assert(
    actual !== null && Math.abs(actual - expected) < 1e-9,
    `${actual} ≠ ${expected} ${message}`,
  );
}

/** Sorted numbers, a quantile, and the value expected. */
const QUANTILES: ReadonlyArray<[number[], number, number]> = [
  [[5], 0, 5],
  [[5], 0.99, 5],
  [[1, 2, 3, 4], 0.5, 2.5],
  [[1, 2, 3], 0.5, 2],
  [[0, 10], 0.01, 0.1],
  [[0, 10], 1, 10],
  [Array.from({ length: 101 }, (_, i) => i), 0.01, 1],
  [Array.from({ length: 101 }, (_, i) => i), 0.99, 99],
];

Deno.test("quantile() interpolates between the nearest ranks", () => {
  for (const [sorted, p, expected] of QUANTILES) {
    assertNear(quantile(sorted, p), expected, `(${p} of ${sorted.join(",")})`);
  }
});

Deno.test("summarize() gives the total, quantiles, spread and starved connections", () => {
  const counts = [100, 102, 98, 0];
  const figures = summarize(counts);
  assertEquals(counts, [100, 102, 98, 0], "the counts are not sorted in place");
  assertEquals(
    { ...figures, p1: undefined, p99: undefined, spread: undefined },
    {
      requests: 300,
      min: 0,
      p1: undefined,
      median: 99,
      p99: undefined,
      max: 102,
      spread: undefined,
      starved: 1,
    },
  );
  // Sorted 0, 98, 100, 102: p1 at rank 0.03, p99 at rank 2.97.
  assertNear(figures.p1, 2.94);
  assertNear(figures.p99, 101.94);
  assertNear(figures.spread, 99 / 99);
});

Deno.test("summarize() gives a spread of 0 for equal counts and none when the median is 0", () => {
  assertEquals(summarize([7, 7, 7]).spread, 0);
  assertEquals(summarize([7, 7, 7]).starved, 0);
  const idle = summarize([0, 0, 0, 5]);
  assertEquals([idle.spread, idle.starved, idle.median], [null, 3, 0]);
  assertThrows(() => summarize([]), RangeError);
});

Deno.test("summarize() of 1,000 connections ignores the extreme 1 % in its spread only", () => {
  const counts = Array.from({ length: 1000 }, (_, i) => i < 5 ? 0 : 200 + (i % 5));
  const figures = summarize(counts);
  assertEquals([figures.min, figures.median, figures.max, figures.starved], [0, 202, 204, 5]);
  assertNear(figures.spread, 4 / 202);
});

/** Response heads (without the final CRLF CRLF) and their framing. */
const HEADS: ReadonlyArray<[string, ReturnType<typeof parseHead>]> = [
  ["HTTP/1.1 200 OK\r\nContent-Length: 12", { status: 200, bodyLength: 12, close: false }],
  ["HTTP/1.1 200 OK\r\ncontent-length:4096\r\nETag: x", {
    status: 200,
    bodyLength: 4096,
    close: false,
  }],
  ['HTTP/1.1 304 Not Modified\r\nETag: "a"', { status: 304, bodyLength: 0, close: false }],
  ["HTTP/1.1 204", { status: 204, bodyLength: 0, close: false }],
  ["HTTP/1.1 404 Not Found\r\nContent-Length: 9", { status: 404, bodyLength: 9, close: false }],
  ["HTTP/1.0 200 OK\r\nContent-Length: 1", { status: 200, bodyLength: 1, close: true }],
  ["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0", {
    status: 200,
    bodyLength: 0,
    close: true,
  }],
];

/** Heads that cannot be framed, and a part of each one's message. */
const BAD_HEADS: ReadonlyArray<[string, string]> = [
  ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", "Transfer-Encoding"],
  ["HTTP/1.1 200 OK", "no Content-Length"],
  ["HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1", "Bad Content-Length"],
  ["HTTP/1.1 200 OK\r\nContent-Length: -1", "Bad Content-Length"],
  ["HTTP/1.1 200 OK\r\nContent-Length: 1e3", "Bad Content-Length"],
  ["ICY 200 OK", "Bad status line"],
  ["HTTP/1.1 2000 OK", "Bad status line"],
  ["HTTP/2 200", "Bad status line"],
  ["", "Bad status line"],
];

Deno.test("parseHead() frames responses by Content-Length, and none after 204 and 304", () => {
  for (const [text, expected] of HEADS) assertEquals(parseHead(text), expected, text);
});

Deno.test("parseHead() rejects chunked framing, a missing or repeated length, a bad status line", () => {
  for (const [text, message] of BAD_HEADS) {
    assertThrows(() => parseHead(text), SyntaxError, message);
  }
});

Deno.test("parseFairness() reads the last line and rejects output without a summary", () => {
  const line = JSON.stringify({ connections: 2, requests: 10, errors: { connect: 0 } });
  assertEquals(parseFairness(`warning\n${line}\n`).requests, 10);
  for (const output of ["", "\n", "not json\n", '{"connections":2}\n', "null\n"]) {
    assertThrows(() => parseFairness(output), SyntaxError);
  }
});

Deno.test("fairnessErrors() adds up every kind", () => {
  const errors = { connect: 1, reset: 2, closed: 3, timeout: 4, status: 5, protocol: 6 };
  assertEquals(fairnessErrors(errors), 21);
});

const NODE = which("node");

Deno.test({
  name: "runFairness() counts each connection's requests from a Deno.serve server" +
    (NODE === null ? " (ignored: node is not installed)" : ""),
  ignore: NODE === null,
  async fn() {
    let served = 0;
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => {
        served++;
        return request.headers.get("x-test") === "yes"
          ? new Response("ok")
          : new Response("no", { status: 400 });
      },
    );
    try {
      const summary = await runFairness(NODE ?? "node", {
        host: "127.0.0.1",
        port: server.addr.port,
        path: "/",
        connections: 4,
        seconds: 1,
        warmupS: 0,
        headers: ["X-Test: yes"],
        placement: { cpus: null, openFiles: null },
      }, AbortSignal.timeout(30_000));
      assertEquals(summary.connections, 4);
      assertEquals(summary.starved, 0, JSON.stringify(summary));
      assertEquals(fairnessErrors(summary.errors), 0, JSON.stringify(summary.errors));
      assert(summary.min > 0 && summary.requests <= served, JSON.stringify(summary));
      // Node's timers may fire a fraction of a millisecond before performance.now() says.
      assert(summary.seconds > 0.99, `window of ${summary.seconds} s`);
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name: "runFairness() counts error statuses as errors, not as requests served" +
    (NODE === null ? " (ignored: node is not installed)" : ""),
  ignore: NODE === null,
  async fn() {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response("no", { status: 503 }),
    );
    try {
      const summary = await runFairness(NODE ?? "node", {
        host: "127.0.0.1",
        port: server.addr.port,
        path: "/",
        connections: 2,
        seconds: 1,
        warmupS: 0,
        headers: [],
        placement: { cpus: null, openFiles: null },
      }, AbortSignal.timeout(30_000));
      assertEquals([summary.requests, summary.starved], [0, 2]);
      assert(summary.errors.status > 0, JSON.stringify(summary.errors));
    } finally {
      await server.shutdown();
    }
  },
});

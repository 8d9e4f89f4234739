/**
 * Slow and idle clients against the real server: heads trickled a byte at a
 * time get 408 once the header timeout passes, idle keep-alive connections
 * are closed quietly once the idle timeout passes, and neither starves a
 * normal client. Waits are reads and closes; timers only pace the trickle,
 * and elapsed times are measured and checked within generous margins.
 */

import { assert, assertEquals } from "../_deps.ts";
import { exchange, RawClient, withServer } from "../_helpers.ts";

/** The server's answer to every complete request. */
const ok = (): Response => new Response("ok");

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const GET_CLOSE = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
/** A head that a trickling client never finishes. */
const SLOW_PREFIX = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";

/**
 * Waits are timed from before the server's clock can start (before connecting,
 * or before sending the request), so they only come out short if a timer
 * fires early; allow this much all the same.
 */
const EARLY_MARGIN_MS = 200;
/** How long after a timeout every affected connection must be closed. */
const LATE_MARGIN_MS = 3000;
/** A normal request must be answered within this long, whatever else is going on. */
const PROMPT_MS = 1000;

/** How a connection that the server should end came to an end. */
interface Ending {
  /** The status the server sent before closing, or null when it sent nothing. */
  status: number | null;
  /** Whether the server closed the connection (rather than the client giving up). */
  closedByServer: boolean;
  /** Milliseconds from `since` until the close was seen. */
  elapsed: number;
  /** What went wrong on the client side, if anything. */
  error?: string;
}

/**
 * Waits for the server to end the connection: reads an optional response
 * (when `expectResponse`) and then the end of the stream, for at most
 * `closeWithinMs` (a connection still open then is `closedByServer: false`).
 */
async function awaitEnding(
  client: RawClient,
  since: number,
  expectResponse: boolean,
  closeWithinMs?: number,
): Promise<Ending> {
  let status: number | null = null;
  try {
    if (expectResponse) status = (await client.read()).status;
    const closed = await client.closedByServer(closeWithinMs);
    return { status, closedByServer: closed, elapsed: performance.now() - since };
  } catch (error) {
    return {
      status,
      closedByServer: false,
      elapsed: performance.now() - since,
      error: String(error),
    };
  }
}

/** Resolves after `ms`; used only to pace the trickle, never to wait for the server. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Closes `clients` after `ms` unless cancelled first, so that a server which
 * never closes them makes the test fail (their reads end) instead of hang.
 *
 * @returns Cancels the timer.
 */
function giveUpAfter(ms: number, clients: readonly RawClient[]): () => void {
  const timer = setTimeout(() => {
    for (const client of clients) client.close();
  }, ms);
  return () => clearTimeout(timer);
}

/** The result of one trickling connection. */
interface Trickle extends Ending {
  /** Bytes of the unfinished field value sent after the prefix. */
  trickled: number;
}

/**
 * Opens a connection that sends the start of a head and then one byte every
 * `intervalMs`, at most `maxBytes` of them, until the server answers and
 * closes. If the server never does, the client gives up and closes itself,
 * which the result reports as `closedByServer: false`.
 */
async function trickle(port: number, intervalMs: number, maxBytes: number): Promise<Trickle> {
  // Timed from before connecting: the server's clock for this connection cannot start earlier.
  const since = performance.now();
  const client = await RawClient.connect(port);
  let ended = false;
  let trickled = 0;
  try {
    await client.send(SLOW_PREFIX);
    const ending = awaitEnding(client, since, true).finally(() => {
      ended = true;
    });
    while (!ended && trickled < maxBytes) {
      await pause(intervalMs);
      if (ended) break;
      try {
        await client.send("a");
        trickled++;
      } catch {
        break; // The server has closed: writing fails, as expected.
      }
    }
    // Giving up closes the socket, which makes the pending read fail.
    if (!ended) client.close();
    return { ...await ending, trickled };
  } finally {
    client.close();
  }
}

/** Runs `tasks` with at most `width` at a time, keeping their results in order. */
async function inBatches<T>(
  count: number,
  width: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += width) {
    const batch: Promise<T>[] = [];
    for (let i = start; i < Math.min(count, start + width); i++) batch.push(task(i));
    results.push(...await Promise.all(batch));
  }
  return results;
}

/** Sends one request on a fresh connection and returns how long the 200 took. */
async function timedRequest(port: number): Promise<number> {
  const started = performance.now();
  const response = await exchange(port, GET_CLOSE);
  const elapsed = performance.now() - started;
  assertEquals(response.status, 200);
  assertEquals(response.text, "ok");
  return elapsed;
}

/** Summarises outcomes that failed a check, for the assertion message. */
function describe(bad: readonly Ending[]): string {
  return JSON.stringify(bad.slice(0, 5).map((e) => ({ ...e, elapsed: Math.round(e.elapsed) })));
}

Deno.test("serveConnection() closes connections that trickle a head past the header timeout, without starving others", async () => {
  const limits = { headerTimeoutMs: 1500, idleTimeoutMs: 1000 };
  const slowClients = 200;
  const intervalMs = 100;
  // The slow clients arrive in waves, so that their timeouts also come in waves
  // rather than as one burst that a busy machine takes long to get through.
  const waves = 8;
  const waveGapMs = 50;
  // Enough bytes to outlast the header timeout and its margin, then give up.
  const maxBytes = Math.ceil((limits.headerTimeoutMs + LATE_MARGIN_MS + 500) / intervalMs);

  await withServer(async (port, server) => {
    let slowDone = false;
    const slow = Promise.all(
      Array.from({ length: slowClients }, async (_, i) => {
        await pause((i % waves) * waveGapMs);
        return await trickle(port, intervalMs, maxBytes);
      }),
    ).finally(() => {
      slowDone = true;
    });

    // A normal client, one request every 100 ms, until every slow client has ended.
    const latencies: number[] = [];
    let mostConnections = 0;
    const normal = (async () => {
      for (let i = 0; i < 80 && !slowDone; i++) {
        latencies.push(await timedRequest(port));
        mostConnections = Math.max(mostConnections, server.connections);
        await pause(100);
      }
    })();

    const [results] = await Promise.all([slow, normal]);

    const not408 = results.filter((r) => r.status !== 408 || !r.closedByServer);
    assertEquals(not408.length, 0, `slow clients not answered 408 and closed: ${describe(not408)}`);
    const early = results.filter((r) => r.elapsed < limits.headerTimeoutMs - EARLY_MARGIN_MS);
    assertEquals(early.length, 0, `closed before the header timeout: ${describe(early)}`);
    const late = results.filter((r) => r.elapsed > limits.headerTimeoutMs + LATE_MARGIN_MS);
    assertEquals(late.length, 0, `closed long after the header timeout: ${describe(late)}`);
    // The trickle really did keep sending bytes while the head was pending.
    const minTrickled = Math.min(...results.map((r) => r.trickled));
    assert(minTrickled >= 5, `a slow client sent only ${minTrickled} bytes`);

    // The normal client ran while all the slow clients were held, and was never kept waiting.
    assert(mostConnections >= slowClients, `at most ${mostConnections} connections were open`);
    assert(latencies.length >= 5, `only ${latencies.length} normal requests ran`);
    const worst = Math.max(...latencies);
    assert(worst < PROMPT_MS, `a normal request took ${Math.round(worst)} ms`);
  }, { handler: ok, limits });
});

Deno.test("serveConnection() closes 1,000 idle keep-alive connections quietly after the idle timeout", async () => {
  // Long enough that opening all 1,000 finishes well before the first is closed,
  // even on a busy machine.
  const limits = { headerTimeoutMs: 5000, idleTimeoutMs: 3000 };
  const count = 1000;
  const giveUpMs = limits.idleTimeoutMs + LATE_MARGIN_MS + 1000;

  await withServer(async (port, server) => {
    const clients: RawClient[] = [];
    try {
      // Each connection: one keep-alive exchange, then a read that waits for the close.
      // (Wrapped in an object so that the batch does not wait for the close.)
      const opened = performance.now();
      const watches = await inBatches(count, 250, async () => {
        const client = await RawClient.connect(port);
        clients.push(client);
        // Timed from sending the request, before the server can start the idle
        // timer: seeing the response may come much later on a busy machine.
        const sent = performance.now();
        await client.send(GET);
        const response = await client.read();
        assertEquals(response.status, 200);
        assert(response.headers.get("connection")?.toLowerCase() !== "close");
        return { ending: awaitEnding(client, sent, false, giveUpMs) };
      });
      const openingMs = performance.now() - opened;
      const cancel = giveUpAfter(giveUpMs, clients);
      let closedSoFar = 0;
      const all = Promise.all(watches.map(async ({ ending }) => {
        const result = await ending;
        closedSoFar++;
        return result;
      }));

      // All 1,000 are held open and idle: the server still answers at once.
      assert(
        server.connections >= count,
        `only ${server.connections} connections open after ${Math.round(openingMs)} ms`,
      );
      const elapsed = await timedRequest(port);
      assert(elapsed < PROMPT_MS, `a fresh request took ${Math.round(elapsed)} ms`);
      assertEquals(
        closedSoFar,
        0,
        `idle connections closed while opening the rest (took ${Math.round(openingMs)} ms)`,
      );

      const results = await all.finally(cancel);
      const notClosed = results.filter((r) => !r.closedByServer);
      assertEquals(notClosed.length, 0, `not closed quietly by the server: ${describe(notClosed)}`);
      const early = results.filter((r) => r.elapsed < limits.idleTimeoutMs - EARLY_MARGIN_MS);
      assertEquals(early.length, 0, `closed before the idle timeout: ${describe(early)}`);
      const late = results.filter((r) => r.elapsed > limits.idleTimeoutMs + LATE_MARGIN_MS);
      assertEquals(late.length, 0, `closed long after the idle timeout: ${describe(late)}`);

      // The server forgets a connection as it closes it, before the client can see the close.
      assertEquals(server.connections, 0);
      // And the server is still serving afterwards.
      const after = await timedRequest(port);
      assert(after < PROMPT_MS, `a request after the closes took ${Math.round(after)} ms`);
    } finally {
      for (const client of clients) client.close();
    }
  }, { handler: ok, limits });
});

Deno.test("serveConnection() closes a silent connection quietly at the idle timeout but answers a partial head with 408", async () => {
  // Far enough apart that the two closes cannot be mistaken for each other.
  const limits = { headerTimeoutMs: 2000, idleTimeoutMs: 500 };

  await withServer(async (port) => {
    const clients: RawClient[] = [];
    try {
      const since = performance.now();
      const silent = await RawClient.connect(port);
      clients.push(silent);
      const partial = await RawClient.connect(port);
      clients.push(partial);
      await partial.send(SLOW_PREFIX);
      const giveUpMs = limits.headerTimeoutMs + LATE_MARGIN_MS + 1000;
      const cancel = giveUpAfter(giveUpMs, clients);
      const [quiet, timedOut] = await Promise.all([
        awaitEnding(silent, since, false, giveUpMs),
        awaitEnding(partial, since, true),
      ]).finally(cancel);

      // Nothing sent: closed with no bytes at all (closedByServer fails on any).
      assert(quiet.closedByServer, `silent connection: ${describe([quiet])}`);
      assert(quiet.elapsed >= limits.idleTimeoutMs - EARLY_MARGIN_MS, describe([quiet]));
      assert(quiet.elapsed < limits.headerTimeoutMs - EARLY_MARGIN_MS, describe([quiet]));

      // Part of a head sent: the idle timeout does not apply, the header timeout does.
      assertEquals(timedOut.status, 408, describe([timedOut]));
      assert(timedOut.closedByServer, describe([timedOut]));
      assert(timedOut.elapsed >= limits.headerTimeoutMs - EARLY_MARGIN_MS, describe([timedOut]));
      assert(timedOut.elapsed <= limits.headerTimeoutMs + LATE_MARGIN_MS, describe([timedOut]));
    } finally {
      for (const client of clients) client.close();
    }
  }, { handler: ok, limits });
});

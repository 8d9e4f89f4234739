// @ts-check
// Node.js runs this file, so its types are JSDoc: `deno check` reads them, the lint rule cannot.
// deno-lint-ignore-file explicit-module-boundary-types
/**
 * The fairness load generator: N keep-alive connections, each sending one
 * GET at a time, and how many requests each completed in the measured
 * window. wrk reports totals only; this reports how evenly they were shared,
 * which a server that serves some connections again and again while the
 * rest wait gets wrong.
 *
 * It runs on Node.js, not Deno, because the generator must itself be fair.
 * libuv's poll phase calls back every socket epoll reports ready (1,024 per
 * `epoll_wait`, asked again at once while the batches come back full), and
 * each callback sends its connection's next request in that same turn, so
 * no connection waits for another's. Deno's runtime takes a bounded number
 * of I/O events per turn of its event loop (`DENO_TOKIO_MAX_IO_EVENTS_PER_TICK`),
 * which is the very behaviour measured: a Deno generator could measure itself.
 *
 * ```sh
 * node bench/fairness.mjs HOST PORT PATH CONNECTIONS DURATION_S WARMUP_S ["Name: value" ...]
 * ```
 *
 * - All connections are opened at once; the warm-up starts when each has
 *   connected or failed once, the measured window when the warm-up ends.
 * - A connection that fails is counted by the kind of failure and replaced
 *   by a new one in its place, whose count goes on: a figure is per client,
 *   as in wrk. The kinds: `connect` (refused, or not connected within 10 s;
 *   retried after 100 ms), `reset` (a socket error after connecting),
 *   `closed` (the server closed the connection), `timeout` (no complete
 *   response 10 s after the request; deadlines are checked once a second),
 *   `protocol` (a response it cannot frame: no Content-Length, chunked, bytes
 *   nobody asked for). Errors are counted over the whole run, connecting
 *   included: a connection refused at the start is what fails first at
 *   10,000 connections.
 * - A response with a status of 400 or more counts as a `status` error, not
 *   as a request served.
 * - The responses measured are small static files: only Content-Length
 *   framing is read.
 *
 * It prints one JSON line to standard output: {@linkcode summarize}'s figures
 * with `connections`, `seconds` (the measured window), `requestsPerSecond`,
 * `errors` by kind, `connectSeconds` (until every connection had connected
 * or failed once) and `clientCpu` (its own CPU time ÷ the window: near 1, the
 * generator limited the rate). The file descriptor limit is the caller's to
 * raise (`ulimit -n`): it needs one per connection. Exit codes: 0 when it
 * measured, 1 when it failed, 2 for a mistake in the arguments.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import net from "node:net";
import process from "node:process";
import { pathToFileURL } from "node:url";

/** A connect not done, or a request not answered in full, this long after it began fails. */
const DEADLINE_MS = 10_000;
/** How often deadlines are checked: one timer for every connection, not one per request. */
const SWEEP_MS = 1_000;
/** Pause before a failed connect is tried again, so a refusing server is not hammered in a loop. */
const RETRY_MS = 100;
/** A response head longer than this cannot be one of the small static files measured. */
const MAX_HEAD_BYTES = 16 * 1024;
const CRLF2 = Buffer.from("\r\n\r\n");

/** The kinds of error counted, in output order. */
export const ERROR_KINDS = Object.freeze(
  /** @type {const} */ (["connect", "reset", "closed", "timeout", "status", "protocol"]),
);

/**
 * @typedef {typeof ERROR_KINDS[number]} ErrorKind
 *
 * @typedef {object} Figures What {@linkcode summarize} makes of the counts.
 * @property {number} requests Requests completed by all connections.
 * @property {number} min Fewest completed by one connection.
 * @property {number} p1 1st percentile.
 * @property {number} median Median.
 * @property {number} p99 99th percentile.
 * @property {number} max Most completed by one connection.
 * @property {number | null} spread (p99 − p1) ÷ median: at 0.05 the counts of the middle
 *   98 % of connections lie in a range 5 % of the median wide; null when the median is 0.
 * @property {number} starved Connections that completed no request.
 *
 * @typedef {object} Head The framing of a response head.
 * @property {number} status The status code.
 * @property {number} bodyLength Body bytes that follow the head.
 * @property {boolean} close Whether the server will close the connection after it.
 */

/**
 * A quantile of sorted numbers, interpolated linearly between the two
 * nearest ranks (the method of a spreadsheet's PERCENTILE and numpy's
 * default), so the 0.5 quantile of an even count is the mean of the middle two.
 *
 * @param {readonly number[]} sorted Numbers in ascending order, at least one.
 * @param {number} p The quantile, from 0 to 1.
 * @returns {number} The quantile.
 *
 * @example
 * ```ts
 * quantile([1, 2, 3, 4], 0.5); // 2.5
 * quantile([0, 10], 0.01); // 0.1
 * ```
 */
export function quantile(sorted, p) {
  const rank = (sorted.length - 1) * p;
  const below = Math.floor(rank);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (rank - below);
}

/**
 * The fairness figures of the requests each connection completed.
 *
 * @param {readonly number[]} counts One count per connection, at least one.
 * @returns {Figures} Total, min, p1, median, p99, max, spread and starved connections.
 *
 * @example
 * ```ts
 * const figures = summarize([100, 102, 98, 0]);
 * figures.median; // 99
 * figures.starved; // 1
 * ```
 */
export function summarize(counts) {
  if (counts.length === 0) throw new RangeError("Cannot summarize no connections");
  const sorted = [...counts].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const p1 = quantile(sorted, 0.01);
  const p99 = quantile(sorted, 0.99);
  return {
    requests: sorted.reduce((sum, n) => sum + n, 0),
    min: sorted[0],
    p1,
    median,
    p99,
    max: sorted[sorted.length - 1],
    spread: median === 0 ? null : (p99 - p1) / median,
    starved: sorted.filter((n) => n === 0).length,
  };
}

/**
 * The framing of a response head: its status, the length of its body and
 * whether the connection closes after it (RFC 9112 §6.3: no body after 1xx,
 * 204 or 304; §9.3 for `Connection: close`).
 *
 * @param {string} text The head up to, not including, its final CRLF CRLF (latin1).
 * @returns {Head} Status, body length and close.
 * @throws {SyntaxError} When the status line is not HTTP/1.x, or the body is
 *   not framed by one valid Content-Length.
 *
 * @example
 * ```ts
 * parseHead("HTTP/1.1 200 OK\r\nContent-Length: 12");
 * // { status: 200, bodyLength: 12, close: false }
 * ```
 */
export function parseHead(text) {
  const lines = text.split("\r\n");
  // RFC 9112 §4: HTTP-version SP 3DIGIT SP [reason-phrase]
  const statusLine = lines[0];
  const code = statusLine.slice(9, 12);
  const ended = statusLine.length === 12 || statusLine[12] === " ";
  if (!/^HTTP\/1\.[01] $/.test(statusLine.slice(0, 9)) || !/^[1-5][0-9]{2}$/.test(code) || !ended) {
    throw new SyntaxError(`Bad status line: ${statusLine.slice(0, 40)}`);
  }
  const status = Number(code);
  /** @type {number | null} */
  let length = null;
  let close = statusLine.startsWith("HTTP/1.0");
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "transfer-encoding") {
      throw new SyntaxError("Unsupported framing: Transfer-Encoding");
    }
    if (name === "content-length") {
      if (length !== null || !/^[0-9]{1,15}$/.test(value)) {
        throw new SyntaxError(`Bad Content-Length: ${value.slice(0, 40)}`);
      }
      length = Number(value);
    }
    if (name === "connection") close = value.toLowerCase().includes("close");
  }
  if (status < 200 || status === 204 || status === 304) return { status, bodyLength: 0, close };
  if (length === null) throw new SyntaxError("Unsupported framing: no Content-Length");
  return { status, bodyLength: length, close };
}

/**
 * @typedef {object} Options What to run, from the command line.
 * @property {string} host
 * @property {number} port
 * @property {number} connections
 * @property {number} seconds The measured window.
 * @property {number} warmup Seconds before it.
 * @property {Buffer} request The GET, every header included.
 *
 * @typedef {object} Client One connection's place: the socket in it now and what it has done.
 * @property {net.Socket | null} socket
 * @property {"connecting" | "waiting"} step Connecting, or a request sent and its response
 *   not complete yet.
 * @property {number} since When the step began, ms (`performance.now()`), for the deadline.
 * @property {Buffer | null} partial The head's bytes so far, while the head is incomplete.
 * @property {number} left Body bytes still to come, or -1 before the head is complete.
 * @property {Head | null} head The head of the response being read.
 * @property {number} count Requests served; reset when the window starts.
 * @property {boolean} settled Whether it has connected or failed once.
 *
 * @typedef {object} Run The state of one run.
 * @property {Options} options
 * @property {Client[]} clients
 * @property {Record<ErrorKind, number>} errors
 * @property {number} unsettled Clients that have not connected or failed yet.
 * @property {() => void} onSettled Called when the last one has.
 * @property {boolean} stopping
 */

/**
 * The options from the command line.
 *
 * @param {readonly string[]} args The arguments after the script.
 * @returns {Options} The options.
 * @throws {RangeError} With the usage line when they are wrong.
 */
function parseArgs(args) {
  const [host, port, path, connections, seconds, warmup, ...headers] = args;
  const whole = (/** @type {string | undefined} */ text, min = 0) =>
    /^[0-9]{1,6}$/.test(text ?? "") && Number(text) >= min;
  if (
    !host || !whole(port, 1) || !path?.startsWith("/") || !whole(connections, 1) ||
    !whole(seconds, 1) || !whole(warmup) || headers.some((line) => !line.includes(":"))
  ) {
    throw new RangeError(
      'Usage: node fairness.mjs HOST PORT PATH CONNECTIONS DURATION_S WARMUP_S ["Name: value" ...]',
    );
  }
  const head = [`GET ${path} HTTP/1.1`, `Host: ${host}:${port}`, ...headers, "", ""];
  return {
    host,
    port: Number(port),
    connections: Number(connections),
    seconds: Number(seconds),
    warmup: Number(warmup),
    request: Buffer.from(head.join("\r\n"), "latin1"),
  };
}

/** Opens a connection in the client's place; its first request goes when it is connected. */
function connect(/** @type {Run} */ run, /** @type {Client} */ client) {
  if (run.stopping) return;
  const socket = net.connect({ host: run.options.host, port: run.options.port });
  socket.setNoDelay(true);
  Object.assign(client, { socket, step: "connecting", since: performance.now() });
  // Events of a socket already replaced (it failed) are ignored.
  socket.on("connect", () => {
    if (client.socket !== socket) return;
    settle(run, client);
    send(run, client);
  });
  socket.on("data", (chunk) => {
    if (client.socket === socket) receive(run, client, chunk);
  });
  socket.on("error", () => {
    if (client.socket === socket) {
      fail(run, client, client.step === "connecting" ? "connect" : "reset");
    }
  });
  socket.on("close", () => {
    if (client.socket === socket) {
      fail(run, client, client.step === "connecting" ? "connect" : "closed");
    }
  });
}

/** Sends the client's next request. */
function send(/** @type {Run} */ run, /** @type {Client} */ client) {
  Object.assign(client, { step: "waiting", since: performance.now(), partial: null, left: -1 });
  client.socket?.write(run.options.request);
}

/** Takes bytes of the response: the head, then the body, counted down to its end. */
function receive(
  /** @type {Run} */ run,
  /** @type {Client} */ client,
  /** @type {Buffer} */ chunk,
) {
  if (client.step !== "waiting") return fail(run, client, "protocol");
  if (client.left === -1) {
    const bytes = client.partial === null ? chunk : Buffer.concat([client.partial, chunk]);
    const end = bytes.indexOf(CRLF2);
    if (end === -1) {
      if (bytes.length > MAX_HEAD_BYTES) return fail(run, client, "protocol");
      client.partial = bytes;
      return;
    }
    try {
      client.head = parseHead(bytes.toString("latin1", 0, end));
    } catch {
      return fail(run, client, "protocol");
    }
    client.partial = null;
    client.left = client.head.bodyLength - (bytes.length - end - CRLF2.length);
  } else {
    client.left -= chunk.length;
  }
  if (client.left > 0) return;
  // Bytes past the response's end were not asked for.
  if (client.left < 0) return fail(run, client, "protocol");
  answered(run, client);
}

/** A response is complete: count it and send the next request, or replace a closing connection. */
function answered(/** @type {Run} */ run, /** @type {Client} */ client) {
  const head = /** @type {Head} */ (client.head);
  if (head.status >= 400) run.errors.status++;
  else client.count++;
  if (head.close) fail(run, client, "closed");
  else send(run, client);
}

/** Counts an error and puts a new connection in the client's place. */
function fail(/** @type {Run} */ run, /** @type {Client} */ client, /** @type {ErrorKind} */ kind) {
  run.errors[kind]++;
  const socket = client.socket;
  client.socket = null; // before destroy(): the events it causes are then ignored
  socket?.destroy();
  settle(run, client);
  if (kind === "connect") setTimeout(() => connect(run, client), RETRY_MS);
  else connect(run, client);
}

/** Marks a client as having connected or failed once; the last one ends the connect phase. */
function settle(/** @type {Run} */ run, /** @type {Client} */ client) {
  if (client.settled) return;
  client.settled = true;
  if (--run.unsettled === 0) run.onSettled();
}

/** Fails every client whose connect or request has waited past the deadline. */
function sweep(/** @type {Run} */ run) {
  const now = performance.now();
  for (const client of run.clients) {
    if (client.socket === null) continue;
    if (now - client.since > DEADLINE_MS) {
      fail(run, client, client.step === "connecting" ? "connect" : "timeout");
    }
  }
}

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the generator: connect, warm up, measure, print one JSON line.
 *
 * @param {readonly string[]} args The arguments after the script.
 * @returns {Promise<number>} The exit code.
 */
async function main(args) {
  /** @type {Options} */
  let options;
  try {
    options = parseArgs(args);
  } catch (error) {
    console.error(`fairness: ${error instanceof Error ? error.message : error}`);
    return 2;
  }
  const started = performance.now();
  /** @type {() => void} */
  let onSettled = () => {};
  const settled = new Promise((resolve) => onSettled = () => resolve(undefined));
  /** @type {Run} */
  const run = {
    options,
    clients: Array.from({ length: options.connections }, () => ({
      socket: null,
      step: "connecting",
      since: 0,
      partial: null,
      left: -1,
      head: null,
      count: 0,
      settled: false,
    })),
    errors: { connect: 0, reset: 0, closed: 0, timeout: 0, status: 0, protocol: 0 },
    unsettled: options.connections,
    onSettled,
    stopping: false,
  };
  const sweeper = setInterval(() => sweep(run), SWEEP_MS);
  try {
    for (const client of run.clients) connect(run, client);
    await settled;
    const connectSeconds = (performance.now() - started) / 1000;
    await sleep(options.warmup * 1000);
    for (const client of run.clients) client.count = 0;
    const cpuBefore = process.cpuUsage();
    const windowStart = performance.now();
    await sleep(options.seconds * 1000);
    const counts = run.clients.map((client) => client.count);
    const seconds = (performance.now() - windowStart) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const figures = summarize(counts);
    console.log(JSON.stringify({
      connections: options.connections,
      seconds,
      requestsPerSecond: figures.requests / seconds,
      ...figures,
      errors: run.errors,
      connectSeconds,
      clientCpu: (cpu.user + cpu.system) / 1e6 / seconds,
    }));
    return 0;
  } catch (error) {
    console.error(`fairness: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    run.stopping = true;
    clearInterval(sweeper);
    for (const client of run.clients) {
      const socket = client.socket;
      client.socket = null;
      socket?.destroy();
    }
  }
}

// Run when it is the program, not when a test imports it.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}

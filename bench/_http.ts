/**
 * The harness's own HTTP/1.1 client over raw loopback sockets: free ports,
 * readiness polling, fetching an ETag, and holding many keep-alive
 * connections open. Raw sockets rather than `fetch`, so nothing is pooled or
 * retried behind the harness's back and every connection is one it chose to
 * open.
 *
 * @module
 */

import { sleep } from "./_process.ts";

/** The only address the benchmark talks to. */
export const HOST = "127.0.0.1";

/** The largest response head the client accepts. */
const MAX_HEAD_BYTES = 16 * 1024;

/** The parts of a response head the harness looks at. */
export interface ResponseHead {
  /** `HTTP/1.1` or `HTTP/1.0`. */
  readonly version: string;
  /** The status code. */
  readonly status: number;
  /** Header fields. */
  readonly headers: Headers;
}

/**
 * Picks a free loopback port: listens on port 0, reads the port the system
 * chose, and closes. Another process could take it before the server does;
 * a failed start then says so.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  try {
    return (listener.addr as Deno.NetAddr).port;
  } finally {
    listener.close();
  }
}

/**
 * The bytes of a GET request.
 *
 * @param port The server's port, for the Host field.
 * @param path The URL path.
 * @param headers Extra fields, `Name: value`.
 * @returns The request, ready to write.
 *
 * @example
 * ```ts
 * new TextDecoder().decode(getRequest(8000, "/12b", ["Connection: close"]));
 * // "GET /12b HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nConnection: close\r\n\r\n"
 * ```
 */
export function getRequest(port: number, path: string, headers: readonly string[]): Uint8Array {
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${HOST}:${port}`, ...headers, "", ""];
  return new TextEncoder().encode(lines.join("\r\n"));
}

/**
 * Where the blank line that ends a message head starts (the first CRLFCRLF).
 *
 * @param bytes Bytes received so far.
 * @returns The index of the CRLFCRLF, or -1 when the head is not complete yet.
 *
 * @example
 * ```ts
 * headEnd(new TextEncoder().encode("HTTP/1.1 200 OK\r\n\r\nbody")); // 15
 * ```
 */
export function headEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

/**
 * Parses a response head (status line and fields, without the blank line).
 *
 * @param text The head, decoded as Latin-1.
 * @returns Version, status and fields.
 * @throws {SyntaxError} When the status line is malformed.
 *
 * @example
 * ```ts
 * parseResponseHead("HTTP/1.1 304 Not Modified\r\nETag: \"x\"").status; // 304
 * ```
 */
export function parseResponseHead(text: string): ResponseHead {
  const lines = text.split("\r\n");
  const match = /^(HTTP\/1\.[01]) ([0-9]{3})(?: |$)/.exec(lines[0]);
  if (match === null) throw new SyntaxError(`malformed status line: ${lines[0].slice(0, 80)}`);
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new SyntaxError(`malformed header line: ${line.slice(0, 80)}`);
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { version: match[1], status: Number(match[2]), headers };
}

/**
 * Whether the server keeps a connection open after this response
 * (RFC 9112 §9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 only with `keep-alive`).
 *
 * @example
 * ```ts
 * keepsAlive({ version: "HTTP/1.0", status: 200, headers: new Headers() }); // false
 * ```
 */
export function keepsAlive(head: ResponseHead): boolean {
  const tokens = (head.headers.get("connection") ?? "").toLowerCase().split(",").map((t) =>
    t.trim()
  );
  if (tokens.includes("close")) return false;
  return head.version === "HTTP/1.1" || tokens.includes("keep-alive");
}

/**
 * Reads one response: the head, then as many body bytes as Content-Length
 * says (none for 304 and 1xx/204). Bytes past the body are not expected
 * (one request is outstanding) and are ignored.
 */
async function readResponse(conn: Deno.Conn): Promise<ResponseHead> {
  let received: Uint8Array = new Uint8Array(0);
  let end = -1;
  const chunk = new Uint8Array(64 * 1024);
  while ((end = headEnd(received)) === -1) {
    if (received.length > MAX_HEAD_BYTES) throw new Error("response head too large");
    const n = await conn.read(chunk);
    if (n === null) throw new Error("connection closed before a response head");
    received = concat(received, chunk.subarray(0, n));
  }
  const head = parseResponseHead(new TextDecoder("latin1").decode(received.subarray(0, end)));
  const noBody = head.status === 304 || head.status === 204 || head.status < 200;
  const length = noBody ? 0 : Number(head.headers.get("content-length") ?? "0");
  let body = received.length - (end + 4);
  while (body < length) {
    const n = await conn.read(chunk);
    if (n === null) throw new Error("connection closed in the middle of a response body");
    body += n;
  }
  return head;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** A response, and the connection when it was kept open. */
interface Exchange {
  readonly head: ResponseHead;
  /** The open connection, or null when it was closed after the response. */
  readonly conn: Deno.TcpConn | null;
}

/**
 * Connects, sends one GET and reads the response, all within `timeoutMs`:
 * the timer aborts a pending connect and closes the socket, which ends a
 * pending read or write.
 */
async function exchange(
  port: number,
  path: string,
  headers: readonly string[],
  timeoutMs: number,
  keep: boolean,
): Promise<Exchange> {
  const abort = new AbortController();
  let conn: Deno.TcpConn | null = null;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
    closeQuietly(conn);
  }, timeoutMs);
  try {
    conn = await Deno.connect({ hostname: HOST, port, signal: abort.signal });
    await writeAll(conn, getRequest(port, path, headers));
    const head = await readResponse(conn);
    if (keep && keepsAlive(head)) {
      const open = conn;
      conn = null;
      return { head, conn: open };
    }
    return { head, conn: null };
  } catch (error) {
    if (timedOut) throw new Error(`no response within ${timeoutMs} ms`);
    throw error;
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
}

function closeQuietly(conn: Deno.Conn | null): void {
  try {
    conn?.close();
  } catch {
    // Already closed (by the abort or the server).
  }
}

/**
 * Sends one GET on a fresh connection (closed afterwards) and returns the head.
 *
 * @param port The server's port on 127.0.0.1.
 * @param path The URL path.
 * @param headers Extra fields, `Name: value`.
 * @param timeoutMs Limit for connecting, sending and receiving.
 * @returns The response head.
 * @throws {Error} When there is no complete response in time.
 */
export async function get(
  port: number,
  path: string,
  headers: readonly string[] = [],
  timeoutMs = 2_000,
): Promise<ResponseHead> {
  return (await exchange(port, path, headers, timeoutMs, false)).head;
}

/** How {@linkcode waitUntilServing} polls. */
export interface PollOptions {
  /** Give up after this long, in milliseconds. */
  readonly totalMs: number;
  /** Pause between attempts, in milliseconds. */
  readonly intervalMs: number;
  /** Returns a reason to stop early (the process exited), or null to go on. */
  readonly stopped: () => string | null;
}

/**
 * Polls until a GET of `path` is answered 200: a TCP connect and a request
 * per attempt, a bounded number of attempts within a bounded time.
 *
 * @param port The server's port on 127.0.0.1.
 * @param path A file that exists.
 * @param options Limits and an early-stop check.
 * @returns Milliseconds from the call to the first 200.
 * @throws {Error} When time runs out or the process stops.
 */
export async function waitUntilServing(
  port: number,
  path: string,
  options: PollOptions,
): Promise<number> {
  const start = performance.now();
  const attempts = Math.ceil(options.totalMs / Math.max(options.intervalMs, 1)) + 1;
  let last = "no attempt made";
  for (let i = 0; i < attempts && performance.now() - start < options.totalMs; i++) {
    const stopped = options.stopped();
    if (stopped !== null) throw new Error(stopped);
    try {
      const head = await get(port, path, ["Connection: close"], 1_000);
      if (head.status === 200) return performance.now() - start;
      last = `answered ${head.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(options.intervalMs);
  }
  throw new Error(`not serving ${path} after ${options.totalMs / 1000} s (last attempt: ${last})`);
}

/** Connections opened by {@linkcode holdConnections}. */
export interface HeldConnections {
  /** Connections that got a keep-alive response and are still open. */
  readonly open: Deno.TcpConn[];
  /** Connections that got a response (kept open or not). */
  readonly answered: number;
  /** Whether the server closed the first connection after its response (no keep-alive at all). */
  readonly noKeepAlive: boolean;
  /** The first failure, or null. */
  readonly firstError: string | null;
}

/** Connections opened at once while building up the held set. */
const HOLD_BATCH = 100;

/**
 * Opens up to `count` connections, sends one GET on each and reads the
 * response, keeping the connections the server keeps alive. A first
 * connection probes for keep-alive (a server that closes it would close all
 * of them); then batches, each connection within `timeoutMs`, no new batch
 * after `totalMs`. The caller closes `open` (see {@linkcode closeAll}).
 *
 * @param port The server's port on 127.0.0.1.
 * @param path The URL path requested on each.
 * @param count How many to open.
 * @param limits Per-connection and total time limits, in milliseconds.
 * @returns The open connections and counts.
 */
export async function holdConnections(
  port: number,
  path: string,
  count: number,
  limits: { readonly timeoutMs: number; readonly totalMs: number },
): Promise<HeldConnections> {
  const start = performance.now();
  const open: Deno.TcpConn[] = [];
  let answered = 0;
  let firstError: string | null = null;
  const openBatch = async (size: number) => {
    const results = await Promise.allSettled(
      Array.from({ length: size }, () => exchange(port, path, [], limits.timeoutMs, true)),
    );
    for (const result of results) {
      if (result.status === "rejected") {
        firstError ??= result.reason instanceof Error ? result.reason.message : "failed";
        continue;
      }
      answered++;
      if (result.value.conn !== null) open.push(result.value.conn);
    }
  };
  await openBatch(1);
  if (answered === 1 && open.length === 0) {
    return { open, answered, noKeepAlive: true, firstError };
  }
  for (let done = 1; done < count && performance.now() - start < limits.totalMs;) {
    const batch = Math.min(HOLD_BATCH, count - done);
    await openBatch(batch);
    done += batch;
  }
  return { open, answered, noKeepAlive: false, firstError };
}

/**
 * Closes connections, ignoring those the server already closed.
 *
 * @param conns The connections.
 */
export function closeAll(conns: readonly Deno.Conn[]): void {
  for (const conn of conns) closeQuietly(conn);
}

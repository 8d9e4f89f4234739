/**
 * The harness's own HTTP/1.1 client over raw loopback sockets: free ports,
 * one GET with a bounded wait, readiness polling and holding many keep-alive
 * connections open. Raw sockets rather than `fetch`, so nothing is pooled or
 * retried behind the harness's back.
 *
 * @module
 */

/** The only address the benchmark talks to. */
export const HOST = "127.0.0.1";

/**
 * Picks a free loopback port: the one the system chooses for port 0. Another
 * process could take it before the server does; the server's start then fails.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  listener.close();
  return listener.addr.port;
}

/** A response head, and the connection when the server kept it open. */
export interface Reply {
  /** The status code. */
  readonly status: number;
  /** Header fields. */
  readonly headers: Headers;
  /** The connection, when asked to keep it and the server did; the caller closes it. */
  readonly conn: Deno.TcpConn | null;
}

const CRLF2 = [13, 10, 13, 10];

function headEnd(bytes: Uint8Array): number {
  for (let i = bytes.indexOf(13); i !== -1; i = bytes.indexOf(13, i + 1)) {
    if (CRLF2.every((byte, k) => bytes[i + k] === byte)) return i;
  }
  return -1;
}

/**
 * Reads one response to a GET: the head, then Content-Length body bytes
 * (none for a 304, nor when `withBody` is false: a HEAD, or only the head wanted).
 */
async function readReply(
  conn: Deno.TcpConn,
  withBody = true,
): Promise<Omit<Reply, "conn"> & { keep: boolean }> {
  const chunk = new Uint8Array(64 * 1024);
  let received = new Uint8Array(0);
  let end: number;
  while ((end = headEnd(received)) === -1) {
    if (received.length > 16 * 1024) throw new Error("response head too large");
    const n = await conn.read(chunk);
    if (n === null) throw new Error("connection closed before a response head");
    const joined = new Uint8Array(received.length + n);
    joined.set(received);
    joined.set(chunk.subarray(0, n), received.length);
    received = joined;
  }
  const [statusLine, ...lines] = new TextDecoder("latin1").decode(received.subarray(0, end))
    .split("\r\n");
  const status = Number(/^HTTP\/1\.[01] ([0-9]{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) throw new Error(`bad status line: ${statusLine.slice(0, 60)}`);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const length = status === 304 || !withBody ? 0 : Number(headers.get("content-length") ?? 0);
  for (let body = received.length - end - 4; body < length;) {
    const n = await conn.read(chunk);
    if (n === null) throw new Error("connection closed in the middle of a body");
    body += n;
  }
  // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
  const connection = (headers.get("connection") ?? "").toLowerCase();
  const keep = !connection.includes("close") &&
    (statusLine.startsWith("HTTP/1.1") || connection.includes("keep-alive"));
  return { status, headers, keep };
}

/**
 * Sends one request on a new connection and reads its response, all within
 * `timeoutMs` (the timer closes the socket, which ends a pending read).
 */
async function exchange(
  port: number,
  head: readonly string[],
  withBody: boolean,
  keep: boolean,
  timeoutMs: number,
): Promise<Reply> {
  const conn = await Deno.connect({ hostname: HOST, port, signal: AbortSignal.timeout(timeoutMs) });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeAll([conn]);
  }, timeoutMs);
  let kept = false;
  try {
    const bytes = new TextEncoder().encode([...head, "", ""].join("\r\n"));
    for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
    const reply = await readReply(conn, withBody);
    kept = keep && reply.keep;
    return { status: reply.status, headers: reply.headers, conn: kept ? conn : null };
  } catch (error) {
    throw timedOut ? new Error(`no response within ${timeoutMs} ms`) : error;
  } finally {
    clearTimeout(timer);
    if (!kept) closeAll([conn]);
  }
}

/**
 * Sends one GET on a new connection and reads the response, all within
 * `timeoutMs` (the timer closes the socket, which ends a pending read).
 *
 * @param port The server's port on 127.0.0.1.
 * @param path The URL path.
 * @param headers Extra fields, `Name: value`.
 * @param keep Whether to keep the connection open when the server does.
 * @param timeoutMs Limit for connecting, sending and receiving.
 * @returns The response head, and the open connection when kept.
 * @throws {Error} When there is no complete response in time.
 */
export function get(
  port: number,
  path: string,
  headers: readonly string[] = [],
  keep = false,
  timeoutMs = 2_000,
): Promise<Reply> {
  const head = [`GET ${path} HTTP/1.1`, `Host: ${HOST}:${port}`, ...headers];
  return exchange(port, head, true, keep, timeoutMs);
}

/**
 * Sends one request on a new connection, reads only the response head and
 * closes the connection (a body still coming is discarded): for timing how
 * long a server takes to start its answer.
 *
 * @param port The server's port on 127.0.0.1.
 * @param path The URL path.
 * @param method GET or HEAD.
 * @param timeoutMs Limit for connecting, sending and receiving.
 * @returns The status and header fields.
 * @throws {Error} When there is no complete response head in time.
 */
export async function fetchHead(
  port: number,
  path: string,
  method: "GET" | "HEAD" = "GET",
  timeoutMs = 10_000,
): Promise<Omit<Reply, "conn">> {
  const head = [`${method} ${path} HTTP/1.1`, `Host: ${HOST}:${port}`];
  const { status, headers } = await exchange(port, head, false, false, timeoutMs);
  return { status, headers };
}

/**
 * Polls with GETs of `path` until one is answered 200.
 *
 * @param port The server's port on 127.0.0.1.
 * @param path A file that exists.
 * @param limitMs Give up after this long.
 * @param stopped Why to give up at once (the process exited), or null to go on.
 * @throws {Error} When time runs out or the process exits.
 */
export async function waitUntilServing(
  port: number,
  path: string,
  limitMs: number,
  stopped: () => string | null,
): Promise<void> {
  const deadline = performance.now() + limitMs;
  let last = "no attempt";
  while (performance.now() < deadline && stopped() === null) {
    try {
      const { status } = await get(port, path, ["Connection: close"], false, 1_000);
      if (status === 200) return;
      last = `answered ${status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(stopped() ?? `not serving ${path} after ${limitMs / 1000} s (${last})`);
}

/** Connections opened by {@linkcode holdConnections}. */
export interface Held {
  /** Connections answered and kept alive; the caller closes them. */
  readonly open: Deno.TcpConn[];
  /** Whether the server closed the first connection after answering (no keep-alive at all). */
  readonly noKeepAlive: boolean;
  /** The first failure, or null. */
  readonly error: string | null;
}

/**
 * Opens `count` connections, 100 at a time, each with one GET answered, and
 * keeps those the server keeps alive. A first connection probes for
 * keep-alive: a server that closes it would close all of them.
 *
 * @param port The server's port on 127.0.0.1.
 * @param path The URL path requested on each.
 * @param count How many to open.
 * @returns The open connections.
 */
export async function holdConnections(port: number, path: string, count: number): Promise<Held> {
  const open: Deno.TcpConn[] = [];
  let error: string | null = null;
  for (let done = 0; done < count;) {
    const size = done === 0 ? 1 : Math.min(100, count - done);
    const replies = await Promise.allSettled(
      Array.from({ length: size }, () => get(port, path, [], true, 5_000)),
    );
    for (const reply of replies) {
      if (reply.status === "fulfilled" && reply.value.conn !== null) open.push(reply.value.conn);
      if (reply.status === "rejected") error ??= String(reply.reason?.message ?? reply.reason);
    }
    if (done === 0 && open.length === 0 && error === null) {
      return { open, noKeepAlive: true, error };
    }
    done += size;
  }
  return { open, noKeepAlive: false, error };
}

/**
 * Closes connections, ignoring those already closed.
 *
 * @param conns The connections.
 */
export function closeAll(conns: readonly Deno.Conn[]): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch {
      // Closed already (by the server, or by the timer).
    }
  }
}

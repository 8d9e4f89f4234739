/**
 * Stopping the program: a signal during a large download lets it finish
 * with exact bytes while new connections are refused, a download that does
 * not finish is cut at the deadline, and a second signal stops at once.
 */

import { assert, assertEquals, join } from "../_deps.ts";
import { DeadlineError, latin1, readWithin } from "../_helpers.ts";
import { type RunningMain, startMain } from "./_main.ts";

const BIG_BYTES = 100 * 1024 * 1024;

/** 100 MiB whose every byte depends on its offset, so a lost or repeated piece shows. */
function bigContent(): Uint8Array {
  const bytes = new Uint8Array(BIG_BYTES);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i ^ (i >>> 8) ^ (i >>> 17)) & 0xff;
  return bytes;
}

/** A root holding big.bin, and main.ts serving it with `args`. */
async function withBigFile(
  args: string[],
  fn: (main: RunningMain, content: Uint8Array) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "portico_shutdown_" });
  const content = bigContent();
  let main: RunningMain | null = null;
  try {
    await Deno.writeFile(join(root, "big.bin"), content);
    main = await startMain(["--quiet", "--root", root, ...args]);
    await fn(main, content);
  } finally {
    await main?.stop("SIGKILL");
    await Deno.remove(root, { recursive: true });
  }
}

/** Starts a download of /big.bin and reads its head and the first piece of body. */
async function startDownload(port: number): Promise<{ conn: Deno.TcpConn; received: Uint8Array }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(latin1("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n"));
  const buffer = new Uint8Array(1024 * 1024);
  let length = 0;
  let headEnd = -1;
  while (headEnd === -1) {
    const n = await readWithin(conn, buffer.subarray(length));
    assert(n !== null, "closed before the head");
    length += n;
    headEnd = buffer.subarray(0, length).findIndex((_, i, b) =>
      b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10
    );
  }
  const head = new TextDecoder().decode(buffer.subarray(0, headEnd));
  assert(head.startsWith("HTTP/1.1 200 "), head);
  assert(head.toLowerCase().includes(`content-length: ${BIG_BYTES}`), head);
  return { conn, received: buffer.slice(headEnd + 4, length) };
}

/** Reads to the end of the connection, checking every byte against `content` from `offset`. */
async function readRest(conn: Deno.TcpConn, content: Uint8Array, offset: number): Promise<number> {
  const buffer = new Uint8Array(1024 * 1024);
  while (true) {
    const n = await readWithin(conn, buffer).catch((error) => {
      // A reset ends the stream like a close; a server that goes quiet fails the test.
      if (error instanceof DeadlineError) throw error;
      return null;
    });
    if (n === null) return offset;
    for (let i = 0; i < n; i++) {
      if (buffer[i] !== content[offset + i]) throw new Error(`byte ${offset + i} differs`);
    }
    offset += n;
  }
}

/** How long the program may take to close its listener after a signal (generous). */
const REFUSED_WITHIN_MS = 10_000;

/** Whether a new connection to `port` is refused within {@linkcode REFUSED_WITHIN_MS}. */
async function refusedSoon(port: number): Promise<boolean> {
  const end = performance.now() + REFUSED_WITHIN_MS;
  while (performance.now() < end) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    } catch (error) {
      return error instanceof Deno.errors.ConnectionRefused;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

Deno.test("main.ts finishes a 100 MiB download on SIGTERM, refuses new connections and exits 0", async () => {
  await withBigFile(["--shutdown-timeout", "30s"], async (main, content) => {
    const { conn, received } = await startDownload(main.port);
    try {
      assert(received.every((byte, i) => byte === content[i]));
      const signalled = performance.now();
      main.child.kill("SIGTERM");
      // The download has not finished (this client has not read it) while
      // the listener is already closed.
      assert(await refusedSoon(main.port), "new connections are still accepted");
      const total = await readRest(conn, content, received.length);
      assertEquals(total, BIG_BYTES);
      const result = await main.exited();
      assertEquals(result.code, 0, result.stderr);
      assertEquals(result.stderr, "");
      const took = performance.now() - signalled;
      assert(took < 30_000, `exit took ${took} ms`);
    } finally {
      conn.close();
    }
  });
});

Deno.test("main.ts closes a download still running at --shutdown-timeout and exits 0", async () => {
  await withBigFile(["--shutdown-timeout", "500ms"], async (main, content) => {
    const { conn, received } = await startDownload(main.port);
    try {
      const signalled = performance.now();
      main.child.kill("SIGTERM");
      // Reading nothing, the client holds the response up until the deadline.
      const result = await main.exited();
      const took = performance.now() - signalled;
      assertEquals(result.code, 0, result.stderr);
      assert(took >= 450 && took < 10_000, `exit took ${took} ms`);
      // What did arrive is the start of the file, and not all of it.
      const total = await readRest(conn, content, received.length);
      assert(total < BIG_BYTES, `${total} bytes`);
    } finally {
      conn.close();
    }
  });
});

Deno.test("main.ts stops at once on a second signal", async () => {
  await withBigFile(["--shutdown-timeout", "60s"], async (main) => {
    const { conn } = await startDownload(main.port);
    try {
      const signalled = performance.now();
      main.child.kill("SIGTERM");
      assert(await refusedSoon(main.port));
      main.child.kill("SIGINT");
      const result = await main.exited();
      const took = performance.now() - signalled;
      assertEquals(result.code, 1);
      assertEquals(result.stderr.trim(), "portico: stopping now");
      assert(took < 10_000, `exit took ${took} ms`);
    } finally {
      conn.close();
    }
  });
});

/**
 * Fault survival against the real server: a client that resets in the middle
 * of a download; a file truncated, deleted or replaced while it is streamed;
 * and a read error in the middle of a file. In every case the server keeps
 * serving, a body that can no longer match its Content-Length ends with the
 * connection closed, and the event is logged once. (A process that runs out
 * of file descriptors is tested in `main/descriptors_test.ts`.)
 *
 * Waits are reads and bounded polls of the log; no timer stands in for an
 * event.
 */

import { assert, assertEquals, assertStringIncludes, join } from "./_deps.ts";
import type { AccessLogEntry, Logger } from "../lib/log.ts";
import { denoFileSystem, type FileHandle, type FileSystem } from "../lib/static/fs.ts";
import { REVALIDATE_MS } from "../lib/static/cache.ts";
import { serveStatic } from "../lib/static/mod.ts";
import { assertSameBytes } from "./_bytes.ts";
import { readWithin, until, within, withServer } from "./_helpers.ts";
import { manualClock } from "./static/_static.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** How long the server may take to close a connection whose response failed; generous. */
const CLOSE_MS = 5000;
/** How much of a body a client reads before the fault is caused. */
const READ_BEFORE_FAULT = 256 * KiB;

// ---------------------------------------------------------------------------
// Helpers

/** An error line as the server reported it. */
interface ErrorLine {
  message: string;
  error: unknown;
}

/** A logger that keeps every access entry and error, whole, for assertions. */
interface FaultLog extends Logger {
  readonly entries: AccessLogEntry[];
  readonly errors: ErrorLine[];
}

function faultLog(): FaultLog {
  const entries: AccessLogEntry[] = [];
  const errors: ErrorLine[] = [];
  return {
    entries,
    errors,
    access: (entry) => entries.push(entry),
    error: (message, error) => errors.push({ message, error }),
  };
}

/**
 * `size` bytes (a multiple of 4) that differ from one offset to the next
 * and never repeat within a file, so a shifted, duplicated or foreign block
 * shows up; `seed` makes files tell apart.
 */
function pattern(size: number, seed: number): Uint8Array<ArrayBuffer> {
  assertEquals(size % 4, 0, "pattern sizes are multiples of 4");
  const bytes = new Uint8Array(size);
  const words = new Uint32Array(bytes.buffer);
  for (let i = 0; i < words.length; i++) {
    words[i] = Math.imul(i + seed * 0x01000193, 0x9e3779b1) ^ (i >>> 13);
  }
  return bytes;
}

/** Whether `error` or one of its causes is `wanted`. */
function causedBy(error: unknown, wanted: unknown): boolean {
  for (let e = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    if (e === wanted) return true;
  }
  return false;
}

/** Creates a temporary document root with `files`, runs `fn` on it, then removes it. */
async function withRoot(
  files: Record<string, Uint8Array>,
  fn: (root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "portico-faults-" });
  try {
    for (const [name, data] of Object.entries(files)) await Deno.writeFile(join(root, name), data);
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const CRLF2 = [0x0d, 0x0a, 0x0d, 0x0a];

function headEnd(buf: Uint8Array): number {
  outer: for (let i = 0; i + 4 <= buf.length; i++) {
    for (let j = 0; j < 4; j++) if (buf[i + j] !== CRLF2[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * One GET over its own connection, reading the body straight into a buffer
 * of its Content-Length (`RawClient` re-copies its buffer on every read,
 * which is too slow for files of many megabytes). The test decides how much
 * to read, and when.
 */
class Download {
  readonly status: number;
  readonly headers: Headers;
  /** The size of the response head, blank line included. */
  readonly headBytes: number;
  /** Sized by Content-Length; `received` bytes of it are filled. */
  readonly body: Uint8Array;
  received: number;
  #conn: Deno.Conn;

  private constructor(
    conn: Deno.Conn,
    status: number,
    headers: Headers,
    headBytes: number,
    first: Uint8Array,
  ) {
    this.#conn = conn;
    this.status = status;
    this.headers = headers;
    this.headBytes = headBytes;
    this.body = new Uint8Array(Number(headers.get("content-length") ?? "0"));
    if (first.length > this.body.length) throw new Error("more bytes than Content-Length");
    this.body.set(first);
    this.received = first.length;
  }

  /** Connects, asks for `path`, and reads the response head. */
  static async start(port: number, path: string): Promise<Download> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const request = new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: faults.test\r\n\r\n`);
      for (let sent = 0; sent < request.length;) sent += await conn.write(request.subarray(sent));
      let buf = new Uint8Array(0);
      let end = -1;
      while (end === -1) {
        const chunk = new Uint8Array(16 * KiB);
        const n = await readWithin(conn, chunk);
        if (n === null) throw new Error("the connection closed before the response head");
        const next = new Uint8Array(buf.length + n);
        next.set(buf);
        next.set(chunk.subarray(0, n), buf.length);
        buf = next;
        end = headEnd(buf);
        if (end === -1 && buf.length > 64 * KiB) throw new Error("response head too long");
      }
      const lines = new TextDecoder().decode(buf.subarray(0, end)).split("\r\n");
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(lines[0]);
      if (status === null) throw new Error(`bad status line: ${lines[0]}`);
      const headers = new Headers();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
      }
      return new Download(conn, Number(status[1]), headers, end + 4, buf.subarray(end + 4));
    } catch (error) {
      conn.close();
      throw error;
    }
  }

  /** Reads until at least `n` body bytes have arrived; fails if the connection ends first. */
  async readAtLeast(n: number): Promise<void> {
    while (this.received < n) {
      const got = await readWithin(this.#conn, this.body.subarray(this.received));
      if (got === null) throw new Error(`the connection closed after ${this.received} bytes`);
      this.received += got;
    }
  }

  /** Reads the whole body (the connection stays open). */
  readAll(): Promise<void> {
    return this.readAtLeast(this.body.length);
  }

  /**
   * Reads until the server ends the connection: "closed" for an orderly
   * close, "reset" for a reset. Fails on bytes beyond Content-Length.
   */
  async readUntilClosed(): Promise<"closed" | "reset"> {
    const spare = new Uint8Array(KiB);
    try {
      while (true) {
        const full = this.received === this.body.length;
        const got = await readWithin(
          this.#conn,
          full ? spare : this.body.subarray(this.received),
        );
        if (got === null) return "closed";
        if (full) throw new Error("the server sent more bytes than its Content-Length");
        this.received += got;
      }
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) return "reset";
      throw error;
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * Asserts the byte count of an access entry for a response cut short: the
 * body bytes that reached the client, as for a complete response.
 */
function assertCutShortCount(entry: AccessLogEntry, client: Download): void {
  assertEquals(entry.incomplete, true, "the entry says the response was cut short");
  assertEquals(entry.bytes, client.received, "the entry counts the body bytes the client got");
}

/** Reads until the server closes the connection: "closed", "reset", or "still open". */
async function awaitClose(client: Download): Promise<string> {
  return await within(client.readUntilClosed(), CLOSE_MS) ?? `still open after ${CLOSE_MS} ms`;
}

/**
 * GETs `path` on a new connection, checks the head (200, `length` bytes) and
 * reads part of the body, so that a fault can strike mid-download.
 */
async function downloadUnderway(port: number, path: string, length: number): Promise<Download> {
  const client = await Download.start(port, path);
  try {
    assertEquals(client.status, 200);
    assertEquals(client.headers.get("content-length"), String(length));
    await client.readAtLeast(READ_BEFORE_FAULT);
    return client;
  } catch (error) {
    client.close();
    throw error;
  }
}

/** GETs `path` on a new connection and reads the whole response. */
async function download(port: number, path: string): Promise<Download> {
  const response = await Download.start(port, path);
  try {
    await response.readAll();
    return response;
  } finally {
    response.close();
  }
}

// ---------------------------------------------------------------------------
// Clients that leave

Deno.test("listen() keeps serving after a client resets mid-download", async () => {
  const big = pattern(32 * MiB, 1);
  const log = faultLog();
  await withRoot({ "big.bin": big }, async (root) => {
    await withServer(async (port) => {
      const quitter = await downloadUnderway(port, "/big.bin", big.length);
      // Bytes are left unread in its receive buffer, so the kernel answers
      // the close with a reset, and the server's next write fails.
      quitter.close();
      const cut = await until("the reset download's access entry", () => log.entries[0]);
      assertEquals(cut.target, "/big.bin");
      assertEquals(cut.status, 200);
      assertEquals(cut.incomplete, true, "the entry says the response was cut short");
      assert(cut.bytes >= quitter.received && cut.bytes < big.length, `bytes: ${cut.bytes}`);
      assertEquals(log.errors, [], "a client that leaves is not a fault");

      const again = await download(port, "/big.bin");
      assertEquals(again.status, 200);
      assertSameBytes(again.body, big, "the next download");
      await until("the second access entry", () => log.entries[1]);
      assertEquals(log.entries.length, 2, "one entry per request");
      assertEquals(log.entries[1].incomplete ?? false, false);
      assertEquals(log.entries[1].bytes, big.length);
      assertEquals(log.errors, []);
    }, { handler: serveStatic(root, { logger: log }), logger: log });
  });
});

// ---------------------------------------------------------------------------
// Files that change while they are sent

Deno.test("listen() closes the connection when a file is truncated while it is streamed", async () => {
  const original = pattern(16 * MiB, 2);
  const shortened = 1 * MiB;
  const log = faultLog();
  await withRoot({ "shrinking.bin": original }, async (root) => {
    await withServer(async (port) => {
      const client = await downloadUnderway(port, "/shrinking.bin", original.length);
      let ending: string;
      try {
        await Deno.truncate(join(root, "shrinking.bin"), shortened);
        ending = await awaitClose(client);
      } finally {
        client.close();
      }
      // Everything read before the truncation arrives, then an orderly
      // close: never a body padded or cut short under the promised length.
      assertEquals(ending, "closed");
      const received = client.received;
      assert(
        received < original.length,
        `the whole file arrived (${received} bytes): the truncation came too late to test`,
      );
      assert(received >= shortened, `${received} bytes: the server stopped before the new end`);
      assertSameBytes(
        client.body.subarray(0, received),
        original.subarray(0, received),
        "the bytes sent",
      );

      const entry = await until("the access entry", () => log.entries[0]);
      assertCutShortCount(entry, client);
      assertEquals(log.errors.length, 1, "one error line, not one per read");
      assertStringIncludes(log.errors[0].message, "GET /shrinking.bin");

      const after = await download(port, "/shrinking.bin");
      assertEquals(after.status, 200);
      assertSameBytes(after.body, original.subarray(0, shortened), "the file as it is now");
      await until("the second access entry", () => log.entries[1]);
      assertEquals(log.entries.length, 2);
      assertEquals(log.errors.length, 1);
    }, { handler: serveStatic(root, { logger: log }), logger: log });
  });
});

Deno.test("listen() finishes a download whose file is deleted meanwhile, then answers 404", async () => {
  const original = pattern(16 * MiB, 3);
  const log = faultLog();
  const clock = manualClock();
  await withRoot({ "doomed.bin": original }, async (root) => {
    await withServer(async (port) => {
      const client = await downloadUnderway(port, "/doomed.bin", original.length);
      try {
        // The open descriptor keeps the file's content until it is closed.
        await Deno.remove(join(root, "doomed.bin"));
        await client.readAll();
      } finally {
        client.close();
      }
      assertSameBytes(client.body, original, "the download of the deleted file");
      // The open-file cache trusts its lookup of a large file for a second.
      clock.advance(REVALIDATE_MS);
      const gone = await Download.start(port, "/doomed.bin");
      gone.close();
      assertEquals(gone.status, 404);

      await until("both access entries", () => log.entries[1]);
      assertEquals(log.entries.map((e) => [e.status, e.incomplete ?? false]), [
        [200, false],
        [404, false],
      ]);
      assertEquals(log.entries[0].bytes, original.length);
      assertEquals(log.errors, []);
    }, { handler: serveStatic(root, { logger: log, clock: clock.now }), logger: log });
  });
});

Deno.test("listen() finishes a download whose file is replaced meanwhile, then sends the new one", async () => {
  const original = pattern(16 * MiB, 4);
  const replacement = pattern(3 * MiB, 5);
  const log = faultLog();
  const clock = manualClock();
  await withRoot({ "site.bin": original }, async (root) => {
    await withServer(async (port) => {
      const client = await downloadUnderway(port, "/site.bin", original.length);
      try {
        // How deployments replace a file atomically: write next to it, rename over it.
        await Deno.writeFile(join(root, "site.bin.new"), replacement);
        await Deno.rename(join(root, "site.bin.new"), join(root, "site.bin"));
        await client.readAll();
      } finally {
        client.close();
      }
      assertSameBytes(client.body, original, "the download begun before the replacement");
      // The open-file cache trusts its lookup of a large file for a second.
      clock.advance(REVALIDATE_MS);
      const fresh = await download(port, "/site.bin");
      assertEquals(fresh.status, 200);
      assertSameBytes(fresh.body, replacement, "a download begun after it");

      await until("both access entries", () => log.entries[1]);
      assertEquals(log.entries.map((e) => [e.bytes, e.incomplete ?? false]), [
        [original.length, false],
        [replacement.length, false],
      ]);
      assertEquals(log.errors, []);
    }, { handler: serveStatic(root, { logger: log, clock: clock.now }), logger: log });
  });
});

// ---------------------------------------------------------------------------
// Read errors

/** What the faulty file system has done so far. */
interface FaultRecord {
  /** Bytes the faulty handle returned before it failed. */
  bytesBeforeFault: number;
  /** Failed reads. */
  faults: number;
  /** Whether the faulty handle was closed. */
  closed: boolean;
}

/**
 * The real file system, except that the first file opened whose path ends
 * with `name` fails its read after `goodReads` good ones, with `error`.
 */
function faultyFileSystem(
  name: string,
  goodReads: number,
  error: Error,
): { fs: FileSystem; record: FaultRecord } {
  const record: FaultRecord = { bytesBeforeFault: 0, faults: 0, closed: false };
  let armed = true;
  const fs: FileSystem = {
    realPath: (path) => denoFileSystem.realPath(path),
    stat: (path) => denoFileSystem.stat(path),
    open: async (path) => {
      const file = await denoFileSystem.open(path);
      if (!armed || !path.endsWith(name)) return file;
      armed = false;
      let reads = 0;
      const faulty: FileHandle = {
        read: async (p) => {
          if (reads++ === goodReads) {
            record.faults++;
            throw error;
          }
          const n = await file.read(p);
          record.bytesBeforeFault += n ?? 0;
          return n;
        },
        seek: (offset, whence) => file.seek(offset, whence),
        stat: () => file.stat(),
        close: () => {
          record.closed = true;
          file.close();
        },
      };
      return faulty;
    },
  };
  return { fs, record };
}

/** File buffers of 64 KiB: a 1 MiB file takes 16 reads, so a fault can fall mid-file. */
const SMALL_READS = { fileBufferBytes: 64 * 1024 };

/** Errors a read can fail with, including one that looks like a client leaving. */
const READ_FAULTS = [
  {
    name: "an EIO error",
    make: () => Object.assign(new Error("Input/output error (os error 5)"), { code: "EIO" }),
  },
  {
    name: "Deno.errors.Interrupted",
    make: () => new Deno.errors.Interrupted("Interrupted system call (os error 4)"),
  },
] as const;

for (const fault of READ_FAULTS) {
  Deno.test(`listen() closes the connection after ${fault.name} in the middle of a file`, async () => {
    const original = pattern(1 * MiB, 6);
    const error = fault.make();
    const { fs, record } = faultyFileSystem("/flaky.bin", 4, error);
    const log = faultLog();
    await withRoot({ "flaky.bin": original }, async (root) => {
      await withServer(async (port) => {
        const client = await Download.start(port, "/flaky.bin");
        let ending: string;
        try {
          assertEquals(client.status, 200);
          assertEquals(client.headers.get("content-length"), String(original.length));
          ending = await awaitClose(client);
        } finally {
          client.close();
        }
        assertEquals(record.faults, 1);
        assertEquals(ending, "closed");
        const received = client.received;
        assert(received > 0 && received <= record.bytesBeforeFault, `${received} bytes`);
        assert(received < original.length, "fewer bytes than Content-Length");
        assertSameBytes(
          client.body.subarray(0, received),
          original.subarray(0, received),
          "the bytes sent",
        );
        assert(record.closed, "the file that failed is closed");

        const entry = await until("the access entry", () => log.entries[0]);
        assertCutShortCount(entry, client);
        assertEquals(log.errors.length, 1, "one error line");
        assertStringIncludes(log.errors[0].message, "GET /flaky.bin");
        assert(causedBy(log.errors[0].error, error), "the line carries the read error");

        const after = await download(port, "/flaky.bin");
        assertEquals(after.status, 200);
        assertSameBytes(after.body, original, "the next download");
        assertEquals(log.errors.length, 1);
      }, {
        handler: serveStatic(root, { logger: log, fs, hashInlineBytes: 0 }),
        logger: log,
        tuning: SMALL_READS,
      });
    });
  });
}

Deno.test("listen() answers 500 when the first read of a file fails, then keeps serving", async () => {
  const original = pattern(1 * MiB, 7);
  const error = Object.assign(new Error("Input/output error (os error 5)"), { code: "EIO" });
  const { fs, record } = faultyFileSystem("/flaky.bin", 0, error);
  const log = faultLog();
  await withRoot({ "flaky.bin": original }, async (root) => {
    await withServer(async (port) => {
      const failed = await download(port, "/flaky.bin");
      assertEquals(failed.status, 500);
      assert(!new TextDecoder().decode(failed.body).includes("os error"), "no system error text");
      assertEquals(record.faults, 1);
      assert(record.closed, "the file that failed is closed");
      await until("the access entry", () => log.entries[0]);
      assertEquals(log.entries[0].status, 500);
      assertEquals(log.errors.length, 1, "one error line");
      assert(causedBy(log.errors[0].error, error), "the line carries the read error");

      const after = await download(port, "/flaky.bin");
      assertEquals(after.status, 200);
      assertSameBytes(after.body, original, "the next download");
      assertEquals(log.errors.length, 1);
    }, { handler: serveStatic(root, { logger: log, fs }), logger: log });
  });
});

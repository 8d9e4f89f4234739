/**
 * Tests for the buffered reader: request heads that arrive in any number of
 * reads, pipelined requests in one read, end of stream, and the byte and
 * line primitives the body decoder uses.
 */

import { assert, assertEquals, assertRejects } from "../_deps.ts";
import { DEFAULT_LIMITS } from "../../lib/config.ts";
import { ParseError } from "../../lib/errors.ts";
import { HeadScanner, parseRequestHead, type RequestHead } from "../../lib/http/parse.ts";
import { BufferedReader } from "../../lib/http/reader.ts";
import { bytes, FakeSource } from "./_fake_source.ts";

const FIXTURES = new URL("../fixtures/requests/", import.meta.url);
const MAX_HEAD = DEFAULT_LIMITS.maxHeadBytes;

function text(b: Uint8Array | null): string | null {
  return b === null ? null : String.fromCharCode(...b);
}

/** Everything left in the reader and its source. */
async function drain(reader: BufferedReader): Promise<string> {
  let out = "";
  for (let b = await reader.take(100); b; b = await reader.take(100)) out += text(b);
  return out;
}

function fixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(name, FIXTURES));
}

/** `raw` cut into pieces of `size` bytes. */
function pieces(raw: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < raw.length; i += size) out.push(raw.subarray(i, i + size));
  return out;
}

async function readAllHeads(reader: BufferedReader): Promise<RequestHead[]> {
  const scanner = new HeadScanner(DEFAULT_LIMITS);
  const heads: RequestHead[] = [];
  for (
    let h = await reader.readHead(scanner, MAX_HEAD);
    h;
    h = await reader.readHead(scanner, MAX_HEAD)
  ) {
    heads.push(h);
  }
  return heads;
}

async function headError(chunks: ReadonlyArray<string | Uint8Array>): Promise<number> {
  const reader = new BufferedReader(new FakeSource(chunks));
  const error = await assertRejects(
    () => reader.readHead(new HeadScanner(DEFAULT_LIMITS), MAX_HEAD),
    ParseError,
  );
  return (error as ParseError).status;
}

const PIPELINED = fixture("pipelined.http");
type Summary = Pick<RequestHead, "method" | "target" | "keepAlive" | "fields">;

const PIPELINED_SUMMARY: Summary[] = [
  { method: "GET", target: "/a", keepAlive: true, fields: [["host", "example.com"]] },
  {
    method: "HEAD",
    target: "/b/c.txt",
    keepAlive: true,
    fields: [["host", "example.com"], ["accept", "*/*"]],
  },
  {
    method: "GET",
    target: "/c?x=1",
    keepAlive: false,
    fields: [["host", "example.com"], ["connection", "close"]],
  },
];

function summary(heads: RequestHead[]): Summary[] {
  return heads.map(({ method, target, keepAlive, fields }) => ({
    method,
    target,
    keepAlive,
    fields,
  }));
}

Deno.test("BufferedReader.readHead() returns three pipelined requests from one read", async () => {
  const source = new FakeSource([PIPELINED]);
  const reader = new BufferedReader(source);
  const scanner = new HeadScanner(DEFAULT_LIMITS);
  const heads: RequestHead[] = [];
  for (let i = 0; i < 3; i++) {
    const h = await reader.readHead(scanner, MAX_HEAD);
    assert(h !== null, `request ${i}`);
    heads.push(h);
  }
  assertEquals(summary(heads), PIPELINED_SUMMARY);
  // All three came from the first read; nothing is left over.
  assertEquals(source.reads, 1);
  assertEquals(reader.buffered, 0);
  assertEquals(await reader.readHead(scanner, MAX_HEAD), null);
  assertEquals(source.reads, 2);
});

Deno.test("BufferedReader.readHead() reads pipelined requests fed one byte at a time", async () => {
  const reader = new BufferedReader(new FakeSource(pieces(PIPELINED, 1)));
  assertEquals(summary(await readAllHeads(reader)), PIPELINED_SUMMARY);
});

Deno.test("BufferedReader.readHead() reads pipelined requests split at every point", async () => {
  for (let split = 1; split < PIPELINED.length; split++) {
    const source = new FakeSource([PIPELINED.subarray(0, split), PIPELINED.subarray(split)]);
    const heads = await readAllHeads(new BufferedReader(source));
    assertEquals(summary(heads), PIPELINED_SUMMARY, `split ${split}`);
  }
});

Deno.test("BufferedReader.readHead() reads pipelined requests through a tiny growing buffer", async () => {
  for (const size of [1, 2, 3, 7, 13, 64]) {
    for (const initialSize of [1, 4, 16]) {
      const reader = new BufferedReader(new FakeSource(pieces(PIPELINED, size)), initialSize);
      const heads = await readAllHeads(reader);
      assertEquals(summary(heads), PIPELINED_SUMMARY, `pieces of ${size}, buffer ${initialSize}`);
    }
  }
});

Deno.test("BufferedReader.readHead() matches one-shot parsing for the browser fixture", async () => {
  const raw = fixture("browser_get.http");
  const expected = parseRequestHead(raw, DEFAULT_LIMITS)?.head;
  assert(expected !== undefined);
  for (const size of [1, 5, 100, raw.length]) {
    const reader = new BufferedReader(new FakeSource(pieces(raw, size)));
    assertEquals(await readAllHeads(reader), [expected], `pieces of ${size}`);
  }
});

Deno.test("BufferedReader.readHead() skips empty lines between pipelined requests", async () => {
  const one = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
  const two = "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  const reader = new BufferedReader(new FakeSource([one + "\r\n\r\n" + two + "\r\n"]));
  assertEquals((await readAllHeads(reader)).map((h) => h.target), ["/1", "/2"]);
});

const CLEAN_EOF: ReadonlyArray<{ name: string; chunks: string[]; targets: string[] }> = [
  { name: "before any request", chunks: [], targets: [] },
  { name: "after one request", chunks: ["GET /x HTTP/1.1\r\nHost: a\r\n\r\n"], targets: ["/x"] },
  { name: "after empty lines only", chunks: ["\r\n", "\r\n"], targets: [] },
  {
    name: "after a request split over reads",
    chunks: ["GET /y HTTP/1.1\r\nHo", "st: a\r\n", "\r\n"],
    targets: ["/y"],
  },
];

for (const c of CLEAN_EOF) {
  Deno.test(`BufferedReader.readHead() returns null on clean EOF ${c.name}`, async () => {
    const reader = new BufferedReader(new FakeSource(c.chunks));
    const scanner = new HeadScanner(DEFAULT_LIMITS);
    for (const target of c.targets) {
      assertEquals((await reader.readHead(scanner, MAX_HEAD))?.target, target);
    }
    assertEquals(await reader.readHead(scanner, MAX_HEAD), null);
    // End of stream is sticky.
    assertEquals(await reader.readHead(scanner, MAX_HEAD), null);
  });
}

Deno.test("BufferedReader.readHead() throws ParseError 400 on EOF at every point mid-head", async () => {
  const raw = fixture("browser_get.http");
  for (let cut = 1; cut < raw.length; cut++) {
    assertEquals(await headError([raw.subarray(0, cut)]), 400, `cut at ${cut}`);
  }
});

Deno.test("BufferedReader.readHead() throws 400 on EOF inside the second pipelined request", async () => {
  const reader = new BufferedReader(new FakeSource([PIPELINED.subarray(0, PIPELINED.length - 3)]));
  const scanner = new HeadScanner(DEFAULT_LIMITS);
  assertEquals((await reader.readHead(scanner, MAX_HEAD))?.target, "/a");
  assertEquals((await reader.readHead(scanner, MAX_HEAD))?.target, "/b/c.txt");
  const error = await assertRejects(() => reader.readHead(scanner, MAX_HEAD), ParseError);
  assertEquals((error as ParseError).status, 400);
});

Deno.test("BufferedReader.readHead() passes on the parser's statuses", async () => {
  assertEquals(await headError(["GET / HTTP/2.0\r\nHost: a\r\n\r\n"]), 505);
  assertEquals(await headError(["GET / HTTP/1.1\r\n\r\n"]), 400);
  assertEquals(await headError(["BREW / HTTP/1.1\r\nHost: a\r\n\r\n"]), 501);
  assertEquals(await headError(["GET /", "a".repeat(DEFAULT_LIMITS.maxTargetBytes)]), 414);
  // The error comes as soon as the bytes show it, without waiting for the end.
  assertEquals(await headError(["GET / HTTP/1.1\r\nHost : a"]), 400);
});

Deno.test("BufferedReader.readHead() answers 431 to a head over maxHeadBytes however it arrives", async () => {
  const raw = bytes(`GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ${"p".repeat(MAX_HEAD)}\r\n\r\n`);
  for (const size of [1024, 16 * 1024, raw.length]) {
    assertEquals(await headError(pieces(raw, size)), 431, `pieces of ${size}`);
  }
  // A head that never ends is refused too, not buffered without bound.
  assertEquals(await headError([bytes("GET / HTTP/1.1\r\nX: " + "p".repeat(4 * MAX_HEAD))]), 431);
});

Deno.test("BufferedReader.readHead() grows its buffer for a head larger than it", async () => {
  const pad = "p".repeat(20 * 1024);
  const raw = bytes(
    `GET /big HTTP/1.1\r\nHost: a\r\nX-Pad: ${pad}\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n`,
  );
  for (const initialSize of [16, 16 * 1024]) {
    const reader = new BufferedReader(new FakeSource(pieces(raw, 1000)), initialSize);
    const heads = await readAllHeads(reader);
    assertEquals(heads.map((h) => h.target), ["/big", "/next"], `buffer ${initialSize}`);
    assertEquals(heads[0].fields[1], ["x-pad", pad]);
  }
});

Deno.test("BufferedReader.readHead() leaves the body in the buffer for take()", async () => {
  const source = new FakeSource([fixture("content_length_post.http")]);
  const reader = new BufferedReader(source);
  const scanner = new HeadScanner(DEFAULT_LIMITS);
  const post = await reader.readHead(scanner, MAX_HEAD);
  assertEquals(post?.framing, { kind: "length", length: 13 });
  assertEquals(text(await reader.take(13)), "name=a&b=c\r\n!");
  assertEquals((await reader.readHead(scanner, MAX_HEAD))?.target, "/next");
  assertEquals(await reader.readHead(scanner, MAX_HEAD), null);
  assertEquals(source.reads, 2);
});

Deno.test("BufferedReader.take() returns a copy of at most max buffered bytes", async () => {
  const source = new FakeSource(["abcdef", "gh"]);
  const reader = new BufferedReader(source);
  const first = await reader.take(4);
  assertEquals(text(first), "abcd");
  assertEquals(reader.buffered, 2);
  first?.fill(0x7a); // A copy: changing it does not change what comes next.
  // Only what is buffered: no read while bytes remain.
  assertEquals(text(await reader.take(10)), "ef");
  assertEquals(source.reads, 1);
  assertEquals(text(await reader.take(10)), "gh");
  assertEquals(source.reads, 2);
  assertEquals(await reader.take(10), null);
  assertEquals(await reader.take(10), null);
});

Deno.test("BufferedReader.skip() drops at most max bytes and returns null at EOF", async () => {
  const reader = new BufferedReader(new FakeSource(["abcdef", "gh"]));
  assertEquals(await reader.skip(2), 2);
  assertEquals(await reader.skip(10), 4);
  assertEquals(await reader.skip(1), 1);
  assertEquals(text(await reader.take(10)), "h");
  assertEquals(await reader.skip(10), null);
});

const READ_LINE: ReadonlyArray<{
  name: string;
  chunks: string[];
  max: number;
  line?: string;
  status?: number;
}> = [
  { name: "a line", chunks: ["abc\r\nrest"], max: 5, line: "abc" },
  { name: "a line fed one byte at a time", chunks: [..."abc\r\nrest"], max: 5, line: "abc" },
  {
    name: "a line with CR and LF in separate reads",
    chunks: ["abc\r", "\nrest"],
    max: 5,
    line: "abc",
  },
  { name: "an empty line", chunks: ["\r\nrest"], max: 2, line: "" },
  { name: "obs-text as Latin-1", chunks: ["\xe9\xff\r\n"], max: 4, line: "\u00e9\u00ff" },
  { name: "a line one byte over max", chunks: ["abc\r\n"], max: 4, status: 400 },
  { name: "a long line without LF", chunks: ["abcdefgh"], max: 4, status: 400 },
  { name: "a long line fed one byte at a time", chunks: [..."abcdefgh\r\n"], max: 4, status: 400 },
  { name: "a bare LF", chunks: ["abc\n"], max: 10, status: 400 },
  { name: "an empty line with a bare LF", chunks: ["\n"], max: 10, status: 400 },
  { name: "EOF before the LF", chunks: ["abc\r"], max: 10, status: 400 },
  { name: "EOF at once", chunks: [], max: 10, status: 400 },
];

for (const c of READ_LINE) {
  const verb = c.status === undefined ? "reads" : `throws ${c.status} for`;
  Deno.test(`BufferedReader.readLine() ${verb} ${c.name}`, async () => {
    const reader = new BufferedReader(new FakeSource(c.chunks), 4);
    if (c.status === undefined) {
      assertEquals(await reader.readLine(c.max), c.line);
      // The line and its CRLF are consumed; what follows stays.
      const rest = c.chunks.join("").slice(c.line!.length + 2);
      assertEquals(await drain(reader), rest);
    } else {
      const error = await assertRejects(() => reader.readLine(c.max), ParseError);
      assertEquals((error as ParseError).status, c.status);
    }
  });
}

Deno.test("BufferedReader.fill() grows up to maxBuffered, then throws 431", async () => {
  const reader = new BufferedReader(new FakeSource(["abcdefghijkl"]), 4);
  assertEquals(await reader.fill(8), true);
  assertEquals(reader.buffered, 4);
  assertEquals(await reader.fill(8), true);
  assertEquals(reader.buffered, 8);
  const error = await assertRejects(() => reader.fill(8), ParseError);
  assertEquals((error as ParseError).status, 431);
  // Nothing was lost.
  assertEquals(text(await reader.take(100)), "abcdefgh");
});

Deno.test("BufferedReader.fill() makes room by moving unconsumed bytes to the front", async () => {
  const reader = new BufferedReader(new FakeSource(["abcd", "efgh"]), 4);
  assertEquals(await reader.fill(4), true);
  assertEquals(await reader.skip(3), 3);
  assertEquals(await reader.fill(4), true);
  assertEquals(reader.buffered, 4);
  assertEquals(text(await reader.take(4)), "defg");
  assertEquals(text(await reader.take(4)), "h");
});

Deno.test("BufferedReader.fill() returns false at EOF and does not read again", async () => {
  const source = new FakeSource(["ab"]);
  const reader = new BufferedReader(source);
  assertEquals(await reader.fill(), true);
  assertEquals(await reader.fill(), false);
  assertEquals(await reader.fill(), false);
  assertEquals(source.reads, 2);
  assertEquals(reader.buffered, 2);
});

/** A source whose reads resolve only when the test says so. */
class ManualSource {
  reads = 0;
  #pending: Array<(chunk: string | null) => void> = [];

  read(p: Uint8Array): Promise<number | null> {
    this.reads++;
    return new Promise((resolve) => {
      this.#pending.push((chunk) => {
        if (chunk === null) return resolve(null);
        p.set(bytes(chunk));
        resolve(chunk.length);
      });
    });
  }

  deliver(chunk: string | null): void {
    const next = this.#pending.shift();
    assert(next !== undefined, "a read is waiting");
    next(chunk);
  }
}

Deno.test("BufferedReader.fill() shares one read among concurrent callers", async () => {
  const source = new ManualSource();
  const reader = new BufferedReader(source);
  const first = reader.fill();
  const second = reader.fill();
  assertEquals(source.reads, 1);
  source.deliver("abc");
  assertEquals(await Promise.all([first, second]), [true, true]);
  assertEquals(reader.buffered, 3);
  assertEquals(text(await reader.take(10)), "abc");
});

Deno.test("BufferedReader.ended() is true at end of stream and keeps bytes that arrive", async () => {
  const source = new ManualSource();
  const reader = new BufferedReader(source);
  const watching = reader.ended();
  const head = reader.readHead(new HeadScanner(DEFAULT_LIMITS), MAX_HEAD);
  source.deliver("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  assertEquals(await watching, false, "bytes arrived: the peer is still there");
  assertEquals((await head)?.target, "/a", "and they were kept for the next head");
  const watchingAgain = reader.ended();
  source.deliver(null);
  assertEquals(await watchingAgain, true);
  assertEquals(await reader.ended(), true);
  assertEquals(source.reads, 2);
});

Deno.test("BufferedReader.ended() is true when the read fails", async () => {
  const reader = new BufferedReader({
    read: () => Promise.reject(new Deno.errors.ConnectionReset("reset")),
  });
  assertEquals(await reader.ended(), true);
});

Deno.test("BufferedReader.ended() does not read into a full buffer", async () => {
  const source = new ManualSource();
  const reader = new BufferedReader(source, 8);
  const filling = reader.fill(8);
  source.deliver("12345678");
  await filling;
  assertEquals(reader.full, true);
  assertEquals(await reader.ended(), false);
  assertEquals(source.reads, 1, "no read was started");
  await reader.take(3);
  assertEquals(reader.full, false);
});

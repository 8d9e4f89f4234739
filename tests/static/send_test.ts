import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "../_deps.ts";
import { bodySourceOf } from "../../lib/http/body_source.ts";
import { BufferPool, HEAD_ROOM_BYTES, MIN_BUFFER_BYTES } from "../../lib/http/buffer_pool.ts";
import { BodyError, type ResponseContext, writeResponse } from "../../lib/http/response.ts";
import type { FileHandle, FileStat } from "../../lib/static/fs.ts";
import type { ByteRange } from "../../lib/static/range.ts";
import {
  fileRepresentation,
  notModifiedHeaders,
  pageRepresentation,
} from "../../lib/static/headers.ts";
import { FileSource, headResponse, sendFile } from "../../lib/static/send.ts";
import { assertSameBytes, binary, multipartParts, randomBytes } from "../_bytes.ts";
import { concat } from "./_static.ts";

const TYPE = "application/octet-stream";
const MTIME = new Date("2024-05-06T07:08:09Z");
/** An odd size, so no buffer or chunk size divides it. */
const SIZE = 100_003;
const GET11: ResponseContext = { method: "GET", minor: 1, keepAlive: true, server: "portico/test" };

const encoder = new TextEncoder();

/** Asserts that two byte strings are equal, naming the first difference (no huge diff). */
function assertSameText(actual: string, expected: string, what: string): void {
  if (actual === expected) return;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  throw new Error(
    `${what}: first difference at byte ${i} (lengths ${actual.length}, ${expected.length}): ` +
      `${JSON.stringify(actual.slice(i, i + 40))} vs ${JSON.stringify(expected.slice(i, i + 40))}`,
  );
}

interface FakeFileOptions {
  /** Most bytes one read returns, to exercise short reads. */
  maxRead?: number;
  /** The read call (0-based) that throws {@linkcode CountingFile.fault}. */
  failOnRead?: number;
  /** Events shared with a sink: "read" for each read call. */
  log?: string[];
}

/** An open file backed by bytes in memory that counts what is asked of it. */
class CountingFile implements FileHandle {
  readonly fault = new Error("Input/output error (os error 5)");
  readonly log: string[];
  /** Calls to read(). */
  reads = 0;
  /** Bytes read() returned, in all. */
  bytesRead = 0;
  /** The largest buffer read() was given. */
  largestRequest = 0;
  /** Offsets sought to. */
  seeks: number[] = [];
  /** Calls to close(). */
  closes = 0;
  #data: Uint8Array;
  #position = 0;
  #maxRead: number;
  #failOnRead: number;

  constructor(data: Uint8Array, options: FakeFileOptions = {}) {
    this.#data = data;
    this.#maxRead = options.maxRead ?? Infinity;
    this.#failOnRead = options.failOnRead ?? -1;
    this.log = options.log ?? [];
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.closes > 0) return Promise.reject(new Deno.errors.BadResource("read after close"));
    this.log.push("read");
    if (this.reads++ === this.#failOnRead) return Promise.reject(this.fault);
    this.largestRequest = Math.max(this.largestRequest, p.length);
    if (this.#position >= this.#data.length) return Promise.resolve(null);
    const n = Math.min(p.length, this.#maxRead, this.#data.length - this.#position);
    p.set(this.#data.subarray(this.#position, this.#position + n));
    this.#position += n;
    this.bytesRead += n;
    return Promise.resolve(n);
  }

  seek(offset: number, whence: Deno.SeekMode): Promise<number> {
    assertEquals(whence, Deno.SeekMode.Start);
    this.seeks.push(offset);
    this.#position = offset;
    return Promise.resolve(offset);
  }

  stat(): Promise<FileStat> {
    return Promise.resolve(statOf(this.#data.length));
  }

  close(): void {
    this.closes++;
  }
}

function statOf(size: number): FileStat {
  return { isFile: true, isDirectory: false, size, mtime: MTIME, ino: 1, ctime: MTIME };
}

/** The 200 representation of a file of `size` bytes. */
function fileOf(size: number) {
  return fileRepresentation(statOf(size), TYPE);
}

/** Reads a source to its end through a `bufferBytes` buffer, checking `left` after each read. */
async function drain(source: FileSource, bufferBytes: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(bufferBytes);
  const parts: Uint8Array[] = [];
  let left = source.left;
  while (true) {
    const n = await source.read(buffer);
    if (n === null) break;
    assert(n >= 1 && n <= bufferBytes, `a read copies 1 to ${bufferBytes} bytes, not ${n}`);
    parts.push(buffer.slice(0, n));
    left -= n;
    assertEquals(source.left, left, "left goes down by what each read copied");
  }
  assertEquals(source.left, 0, "nothing is left at the end");
  return concat(parts);
}

function slice(data: Uint8Array, range: ByteRange): Uint8Array {
  return data.subarray(range.start, range.end + 1);
}

function rangeRequest(range?: string): Request {
  return new Request("http://localhost/file.bin", {
    headers: range === undefined ? {} : { range },
  });
}

/** A sink that takes at most `maxBytes` of each write, copying them; "write" goes to `log`. */
function choppySink(maxBytes: number, log: string[] = []) {
  const parts: Uint8Array[] = [];
  const sink = {
    /** Length of what each write() was offered. */
    offered: [] as number[],
    write(p: Uint8Array): Promise<number> {
      log.push("write");
      sink.offered.push(p.length);
      const n = Math.min(p.length, maxBytes);
      parts.push(p.slice(0, n));
      return Promise.resolve(n);
    },
    bytes: (): Uint8Array => concat(parts),
  };
  return sink;
}

/** A written message split into its head (text) and body (bytes). */
function splitMessage(message: Uint8Array): { head: string; body: Uint8Array } {
  const text = binary(message);
  const end = text.indexOf("\r\n\r\n");
  assert(end !== -1, "the message has a complete head");
  return { head: text.slice(0, end + 4), body: message.subarray(end + 4) };
}

/** The message as text with the date line and the multipart boundary made constant. */
function normalized(message: Uint8Array, response: Response): string {
  let text = binary(message).replace(/\r\ndate: [^\r]*\r\n/, "\r\ndate: DATE\r\n");
  const boundary = /boundary=(\w+)/.exec(response.headers.get("content-type") ?? "")?.[1];
  if (boundary !== undefined) text = text.replaceAll(boundary, "BOUNDARY");
  return text;
}

Deno.test("FileSource.read() reads only the bytes of a single range", async () => {
  const data = randomBytes(10_000);
  const range = { start: 1000, end: 2999 };
  const file = new CountingFile(data, { maxRead: 700 });
  const source = new FileSource(file, [range]);
  assertEquals(source.left, 2000);
  const body = await drain(source, 64 * 1024);
  assertSameBytes(body, slice(data, range), "body");
  assertEquals(file.seeks, [1000], "one seek, to the start of the range");
  assertEquals(file.bytesRead, 2000, "not one byte beyond the range is read");
  assert(file.largestRequest <= 2000, `asked for ${file.largestRequest} bytes`);
  assertEquals(file.closes, 1);
});

Deno.test("FileSource.read() yields heads, ranges and tail in order through a tiny buffer", async () => {
  const data = randomBytes(1000, 7);
  // Out of order, so the file is sought backwards too.
  const ranges = [{ start: 10, end: 29 }, { start: 500, end: 520 }, { start: 3, end: 5 }];
  const heads = ["--first part head--\r\n", "\r\n--second--\r\n", "\r\n--third part--\r\n"]
    .map((s) => encoder.encode(s));
  const tail = encoder.encode("\r\n--the end--\r\n");
  const expected = concat([
    heads[0],
    slice(data, ranges[0]),
    heads[1],
    slice(data, ranges[1]),
    heads[2],
    slice(data, ranges[2]),
    tail,
  ]);
  for (const bufferBytes of [1, 7, 64, 4096]) {
    const file = new CountingFile(data, { maxRead: 5 });
    const source = new FileSource(file, ranges, heads, tail);
    assertEquals(source.left, expected.length, "left starts at the whole body");
    const body = await drain(source, bufferBytes);
    assertSameBytes(body, expected, `body through a ${bufferBytes}-byte buffer`);
    assertEquals(file.seeks, [10, 500, 3]);
    assertEquals(file.bytesRead, 20 + 21 + 3, "only the ranges' bytes are read");
    assertEquals(file.closes, 1);
  }
});

Deno.test("FileSource.close() closes the file exactly once, however often it is called", async () => {
  const data = randomBytes(100);
  const range = { start: 0, end: 99 };

  const ended = new CountingFile(data);
  const source = new FileSource(ended, [range]);
  await drain(source, 30);
  assertEquals(ended.closes, 1, "closed at the end");
  assertEquals(await source.read(new Uint8Array(30)), null, "and still ended");
  source.close();
  source.close();
  assertEquals(ended.closes, 1);

  const unread = new CountingFile(data);
  const closed = new FileSource(unread, [range]);
  closed.close();
  closed.close();
  assertEquals(unread.closes, 1, "close() twice closes once");
  assertEquals(unread.reads, 0);

  const failing = new CountingFile(data, { failOnRead: 1 });
  const broken = new FileSource(failing, [range]);
  assertEquals(await broken.read(new Uint8Array(30)), 30);
  const error = await assertRejects(() => broken.read(new Uint8Array(30)));
  assert(error === failing.fault, "the file's own error");
  assertEquals(failing.closes, 1, "closed on error");
  broken.close();
  assertEquals(failing.closes, 1);
});

Deno.test("FileSource.read() rejects when the file ends before the range and closes it", async () => {
  const data = randomBytes(50);
  const cases: [string, ByteRange, number][] = [
    ["a range past the end of the file", { start: 0, end: 99 }, 50],
    ["a range starting past the end", { start: 60, end: 99 }, 0],
  ];
  for (const [what, range, good] of cases) {
    const file = new CountingFile(data);
    const source = new FileSource(file, [range]);
    const buffer = new Uint8Array(64);
    let got = 0;
    const error = await assertRejects(async () => {
      while (true) {
        const n = await source.read(buffer);
        assert(n !== null, `${what}: the source must not end quietly`);
        got += n;
      }
    });
    assertEquals(error.message, "File ended before its expected size", what);
    assertEquals(got, good, `${what}: the bytes that were there`);
    assertEquals(file.closes, 1, what);
    source.close();
    assertEquals(file.closes, 1, what);
  }
});

// ------------------------------------------------------------------ sendFile

Deno.test("sendFile() answers with a body source that reads what the stream reads", async () => {
  const data = randomBytes(SIZE);
  const cases: [string | undefined, number, Uint8Array | null][] = [
    [undefined, 200, data],
    ["bytes=1000-1999", 206, data.subarray(1000, 2000)],
    ["bytes=-4097", 206, data.subarray(SIZE - 4097)],
    ["bytes=0-9,50000-50009", 206, null],
  ];
  for (const [range, status, expected] of cases) {
    const what = range ?? "whole file";
    // One response read through its source...
    const viaSource = new CountingFile(data);
    const first = sendFile(rangeRequest(range), viaSource, fileOf(SIZE));
    assertEquals(first.status, status, what);
    const source = bodySourceOf(first);
    assert(source instanceof FileSource, `${what}: has a source`);
    const sourced = await drain(source, 4096);
    assertEquals(viaSource.closes, 1, what);

    // ... and one read as a stream, after which it has no source to copy from.
    const viaStream = new CountingFile(data);
    const second = sendFile(rangeRequest(range), viaStream, fileOf(SIZE));
    const reader = second.body!.getReader();
    assertEquals(bodySourceOf(second), undefined, `${what}: no source once the stream is locked`);
    const parts: Uint8Array[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
    const streamed = concat(parts);
    assertEquals(viaStream.closes, 1, `${what}: the stream closes the file once`);
    assertEquals(bodySourceOf(second), undefined, what);

    assertEquals(sourced.length, Number(first.headers.get("content-length")), what);
    assertEquals(viaSource.bytesRead, viaStream.bytesRead, `${what}: same file bytes read`);
    if (expected !== null) {
      assertSameBytes(sourced, expected, `${what}: via the source`);
      assertSameBytes(streamed, expected, `${what}: via the stream`);
      assertEquals(viaSource.bytesRead, expected.length, `${what}: only the range is read`);
    } else {
      // Multipart: each response has its own boundary.
      const a = multipartParts(sourced, first.headers.get("content-type")!);
      const b = multipartParts(streamed, second.headers.get("content-type")!);
      assertEquals(a.map((p) => p.fields.get("content-range")), [
        `bytes 0-9/${SIZE}`,
        `bytes 50000-50009/${SIZE}`,
      ]);
      const flat = (parts: typeof a) => parts.map((p) => [[...p.fields], binary(p.bytes)]);
      assertEquals(flat(a), flat(b), what);
      assertSameBytes(a[0].bytes, data.subarray(0, 10), "part 1");
      assertSameBytes(a[1].bytes, data.subarray(50000, 50010), "part 2");
      assertEquals(viaSource.bytesRead, 20, `${what}: only the ranges are read`);
    }
  }
});

Deno.test("sendFile() closes the file at once when there is no body to send", async () => {
  const data = randomBytes(100);
  const cases: [string, Request][] = [
    ["HEAD", new Request("http://localhost/file.bin", { method: "HEAD" })],
    ["unsatisfiable range", rangeRequest("bytes=500-")],
    ["not modified", new Request("http://localhost/", { headers: { "if-none-match": "*" } })],
  ];
  for (const [what, request] of cases) {
    const file = new CountingFile(data);
    // HEAD is applied where responses leave the static layer.
    const response = headResponse(request, sendFile(request, file, fileOf(100)));
    assertEquals(file.closes, 1, what);
    assertEquals(bodySourceOf(response), undefined, what);
    await response.body?.cancel();
    assertEquals(file.reads, 0, what);
  }
});

Deno.test("sendFile() sends a page without validators whole, with its status, whatever the request asks", async () => {
  const data = randomBytes(100);
  const page = pageRepresentation(100, "text/html; charset=utf-8", 404);
  const requests = [
    rangeRequest(),
    rangeRequest("bytes=0-9"),
    new Request("http://localhost/", { headers: { "if-none-match": "*" } }),
    new Request("http://localhost/", { headers: { "if-match": '"nope"' } }),
  ];
  for (const request of requests) {
    const what = JSON.stringify([...request.headers]);
    const file = new CountingFile(data);
    const response = sendFile(request, file, page);
    assertEquals(response.status, 404, what);
    assertEquals(response.headers.get("content-length"), "100", what);
    assertEquals(response.headers.get("content-type"), "text/html; charset=utf-8", what);
    assertEquals(response.headers.get("etag"), null, what);
    assertSameBytes(new Uint8Array(await response.arrayBuffer()), data, what);
    assertEquals(file.closes, 1, what);
  }
});

Deno.test("sendFile() leaves the representation's fields as they were", async () => {
  const representation = fileOf(100);
  const before = [...representation.headers];
  const etag = representation.headers.get("etag")!;
  const requests = [
    rangeRequest(),
    rangeRequest("bytes=0-9"),
    rangeRequest("bytes=0-9,20-29"),
    rangeRequest("bytes=500-"),
    new Request("http://localhost/", { headers: { "if-none-match": etag } }),
    new Request("http://localhost/", { headers: { "if-match": '"nope"' } }),
  ];
  for (const request of requests) {
    const response = sendFile(request, new CountingFile(randomBytes(100)), representation);
    await response.body?.cancel();
    assertEquals([...representation.headers], before, JSON.stringify([...request.headers]));
  }
});

Deno.test("sendFile() answers 304 with the 200's fields but Content-Type, 412 and 416 with error pages", async () => {
  const representation = fileOf(100);
  const etag = representation.headers.get("etag")!;
  const notModified = sendFile(
    new Request("http://localhost/", { headers: { "if-none-match": etag } }),
    new CountingFile(randomBytes(100)),
    representation,
  );
  assertEquals(notModified.status, 304);
  assertEquals([...notModified.headers], [...notModifiedHeaders(representation.headers)]);
  const cases: [Request, number, string | null][] = [
    [new Request("http://localhost/", { headers: { "if-match": '"x"' } }), 412, null],
    [rangeRequest("bytes=500-"), 416, "bytes */100"],
  ];
  for (const [request, status, contentRange] of cases) {
    const response = sendFile(request, new CountingFile(randomBytes(100)), representation);
    assertEquals(response.status, status);
    assertEquals(response.headers.get("content-range"), contentRange);
    assertEquals(response.headers.get("content-type"), "text/html; charset=utf-8");
    assertMatch(await response.text(), new RegExp(`<h1>${status} `));
  }
});

Deno.test("headResponse() keeps status and fields, drops the body and releases its file", async () => {
  const file = new CountingFile(randomBytes(SIZE));
  const get = sendFile(rangeRequest(), file, fileOf(SIZE));
  const head = headResponse(new Request("http://localhost/", { method: "HEAD" }), get);
  assertEquals(head.status, 200);
  assertEquals([...head.headers], [...get.headers]);
  assertEquals(head.body, null);
  assertEquals([file.closes, file.reads], [1, 0]);
  const other = new Response("x");
  assert(headResponse(rangeRequest(), other) === other, "a GET's response is unchanged");
  await other.body?.cancel();
});

// ------------------------------------------- writeResponse() with a BufferPool

/** Most bytes the sink takes per write: partial writes, and not a divisor of anything. */
const SINK_BYTES = 1499;
const POOL_BYTES = 4096;

/** What `range` (undefined: the whole file) makes writeResponse() write, both ways. */
async function writeBothWays(data: Uint8Array, range: string | undefined) {
  const log: string[] = [];
  const pool = new BufferPool(POOL_BYTES, 1);
  const copiedFile = new CountingFile(data, { log });
  const copied = sendFile(rangeRequest(range), copiedFile, fileOf(data.length));
  const copySink = choppySink(SINK_BYTES, log);
  const progress = { bodyBytes: 0 };
  const copyResult = await writeResponse(copySink, copied, { ...GET11, buffers: pool, progress });

  const streamedFile = new CountingFile(data);
  const streamed = sendFile(rangeRequest(range), streamedFile, fileOf(data.length));
  const streamSink = choppySink(SINK_BYTES);
  const streamResult = await writeResponse(streamSink, streamed, GET11);
  return {
    log,
    pool,
    progress,
    copy: { file: copiedFile, response: copied, sink: copySink, result: copyResult },
    stream: { file: streamedFile, response: streamed, sink: streamSink, result: streamResult },
  };
}

Deno.test("writeResponse() copies a file through one pooled buffer, as the stream would", async () => {
  const data = randomBytes(SIZE, 3);
  const cases: [string | undefined, number, ByteRange[]][] = [
    [undefined, 200, [{ start: 0, end: SIZE - 1 }]],
    ["bytes=1000-77776", 206, [{ start: 1000, end: 77776 }]],
    ["bytes=-4097", 206, [{ start: SIZE - 4097, end: SIZE - 1 }]],
    ["bytes=0-9,5000-70000,99000-", 206, [
      { start: 0, end: 9 },
      { start: 5000, end: 70000 },
      { start: 99000, end: SIZE - 1 },
    ]],
  ];
  for (const [range, status, ranges] of cases) {
    const what = range ?? "whole file";
    const { log, pool, progress, copy, stream } = await writeBothWays(data, range);
    const message = copy.sink.bytes();
    const { head, body } = splitMessage(message);

    // Exactly the bytes the stream path sends (but for the date and the boundary).
    assertSameText(
      normalized(message, copy.response),
      normalized(stream.sink.bytes(), stream.response),
      `${what}: copied vs streamed`,
    );
    assertEquals(copy.result, stream.result, what);
    assertEquals(copy.result.status, status, what);
    assertEquals(copy.result.bodyBytes, body.length, what);
    assertEquals(progress.bodyBytes, body.length, what);
    assertMatch(head, new RegExp(`^HTTP/1\\.1 ${status} `), what);
    assert(head.includes(`\r\ncontent-length: ${body.length}\r\n`), `${what}: ${head}`);

    // And exactly the file's bytes, checked without the stream path.
    const expected = ranges.map((r) => slice(data, r));
    if (ranges.length === 1) {
      assertSameBytes(body, expected[0], `${what}: body`);
      if (status === 206) {
        const r = ranges[0];
        assert(head.includes(`\r\ncontent-range: bytes ${r.start}-${r.end}/${SIZE}\r\n`), head);
      }
    } else {
      const type = /\r\ncontent-type: ([^\r]*)\r\n/.exec(head)![1];
      const parts = multipartParts(body, type);
      assertEquals(parts.length, ranges.length, what);
      parts.forEach((part, i) => {
        const r = ranges[i];
        assertEquals(part.fields.get("content-type"), TYPE);
        assertEquals(part.fields.get("content-range"), `bytes ${r.start}-${r.end}/${SIZE}`);
        assertSameBytes(part.bytes, expected[i], `${what}: part ${i + 1}`);
      });
    }

    // Only the ranges were read, through one pooled buffer that is back in the pool.
    const rangeBytes = expected.reduce((n, p) => n + p.length, 0);
    assertEquals(copy.file.bytesRead, rangeBytes, `${what}: bytes read from the file`);
    assertEquals([pool.created, pool.free], [1, 1], `${what}: pool afterwards`);
    assert(copy.sink.offered.every((n) => n <= POOL_BYTES), `${what}: writes of one buffer`);
    assertEquals(copy.file.closes, 1, what);
    assertEquals(stream.file.closes, 1, what);

    // The head went out with the first chunk, and each chunk before the next read.
    assert(copy.sink.offered[0] > head.length, `${what}: the first write carries body bytes`);
    if (ranges.length === 1) assertEquals(log[0], "read", `${what}: no write before a read`);
    for (let i = 1; i < log.length; i++) {
      assert(!(log[i - 1] === "read" && log[i] === "read"), `${what}: two reads in a row`);
    }
  }
});

Deno.test("writeResponse() throws BodyError after the head when a file is cut short mid-copy", async () => {
  const data = randomBytes(SIZE);
  const short = data.slice(0, 50_000);
  const pool = new BufferPool(POOL_BYTES, 1);
  const file = new CountingFile(short);
  // The file was SIZE bytes when it was opened and looked at.
  const response = sendFile(rangeRequest(), file, fileOf(SIZE));
  const sink = choppySink(SINK_BYTES);
  const progress = { bodyBytes: 0 };
  const error = await assertRejects(
    () => writeResponse(sink, response, { ...GET11, buffers: pool, progress }),
    BodyError,
  );
  assertEquals((error as BodyError).headSent, true);
  assertEquals((error.cause as Error).message, "File ended before its expected size");
  const { head, body } = splitMessage(sink.bytes());
  assert(head.includes(`\r\ncontent-length: ${SIZE}\r\n`), head);
  assertSameBytes(body, short, "what the file had is sent, and nothing else");
  assertEquals(progress.bodyBytes, short.length);
  assertEquals(file.closes, 1);
  assertEquals([pool.created, pool.free], [1, 1]);
});

Deno.test("writeResponse() closes the file and frees the buffer when the client goes away mid-copy", async () => {
  const data = randomBytes(SIZE);
  const pool = new BufferPool(POOL_BYTES, 1);
  const file = new CountingFile(data);
  const response = sendFile(rangeRequest(), file, fileOf(SIZE));
  const gone = new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
  let writes = 0;
  const sink = {
    write(p: Uint8Array): Promise<number> {
      return ++writes === 5 ? Promise.reject(gone) : Promise.resolve(Math.min(p.length, 1000));
    },
  };
  const error = await assertRejects(() =>
    writeResponse(sink, response, { ...GET11, buffers: pool })
  );
  assert(error === gone, "the sink's own error, not a BodyError");
  assertEquals(file.closes, 1);
  assert(file.bytesRead < SIZE, "the copy stopped");
  assertEquals([pool.created, pool.free], [1, 1]);
});

Deno.test("writeResponse() throws BodyError before the head when the first file read fails", async () => {
  const data = randomBytes(SIZE);
  // (A multipart body's first piece is its first part head, which cannot fail.)
  for (const range of [undefined, "bytes=1000-1999"]) {
    const what = range ?? "whole file";
    const pool = new BufferPool(POOL_BYTES, 1);
    const file = new CountingFile(data, { failOnRead: 0 });
    const response = sendFile(rangeRequest(range), file, fileOf(SIZE));
    const sink = choppySink(SINK_BYTES);
    const error = await assertRejects(
      () => writeResponse(sink, response, { ...GET11, buffers: pool }),
      BodyError,
    );
    assertEquals((error as BodyError).headSent, false, what);
    assert(error.cause === file.fault, `${what}: caused by the file's error`);
    assertEquals(sink.offered, [], `${what}: nothing was written`);
    assertEquals(file.closes, 1, what);
    assertEquals([pool.created, pool.free], [1, 1], what);
  }
});

Deno.test("writeResponse() refuses a file body longer than the Content-Length it was given", async () => {
  const data = randomBytes(1000);
  const file = new CountingFile(data);
  const response = sendFile(rangeRequest(undefined), file, fileOf(data.length));
  response.headers.set("content-length", "10");
  const pool = new BufferPool(POOL_BYTES, 1);
  const error = await assertRejects(
    () => writeResponse(choppySink(SINK_BYTES), response, { ...GET11, buffers: pool }),
    BodyError,
    "longer than its Content-Length",
  );
  assert((error as BodyError).headSent);
  assertEquals(file.closes, 1);
  assertEquals(pool.free, pool.created);
});

Deno.test("BufferPool() refuses buffers too small to copy through", () => {
  assertThrows(() => new BufferPool(0, 1), RangeError, "at least");
  assertThrows(() => new BufferPool(MIN_BUFFER_BYTES - 1, 1), RangeError, "at least");
});

Deno.test("writeResponse() sends a file of --file-buffer bytes with its head in one read and one write", async () => {
  const size = 64 * 1024;
  const data = randomBytes(size);
  const log: string[] = [];
  const file = new CountingFile(data, { log });
  const response = sendFile(rangeRequest(undefined), file, fileOf(size));
  // The server's pool: each buffer is --file-buffer plus room for the head.
  const pool = new BufferPool(size + HEAD_ROOM_BYTES, 1);
  const sink = choppySink(Infinity, log);
  await writeResponse(sink, response, { ...GET11, buffers: pool });
  assertEquals(log.filter((step) => step === "write").length, 1);
  assertEquals(file.reads, 1);
  assertSameBytes(splitMessage(sink.bytes()).body, data, "the body");
});

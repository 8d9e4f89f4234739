/**
 * Tests for the body decoder: Content-Length and chunked bodies (RFC 9112
 * §6 and §7.1) arriving in any number of reads, malformed framing, the size
 * limit, end of stream, and where the reader is left for the next request.
 */

import { assert, assertEquals, assertRejects } from "../_deps.ts";
import { DEFAULT_LIMITS } from "../../lib/config.ts";
import { HttpError, ParseError } from "../../lib/errors.ts";
import { BodyReader, type BodyReaderOptions } from "../../lib/http/body.ts";
import { HeadScanner, type RequestHead } from "../../lib/http/parse.ts";
import { BufferedReader } from "../../lib/http/reader.ts";
import { concat } from "../_helpers.ts";
import { bytes, FakeSource } from "./_fake_source.ts";

const FIXTURES = new URL("../fixtures/requests/", import.meta.url);
const MAX_HEAD = DEFAULT_LIMITS.maxHeadBytes;
const MAX_BODY = DEFAULT_LIMITS.maxBodyBytes;

function text(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

function fixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(name, FIXTURES));
}

/** Text (as Latin-1) and bytes, one after another. */
function join(...parts: Array<string | Uint8Array>): Uint8Array {
  return concat(parts.map((p) => typeof p === "string" ? bytes(p) : p));
}

/** `raw` cut into pieces of `size` bytes. */
function pieces(raw: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < raw.length; i += size) out.push(raw.subarray(i, i + size));
  return out;
}

interface Exchange {
  source: FakeSource;
  reader: BufferedReader;
  head: RequestHead;
  body: BodyReader;
  /** The target of the next request on the connection, or null at clean EOF. */
  next(): Promise<string | null>;
}

/** Reads the head from `chunks` and opens its body. */
async function open(
  chunks: ReadonlyArray<string | Uint8Array>,
  options: Partial<BodyReaderOptions> = {},
  log?: string[],
): Promise<Exchange> {
  const source = new FakeSource(chunks, log);
  const reader = new BufferedReader(source);
  const scanner = new HeadScanner(DEFAULT_LIMITS);
  const head = await reader.readHead(scanner, MAX_HEAD);
  assert(head !== null, "a request head");
  const body = new BodyReader(reader, head.framing, { maxBodyBytes: MAX_BODY, ...options });
  return {
    source,
    reader,
    head,
    body,
    next: async () => (await reader.readHead(scanner, MAX_HEAD))?.target ?? null,
  };
}

async function readAll(body: BodyReader): Promise<string> {
  let out = "";
  for (let piece = await body.read(); piece; piece = await body.read()) {
    assert(piece.length > 0, "read() never returns an empty piece");
    out += text(piece);
  }
  return out;
}

async function rejection(
  fn: () => Promise<unknown>,
  ErrorClass: typeof ParseError | typeof HttpError,
): Promise<number> {
  const error = await assertRejects(fn, ErrorClass);
  return (error as ParseError | HttpError).status;
}

const POST_HEAD = "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
const NEXT = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";

// --- Content-Length --------------------------------------------------------

const CL_POST = fixture("content_length_post.http");
const CL_BODY = "name=a&b=c\r\n!";

Deno.test("BodyReader.read() hands out a large body in pieces of at most 64 KiB", async () => {
  const data = new Uint8Array(200_000).map((_, i) => i % 251);
  const head = `PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: ${data.length}\r\n\r\n`;
  const x = await open([join(head, data, NEXT)]);
  const received = new Uint8Array(data.length);
  let at = 0;
  for (let piece = await x.body.read(); piece; piece = await x.body.read()) {
    assert(piece.length <= 64 * 1024, `piece of ${piece.length}`);
    received.set(piece, at);
    at += piece.length;
  }
  assertEquals(at, data.length);
  assertEquals(received, data);
  assertEquals(await x.next(), "/next");
});

Deno.test("BodyReader.read() returns null at once when there is no body", async () => {
  for (const extra of ["", "Content-Length: 0\r\n"]) {
    let calls = 0;
    const x = await open([`GET / HTTP/1.1\r\nHost: a\r\n${extra}\r\n${NEXT}`], {
      onFirstRead: () => Promise.resolve(void calls++),
    });
    assertEquals(x.body.done, true);
    assertEquals(await x.body.read(), null);
    await x.body.discard();
    assertEquals([calls, x.body.started, x.body.received], [0, false, 0]);
    assertEquals(await x.next(), "/next");
  }
});

Deno.test("BodyReader.read() throws ParseError 400 on EOF before the Content-Length is reached", async () => {
  const head = "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
  for (const sent of ["", "a", "abcd"]) {
    const x = await open(sent === "" ? [head] : [head, sent]);
    let got = "";
    const error = await assertRejects(async () => {
      for (let piece = await x.body.read(); piece; piece = await x.body.read()) got += text(piece);
    }, ParseError);
    assertEquals((error as ParseError).status, 400);
    assertEquals(got, sent);
    // The failure is sticky: the same error again, not a null that looks like the end.
    assertEquals(await assertRejects(() => x.body.read(), ParseError), error);
    assertEquals(x.body.done, false);
  }
});

Deno.test("BodyReader.discard() throws ParseError 400 on EOF before the Content-Length is reached", async () => {
  const x = await open(["POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabc"]);
  assertEquals(await rejection(() => x.body.discard(), ParseError), 400);
  assertEquals(await rejection(() => x.body.read(), ParseError), 400);
});

Deno.test("BodyReader.discard() answers 413 to a Content-Length over maxBodyBytes without reading it", async () => {
  const head = `POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`;
  let calls = 0;
  const x = await open([head, "some body bytes"], {
    onFirstRead: () => Promise.resolve(void calls++),
  });
  const readsBefore = x.source.reads;
  const error = await assertRejects(() => x.body.discard(), HttpError);
  assertEquals((error as HttpError).status, 413);
  assert(!(error instanceof ParseError));
  // Refused from the header alone: no body byte read, no 100 Continue.
  assertEquals([x.source.reads, calls, x.body.received], [readsBefore, 0, 0]);
  assertEquals(await rejection(() => x.body.read(), HttpError), 413);
});

Deno.test("BodyReader.discard() drops a Content-Length body of exactly maxBodyBytes", async () => {
  const head = `POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: ${MAX_BODY}\r\n\r\n`;
  const x = await open([head, new Uint8Array(MAX_BODY), NEXT]);
  await x.body.discard();
  assertEquals([x.body.done, x.body.received], [true, MAX_BODY]);
  assertEquals(await x.next(), "/next");
});

Deno.test("BodyReader.read() answers 413 to a Content-Length over maxBodyBytes without reading it", async () => {
  const exact = await open(
    ["POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789"],
    {
      maxBodyBytes: 10,
    },
  );
  assertEquals(await readAll(exact.body), "0123456789");
  for (const max of [10, MAX_BODY]) {
    const head = `POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: ${max + 1}\r\n\r\n`;
    let calls = 0;
    const x = await open([head, "0123456789a"], {
      maxBodyBytes: max,
      onFirstRead: () => Promise.resolve(void calls++),
    });
    const readsBefore = x.source.reads;
    assertEquals(await rejection(() => x.body.read(), HttpError), 413, `limit ${max}`);
    // Refused from the header alone: no 100 Continue, no body byte read.
    assertEquals([calls, x.source.reads, x.body.received], [0, readsBefore, 0], `limit ${max}`);
    assertEquals(await rejection(() => x.body.read(), HttpError), 413);
  }
});

// --- Chunked ---------------------------------------------------------------

const CHUNKED_POST = join(fixture("chunked_post.http"), NEXT);
const CHUNKED_BODY = "Hello" + "abcdefghijklmnopqrstuvwxyz" + "!";

/** Each fixture body is read exactly, however it arrives, and leaves the next request intact. */
const FIXTURE_BODIES = [
  {
    name: "a Content-Length body",
    raw: CL_POST,
    body: CL_BODY,
    kind: "length",
    sizes: [1, 2, 5, 64],
  },
  // The chunked fixture ends in trailer fields, which must be read and dropped.
  {
    name: "a chunked body",
    raw: CHUNKED_POST,
    body: CHUNKED_BODY,
    kind: "chunked",
    sizes: [1, 2, 3, 7, 64],
  },
] as const;

for (const { name, raw, body, kind, sizes } of FIXTURE_BODIES) {
  Deno.test(`BodyReader.read() returns ${name} exactly and leaves the next request`, async () => {
    for (const size of [...sizes, raw.length]) {
      const x = await open(pieces(raw, size));
      assertEquals(
        x.head.framing,
        kind === "length" ? { kind, length: body.length } : { kind },
      );
      assertEquals(await readAll(x.body), body, `pieces of ${size}`);
      assertEquals([x.body.done, x.body.received], [true, body.length]);
      assertEquals(await x.body.read(), null);
      assertEquals(await x.next(), "/next", `pieces of ${size}`);
      assertEquals(await x.next(), null);
    }
  });

  Deno.test(`BodyReader.read() reads ${name} split at every point`, async () => {
    for (let split = 1; split < raw.length; split++) {
      const x = await open([raw.subarray(0, split), raw.subarray(split)]);
      assertEquals(await readAll(x.body), body, `split ${split}`);
      assertEquals(await x.next(), "/next", `split ${split}`);
    }
  });
}

const CHUNKED_CASES: ReadonlyArray<{ name: string; raw: string; body: string }> = [
  { name: "lower-case hex sizes", raw: "a\r\n0123456789\r\n0\r\n\r\n", body: "0123456789" },
  { name: "upper-case hex sizes", raw: "A\r\n0123456789\r\n0\r\n\r\n", body: "0123456789" },
  {
    name: "a multi-digit hex size",
    raw: `1F\r\n${"x".repeat(31)}\r\n0\r\n\r\n`,
    body: "x".repeat(31),
  },
  { name: "sizes with leading zeros", raw: "0005\r\nhello\r\n000\r\n\r\n", body: "hello" },
  { name: "chunk extensions", raw: "5;a=b;c\r\nhello\r\n0;last=1\r\n\r\n", body: "hello" },
  {
    name: "whitespace before an extension",
    raw: '5 \t;name="quoted value"\r\nhello\r\n0\r\n\r\n',
    body: "hello",
  },
  { name: "an empty body", raw: "0\r\n\r\n", body: "" },
  {
    name: "trailer fields",
    raw: "2\r\nhi\r\n0\r\nX-A: 1\r\nx-b:\r\nX-C: \xe9\r\n\r\n",
    body: "hi",
  },
  { name: "many one-byte chunks", raw: "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n", body: "abc" },
  { name: "CRLF inside chunk data", raw: "4\r\n\r\n\r\n\r\n0\r\n\r\n", body: "\r\n\r\n" },
  { name: "binary chunk data", raw: "3\r\n\x00\xff\n\r\n0\r\n\r\n", body: "\x00\xff\n" },
];

for (const c of CHUNKED_CASES) {
  Deno.test(`BodyReader.read() decodes a chunked body with ${c.name}`, async () => {
    const raw = bytes(POST_HEAD + c.raw + NEXT);
    for (const size of [1, raw.length]) {
      const x = await open(pieces(raw, size));
      assertEquals(await readAll(x.body), c.body, `pieces of ${size}`);
      assertEquals(x.body.received, c.body.length);
      assertEquals(await x.next(), "/next");
    }
  });
}

const MALFORMED_CHUNKED: ReadonlyArray<{ name: string; raw: string }> = [
  { name: "a size that is not hex (zz)", raw: "zz\r\nhello\r\n0\r\n\r\n" },
  { name: "a negative size", raw: "-1\r\nhello\r\n0\r\n\r\n" },
  { name: "an empty size line", raw: "\r\nhello\r\n0\r\n\r\n" },
  { name: "a 0x prefix", raw: "0x5\r\nhello\r\n0\r\n\r\n" },
  { name: "whitespace before the size", raw: " 5\r\nhello\r\n0\r\n\r\n" },
  { name: "junk after the size", raw: "5 x\r\nhello\r\n0\r\n\r\n" },
  { name: "a size of 16 hex digits", raw: "0000000000000005\r\nhello\r\n0\r\n\r\n" },
  { name: "a bare LF after the size", raw: "5\nhello\r\n0\r\n\r\n" },
  { name: "a control byte in an extension", raw: "5;a=\x01\r\nhello\r\n0\r\n\r\n" },
  { name: "a size line over 4 KiB", raw: `5;${"e".repeat(5000)}\r\nhello\r\n0\r\n\r\n` },
  { name: "data longer than its size", raw: "5\r\nhelloX\r\n0\r\n\r\n" },
  { name: "data much longer than its size", raw: "2\r\nhello\r\n0\r\n\r\n" },
  { name: "a missing CRLF after the data", raw: "5\r\nhello0\r\n\r\n" },
  { name: "a bare LF after the data", raw: "5\r\nhello\n0\r\n\r\n" },
  { name: "a bare CR after the data", raw: "5\r\nhello\rX0\r\n\r\n" },
  { name: "a malformed trailer field", raw: "5\r\nhello\r\n0\r\nnot a field\r\n\r\n" },
  { name: "whitespace before a trailer colon", raw: "5\r\nhello\r\n0\r\nX-A : 1\r\n\r\n" },
  { name: "a bare LF ending the trailer", raw: "5\r\nhello\r\n0\r\n\n" },
  {
    name: "a trailer section over 16 KiB",
    raw: `5\r\nhello\r\n0\r\nX-A: ${"a".repeat(9000)}\r\nX-B: ${"b".repeat(9000)}\r\n\r\n`,
  },
];

for (const c of MALFORMED_CHUNKED) {
  Deno.test(`BodyReader.read() throws ParseError 400 for ${c.name}`, async () => {
    const raw = bytes(POST_HEAD + c.raw + NEXT);
    for (const size of [1, raw.length]) {
      const x = await open(pieces(raw, size));
      assertEquals(await rejection(() => readAll(x.body), ParseError), 400, `pieces of ${size}`);
      assertEquals(await rejection(() => x.body.discard(), ParseError), 400);
    }
  });
}

Deno.test("BodyReader.read() throws ParseError 400 on EOF at every point of a chunked body", async () => {
  const raw = fixture("chunked_post.http");
  const bodyStart = text(raw).indexOf("\r\n\r\n") + 4;
  for (let cut = bodyStart; cut < raw.length; cut++) {
    const x = await open([raw.subarray(0, bodyStart), ...pieces(raw.subarray(bodyStart, cut), 4)]);
    assertEquals(await rejection(() => readAll(x.body), ParseError), 400, `cut at ${cut}`);
  }
});

Deno.test("BodyReader.read() answers 413 to a chunked body over maxBodyBytes", async () => {
  const cases: ReadonlyArray<{ raw: string; before: string }> = [
    { raw: "B\r\n0123456789a\r\n0\r\n\r\n", before: "" },
    { raw: "5\r\n01234\r\n6\r\n56789a\r\n0\r\n\r\n", before: "01234" },
    { raw: "FFFFFFFFFFFFFFF\r\n", before: "" },
  ];
  for (const c of cases) {
    const x = await open([POST_HEAD, c.raw], { maxBodyBytes: 10 });
    let got = "";
    const error = await assertRejects(async () => {
      for (let piece = await x.body.read(); piece; piece = await x.body.read()) got += text(piece);
    }, HttpError);
    assertEquals((error as HttpError).status, 413, c.raw);
    // Refused at the size line, before the chunk's data is handed out.
    assertEquals(got, c.before, c.raw);
  }
  const exact = await open([POST_HEAD, "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n"], {
    maxBodyBytes: 10,
  });
  assertEquals(await readAll(exact.body), "0123456789");
});

Deno.test("BodyReader.discard() answers 413 to a chunked body over the default maxBodyBytes", async () => {
  const size = (MAX_BODY + 1).toString(16);
  const x = await open([POST_HEAD, `${size}\r\n`, "data"]);
  assertEquals(await rejection(() => x.body.discard(), HttpError), 413);
  assertEquals(x.body.received, 0);
  // Two chunks that together pass the limit.
  const half = (MAX_BODY / 2).toString(16);
  const y = await open([
    POST_HEAD,
    `${half}\r\n`,
    new Uint8Array(MAX_BODY / 2),
    `\r\n${half}\r\n`,
    new Uint8Array(MAX_BODY / 2),
    "\r\n1\r\nx\r\n0\r\n\r\n",
  ]);
  assertEquals(await rejection(() => y.body.discard(), HttpError), 413);
  assertEquals(y.body.received, MAX_BODY);
});

// --- discard(), onFirstRead and stream() -----------------------------------

Deno.test("BodyReader.discard() leaves the reader at the next request", async () => {
  for (const raw of [CL_POST, CHUNKED_POST]) {
    for (const size of [1, raw.length]) {
      const x = await open(pieces(raw, size));
      await x.body.discard();
      assertEquals(x.body.done, true);
      await x.body.discard(); // Harmless once done.
      assertEquals(await x.next(), "/next");
    }
  }
});

Deno.test("BodyReader.discard() drops the rest of a partly read body", async () => {
  for (const raw of [CL_POST, CHUNKED_POST]) {
    const x = await open(pieces(raw, 3));
    const first = await x.body.read();
    assert(first !== null && first.length > 0);
    await x.body.discard();
    assertEquals(x.body.received, raw === CL_POST ? CL_BODY.length : CHUNKED_BODY.length);
    assertEquals(await x.next(), "/next");
  }
});

Deno.test("BodyReader calls onFirstRead exactly once, before reading the body", async () => {
  const heads = [
    ["POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", ["he", "llo"]],
    [POST_HEAD, ["5\r\nhe", "llo\r\n0\r\n", "\r\n"]],
  ] as const;
  for (const [head, body] of heads) {
    for (const finish of ["read", "discard"] as const) {
      const log: string[] = [];
      const x = await open([head, ...body], {
        onFirstRead: () => Promise.resolve(void log.push("continue")),
      }, log);
      // The head came in its own read; the body has not been touched.
      assertEquals(log, ["read"]);
      assertEquals(x.body.started, false);
      if (finish === "read") assertEquals(await readAll(x.body), "hello");
      else await x.body.discard();
      assertEquals(x.body.started, true);
      assertEquals(log.filter((e) => e === "continue").length, 1, `${head} ${finish}`);
      assertEquals(log.slice(0, 3), ["read", "continue", "read"], `${head} ${finish}`);
      // Not again, even when more is asked of the body.
      await x.body.discard();
      assertEquals(await x.body.read(), null);
      assertEquals(log.filter((e) => e === "continue").length, 1);
    }
  }
});

Deno.test("BodyReader.read() fails without reading when onFirstRead fails", async () => {
  const failure = new Error("client went away");
  const x = await open(["POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", "hello"], {
    onFirstRead: () => Promise.reject(failure),
  });
  const readsBefore = x.source.reads;
  assertEquals(await assertRejects(() => x.body.read()), failure);
  assertEquals(await assertRejects(() => x.body.read()), failure);
  assertEquals(x.source.reads, readsBefore);
});

Deno.test("BodyReader.stream() yields the body bytes and reads only when pulled", async () => {
  for (const raw of [CL_POST, CHUNKED_POST]) {
    const x = await open(pieces(raw, 5));
    const readsBefore = x.source.reads;
    const stream = x.body.stream();
    assertEquals([x.body.started, x.source.reads], [false, readsBefore]);
    const received = new Uint8Array(await new Response(stream).arrayBuffer());
    assertEquals(text(received), raw === CL_POST ? CL_BODY : CHUNKED_BODY);
    assertEquals(x.body.done, true);
    assertEquals(await x.next(), "/next");
  }
});

Deno.test("BodyReader.stream() errors with the decoder's error", async () => {
  const x = await open([POST_HEAD, "5\r\nhello\r\nzz\r\n"]);
  const reader = x.body.stream().getReader();
  assertEquals(text((await reader.read()).value!), "hello");
  assertEquals(await rejection(() => reader.read(), ParseError), 400);
  const y = await open([POST_HEAD, "FFFF\r\n"], { maxBodyBytes: 10 });
  assertEquals(await rejection(() => new Response(y.body.stream()).arrayBuffer(), HttpError), 413);
});

Deno.test("BodyReader calls onEnd once with null when the body is read to its end", async () => {
  for (const raw of [CL_POST, CHUNKED_POST]) {
    const ends: unknown[] = [];
    const { body, next } = await open(pieces(raw, 7), { onEnd: (e) => ends.push(e) });
    await readAll(body);
    await body.discard();
    assertEquals(ends, [null]);
    assertEquals(body.failure, null);
    assertEquals(body.remaining, 0);
    assertEquals(await next(), "/next");
  }
});

Deno.test("BodyReader calls onEnd once with the error when the body fails", async () => {
  const ends: unknown[] = [];
  const raw = POST_HEAD + "5\r\nabc"; // cut short
  const { body } = await open([raw], { onEnd: (e) => ends.push(e) });
  const error = await assertRejects(() => readAll(body), ParseError);
  await assertRejects(() => body.read(), ParseError);
  assertEquals(ends, [error]);
  assertEquals(body.failure, error);
});

Deno.test("BodyReader.discard() stops at its limit and reports whether the body is done", async () => {
  const big = `POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n${"x".repeat(100)}`;
  const fixed = await open([big]);
  assertEquals(fixed.body.remaining, 100);
  assertEquals(await fixed.body.discard(99), false);
  assertEquals(fixed.body.received, 0, "a fixed body over the limit is not read at all");
  assertEquals(await fixed.body.discard(100), true);
  assertEquals(fixed.body.done, true);

  const chunk = `40\r\n${"y".repeat(64)}\r\n`;
  const chunked = await open([POST_HEAD + chunk.repeat(4) + "0\r\n\r\n" + NEXT]);
  assertEquals(chunked.body.remaining, -1, "a chunked body's rest is unknown");
  assertEquals(await chunked.body.discard(100), false);
  assertEquals(chunked.body.done, false);
  assertEquals(await chunked.body.discard(1000), true);
  assertEquals(await chunked.next(), "/next");
});

Deno.test("BodyReader runs reads and discards one at a time, in order", async () => {
  const raw = `POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n`;
  const { body, next } = await open([raw, "01234", "56789", NEXT]);
  const reading = body.read();
  const discarding = body.discard();
  assertEquals(text((await reading)!), "01234");
  assertEquals(await discarding, true);
  assertEquals(body.received, 10);
  assertEquals(await next(), "/next");
});

Deno.test("BodyReader.stream() errors once detached, but still ends a finished body", async () => {
  const raw = `POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n`;
  const partial = await open([raw, "01234", "56789"]);
  const reader = partial.body.stream().getReader();
  assertEquals(text((await reader.read()).value!), "01234");
  partial.body.detach();
  await assertRejects(() => reader.read(), TypeError, "no longer available");

  const whole = await open([raw + "0123456789"]);
  const stream = whole.body.stream().getReader();
  assertEquals(text((await stream.read()).value!), "0123456789");
  whole.body.detach();
  assertEquals((await stream.read()).done, true);
});

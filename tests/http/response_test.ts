import { assert, assertEquals, assertMatch, assertRejects } from "../_deps.ts";
import {
  BodyError,
  encodeLatin1,
  type ResponseContext,
  serializeHead,
  writeResponse,
} from "../../lib/http/response.ts";

/** A sink that keeps everything written, in small pieces to exercise partial writes. */
function memorySink(): { write(p: Uint8Array): Promise<number>; text(): string; writes: number } {
  const parts: number[] = [];
  const sink = {
    writes: 0,
    write(p: Uint8Array): Promise<number> {
      sink.writes++;
      const n = Math.min(p.length, 4096);
      for (let i = 0; i < n; i++) parts.push(p[i]);
      return Promise.resolve(n);
    },
    text: () => String.fromCharCode(...parts),
  };
  return sink;
}

const GET11: ResponseContext = { method: "GET", minor: 1, keepAlive: true, server: "portico/test" };

/** Splits a written message into head fields and body. */
function split(message: string): { status: string; fields: string[]; body: string } {
  const end = message.indexOf("\r\n\r\n");
  const [status, ...fields] = message.slice(0, end).split("\r\n");
  return { status, fields, body: message.slice(end + 4) };
}

function streamOf(pieces: string[], failAfter = -1): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (i === failAfter) {
        controller.error(new Error("stream broke"));
        return;
      }
      if (i === pieces.length) controller.close();
      else controller.enqueue(new TextEncoder().encode(pieces[i++]));
    },
  });
}

Deno.test("writeResponse() gives a complete body a Content-Length", async () => {
  const sink = memorySink();
  const result = await writeResponse(sink, new Response("hello"), GET11);
  const { status, fields, body } = split(sink.text());
  assertEquals(status, "HTTP/1.1 200 OK");
  assert(fields.includes("content-length: 5"));
  assert(fields.includes("server: portico/test"));
  assert(fields.some((f) => /^date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/.test(f)));
  assertEquals(body, "hello");
  assertEquals(result, { status: 200, bodyBytes: 5, keepAlive: true });
  assertEquals(sink.writes, 1, "a small response is one write");
});

Deno.test("writeResponse() streams an unknown-length body chunked to HTTP/1.1", async () => {
  const sink = memorySink();
  const result = await writeResponse(sink, new Response(streamOf(["ab", "cde"])), GET11);
  const { fields, body } = split(sink.text());
  assert(fields.includes("transfer-encoding: chunked"));
  assert(!fields.some((f) => f.startsWith("content-length")));
  assertEquals(body, "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n");
  assertEquals(result.bodyBytes, 5);
  assert(result.keepAlive);
});

Deno.test("writeResponse() ends an unknown-length HTTP/1.0 body by closing", async () => {
  const sink = memorySink();
  const context = { ...GET11, minor: 0 as const };
  const result = await writeResponse(sink, new Response(streamOf(["ab", "cde"])), context);
  const { fields, body } = split(sink.text());
  assert(fields.includes("connection: close"));
  assert(!fields.some((f) => f.startsWith("transfer-encoding")));
  assertEquals(body, "abcde");
  assertEquals(result.keepAlive, false);
});

Deno.test("writeResponse() says keep-alive to an HTTP/1.0 client that asked for it", async () => {
  const sink = memorySink();
  await writeResponse(sink, new Response("x"), { ...GET11, minor: 0 });
  assert(split(sink.text()).fields.includes("connection: keep-alive"));
});

Deno.test("writeResponse() sends no body for HEAD but keeps the declared length", async () => {
  const sink = memorySink();
  const response = new Response("hello", { headers: { "content-length": "5" } });
  const result = await writeResponse(sink, response, { ...GET11, method: "HEAD" });
  const { fields, body } = split(sink.text());
  assert(fields.includes("content-length: 5"));
  assertEquals(body, "");
  assertEquals(result.bodyBytes, 0);
});

Deno.test("writeResponse() gives HEAD the length GET would send for a complete body", async () => {
  const head = { ...GET11, method: "HEAD" };
  for (const body of ["hello", new Uint8Array(3), ""]) {
    const sink = memorySink();
    const result = await writeResponse(sink, new Response(body), head);
    const { fields, body: sent } = split(sink.text());
    assert(fields.includes(`content-length: ${body.length}`), fields.join("|"));
    assertEquals([sent, result.bodyBytes], ["", 0]);
  }
});

Deno.test("writeResponse() answers HEAD for a stream at once, without a length, and cancels it", async () => {
  let cancelled = false;
  const endless = new ReadableStream<Uint8Array>({
    pull: () => new Promise(() => {}), // never produces a byte
    cancel: () => {
      cancelled = true;
    },
  });
  const sink = memorySink();
  await writeResponse(sink, new Response(endless), { ...GET11, method: "HEAD" });
  const { fields, body } = split(sink.text());
  assert(!fields.some((f) => /^(content-length|transfer-encoding):/.test(f)), fields.join("|"));
  assertEquals(body, "");
  assert(cancelled, "the body stream is cancelled");
});

Deno.test("writeResponse() sends no body and no length for 204", async () => {
  const sink = memorySink();
  await writeResponse(sink, new Response(null, { status: 204 }), GET11);
  const { fields, body } = split(sink.text());
  assert(!fields.some((f) => f.startsWith("content-length")));
  assertEquals(body, "");
});

Deno.test("writeResponse() sends no body for 304", async () => {
  const sink = memorySink();
  await writeResponse(sink, new Response(null, { status: 304, headers: { etag: '"a"' } }), GET11);
  const { status, fields, body } = split(sink.text());
  assertEquals(status, "HTTP/1.1 304 Not Modified");
  assert(fields.includes('etag: "a"'));
  assertEquals(body, "");
});

Deno.test("writeResponse() gives a null body Content-Length: 0", async () => {
  const sink = memorySink();
  await writeResponse(sink, new Response(null, { status: 200 }), GET11);
  assert(split(sink.text()).fields.includes("content-length: 0"));
});

Deno.test("writeResponse() keeps a custom status text and every Set-Cookie", async () => {
  const sink = memorySink();
  const headers = new Headers();
  headers.append("set-cookie", "a=1; Path=/");
  headers.append("set-cookie", "b=2; HttpOnly");
  await writeResponse(sink, new Response("x", { status: 299, statusText: "Fine", headers }), GET11);
  const { status, fields } = split(sink.text());
  assertEquals(status, "HTTP/1.1 299 Fine");
  assert(fields.includes("set-cookie: a=1; Path=/"));
  assert(fields.includes("set-cookie: b=2; HttpOnly"));
});

Deno.test("writeResponse() drops hop-by-hop fields set by the handler", async () => {
  const sink = memorySink();
  const response = new Response("x", {
    headers: { "transfer-encoding": "gzip", "keep-alive": "timeout=99", upgrade: "h2c" },
  });
  await writeResponse(sink, response, GET11);
  const { fields } = split(sink.text());
  assert(!fields.some((f) => /^(transfer-encoding|keep-alive|upgrade):/.test(f)), String(fields));
  assert(fields.includes("content-length: 1"));
});

Deno.test("writeResponse() closes after a handler's Connection: close", async () => {
  const sink = memorySink();
  const result = await writeResponse(
    sink,
    new Response("x", { headers: { connection: "close" } }),
    GET11,
  );
  assertEquals(result.keepAlive, false);
  assert(split(sink.text()).fields.includes("connection: close"));
});

Deno.test("writeResponse() refuses a body shorter than its Content-Length after the head", async () => {
  const sink = memorySink();
  const response = new Response(streamOf(["abc"]), { headers: { "content-length": "10" } });
  const error = await assertRejects(() => writeResponse(sink, response, GET11), BodyError);
  assert((error as BodyError).headSent);
  assertMatch(sink.text(), /content-length: 10\r\n\r\nabc$/);
});

Deno.test("writeResponse() refuses a body longer than its Content-Length", async () => {
  const sink = memorySink();
  const response = new Response(streamOf(["abc", "def"]), { headers: { "content-length": "4" } });
  await assertRejects(() => writeResponse(sink, response, GET11), BodyError);
  assert(!sink.text().endsWith("def"), "no byte past the declared length is sent");
});

Deno.test("writeResponse() writes nothing when the first piece is already longer than its Content-Length", async () => {
  const sink = memorySink();
  const response = new Response(streamOf(["hello world"]), { headers: { "content-length": "3" } });
  const error = await assertRejects(() => writeResponse(sink, response, GET11), BodyError);
  assertEquals((error as BodyError).headSent, false, "a 500 can still be sent");
  assertEquals(sink.text(), "");
});

Deno.test("writeResponse() writes nothing when the body fails before its first byte", async () => {
  const sink = memorySink();
  const error = await assertRejects(
    () => writeResponse(sink, new Response(streamOf([], 0)), GET11),
    BodyError,
  );
  assertEquals((error as BodyError).headSent, false);
  assertEquals(sink.text(), "");
});

Deno.test("writeResponse() does not finish a chunked body whose stream fails midway", async () => {
  const sink = memorySink();
  const error = await assertRejects(
    () => writeResponse(sink, new Response(streamOf(["ab", "cd"], 2)), GET11),
    BodyError,
  );
  assert((error as BodyError).headSent);
  assert(!sink.text().endsWith("0\r\n\r\n"), "the last-chunk marker must not be sent");
});

Deno.test("serializeHead() writes the status line, fields and the server's own fields", () => {
  const head = serializeHead(
    404,
    "Not Found",
    new Headers({ "content-type": "text/plain", server: "custom" }),
    [["content-length", "3"]],
    "portico/test",
  );
  assertMatch(head, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert(head.includes("server: custom\r\n"));
  assert(!head.includes("portico/test"), "the handler's Server wins");
  assert(head.endsWith("content-length: 3\r\n\r\n"));
});

Deno.test("encodeLatin1() maps each code unit to one byte", () => {
  assertEquals(encodeLatin1("a\u00e9\u00ff"), new Uint8Array([0x61, 0xe9, 0xff]));
});

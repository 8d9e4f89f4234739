import { assertEquals, assertThrows } from "../_deps.ts";
import { DEFAULT_LIMITS } from "../../lib/config.ts";
import { ParseError } from "../../lib/errors.ts";
import { parseRequestHead, type RequestHead } from "../../lib/http/parse.ts";
import { rawPath, requestUrl, toRequest } from "../../lib/http/request.ts";

function head(requestLine: string, ...fields: string[]): RequestHead {
  const text = [requestLine, ...fields, "", ""].join("\r\n");
  const parsed = parseRequestHead(new TextEncoder().encode(text), DEFAULT_LIMITS);
  if (parsed === null) throw new Error("incomplete");
  return parsed.head;
}

Deno.test("rawPath() returns the path as sent, without the query", () => {
  const cases: Array<[string, string]> = [
    ["GET /a/../b%20c?x=1 HTTP/1.1", "/a/../b%20c"],
    ["GET / HTTP/1.1", "/"],
    ["GET /x\\..\\y HTTP/1.1", "/x\\..\\y"],
    ["GET http://example.com/p/../q?z HTTP/1.1", "/p/../q"],
    ["GET http://example.com HTTP/1.1", "/"],
    ["GET http://example.com?q=/x HTTP/1.1", "/"],
    ["OPTIONS * HTTP/1.1", "*"],
  ];
  for (const [line, expected] of cases) {
    assertEquals(rawPath(head(line, "Host: a")), expected, line);
  }
});

Deno.test("requestUrl() appends an origin-form target to the Host", () => {
  const url = requestUrl(
    head("GET //evil.example/x?y HTTP/1.1", "Host: a.example:81"),
    "http",
    "-",
  );
  assertEquals(url.host, "a.example:81");
  assertEquals(url.pathname, "//evil.example/x");
  assertEquals(url.search, "?y");
});

Deno.test("requestUrl() uses the listening address for HTTP/1.0 without Host", () => {
  assertEquals(
    requestUrl(head("GET /p HTTP/1.0"), "http", "127.0.0.1:9").href,
    "http://127.0.0.1:9/p",
  );
});

Deno.test("requestUrl() takes the absolute-form target and refuses user information", () => {
  assertEquals(
    requestUrl(head("GET https://b.example/q HTTP/1.1", "Host: a"), "http", "-").href,
    "https://b.example/q",
  );
  const error = assertThrows(
    () => requestUrl(head("GET http://user:pw@b.example/ HTTP/1.1", "Host: a"), "http", "-"),
    ParseError,
  );
  assertEquals((error as ParseError).status, 400);
});

Deno.test("toRequest() keeps repeated fields and the TRACE method", () => {
  const trace = head("TRACE /t HTTP/1.1", "Host: a", "X-A: 1", "X-A: 2");
  const request = toRequest(trace, new URL("http://a/t"), null);
  assertEquals(request.method, "TRACE");
  assertEquals(request.headers.get("x-a"), "1, 2");
});

Deno.test("toRequest() joins repeated Cookie fields with a semicolon", () => {
  const get = head("GET / HTTP/1.1", "Host: a", "Cookie: a=1", "X-B: 1", "cookie: b=2; c=3");
  const request = toRequest(get, new URL("http://a/"), null);
  assertEquals(request.headers.get("cookie"), "a=1; b=2; c=3");
});

Deno.test("toRequest() passes the signal on to the Request", () => {
  const controller = new AbortController();
  const request = toRequest(
    head("GET / HTTP/1.1", "Host: a"),
    new URL("http://a/"),
    null,
    controller.signal,
  );
  assertEquals(request.signal.aborted, false);
  controller.abort();
  assertEquals(request.signal.aborted, true);
});

Deno.test("toRequest() hands over every field, hop-by-hop and obs-text ones included", async () => {
  const text = "POST /u HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nContent-Length: 3\r\n" +
    "TE: trailers\r\nX-Latin: caf\xe9\r\nCookie: a=1\r\nAccept: */*\r\n\r\n";
  const parsed = parseRequestHead(Uint8Array.from(text, (c) => c.charCodeAt(0)), DEFAULT_LIMITS);
  if (parsed === null) throw new Error("incomplete");
  const post = parsed.head;
  const body = ReadableStream.from([new Uint8Array([1, 2, 3])]);
  const request = toRequest(post, new URL("http://a/u"), body);
  assertEquals([...request.headers], [...new Headers(post.fields.map(([n, v]) => [n, v]))]);
  assertEquals(request.headers.get("x-latin"), "caf\u00e9");
  // A stream body gives the request no Content-Type of its own.
  assertEquals(request.headers.get("content-type"), null);
  assertEquals(new Uint8Array(await request.arrayBuffer()), new Uint8Array([1, 2, 3]));
});

import { DEFAULT_LIMITS } from "../lib/config.ts";
import { HttpError } from "../lib/errors.ts";
import {
  answerError,
  Exchange,
  type ExchangeContext,
  logAccess,
  requestIdOf,
  RequestIds,
  withRequestId,
} from "../lib/exchange.ts";
import type { Handler } from "../lib/handler.ts";
import { parseRequestHead, type RequestHead } from "../lib/http/parse.ts";
import type { AccessLogEntry, Logger } from "../lib/log.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
} from "./_deps.ts";

function head(text: string): RequestHead {
  const parsed = parseRequestHead(new TextEncoder().encode(text), DEFAULT_LIMITS);
  assert(parsed !== null, "a complete head");
  return parsed.head;
}

function context(handler: Handler, onError?: ExchangeContext["onError"]) {
  const entries: AccessLogEntry[] = [];
  const errors: string[] = [];
  const logger: Logger = {
    access: (entry) => entries.push(entry),
    error: (message) => errors.push(message),
  };
  const remoteAddr: Deno.NetAddr = { transport: "tcp", hostname: "192.0.2.7", port: 4000 };
  return { context: { handler, onError, logger, remoteAddr }, entries, errors };
}

const GET = head("GET /a/../b%20c?x=1 HTTP/1.1\r\nHost: example.com\r\nX-One: 1\r\n\r\n");
const URL_OF_GET = new URL("http://example.com/a/../b%20c?x=1");

Deno.test("Exchange.respond() hands the handler the Request and the raw path", async () => {
  let seen: { url: string; header: string | null; rawPath: string; remote: string } | null = null;
  const { context: ctx } = context((request, info) => {
    seen = {
      url: request.url,
      header: request.headers.get("x-one"),
      rawPath: info.rawPath,
      remote: info.remoteAddr.hostname,
    };
    return new Response("ok");
  });
  const response = await new Exchange(GET, ctx, 0).respond(URL_OF_GET, null);
  assertEquals(await response.text(), "ok");
  assertEquals(seen, {
    url: "http://example.com/b%20c?x=1",
    header: "1",
    rawPath: "/a/../b%20c",
    remote: "192.0.2.7",
  });
});

Deno.test("Exchange.respond() turns a thrown HttpError into its status, unlogged", async () => {
  const { context: ctx, errors } = context(() => {
    throw new HttpError(418, "Short and stout");
  });
  const response = await new Exchange(GET, ctx, 0).respond(URL_OF_GET, null);
  assertEquals(response.status, 418);
  assertStringIncludes(await response.text(), "Short and stout");
  assertEquals(errors, []);
});

Deno.test("Exchange.respond() answers any other throw with a logged 500 and no detail", async () => {
  const { context: ctx, errors } = context(() => {
    throw new Error("password=hunter2");
  });
  const response = await new Exchange(GET, ctx, 0).respond(URL_OF_GET, null);
  assertEquals(response.status, 500);
  assert(!(await response.text()).includes("hunter2"));
  assertEquals(errors.length, 1);
  assertStringIncludes(errors[0], "handler failed for GET /a/../b%20c?x=1");
});

Deno.test("Exchange.respond() refuses a handler that returns no Response", async () => {
  const { context: ctx, errors } = context(() => "text" as unknown as Response);
  const response = await new Exchange(GET, ctx, 0).respond(URL_OF_GET, null);
  assertEquals(response.status, 500);
  assertEquals(errors.length, 1);
});

Deno.test("Exchange.respond() does not log what a failed request body caused", async () => {
  const { context: ctx, errors } = context(() => {
    throw new Error("the body broke");
  });
  const response = await new Exchange(GET, ctx, 0).respond(URL_OF_GET, null, () => true);
  assertEquals(response.status, 500);
  assertEquals(errors, []);
});

Deno.test("Exchange.respond() answers OPTIONS * itself with 204", async () => {
  let called = false;
  const { context: ctx } = context(() => {
    called = true;
    return new Response("no");
  });
  const options = head("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
  const response = await new Exchange(options, ctx, 0).respond(new URL("http://a/"), null);
  assertEquals(response.status, 204);
  assertEquals(called, false);
});

/** Runs one exchange whose handler keeps its `completed` and `signal`. */
async function respondedExchange() {
  const seen: { completed?: Promise<void>; signal?: AbortSignal } = {};
  const { context: ctx } = context((request, info) => {
    seen.completed = info.completed;
    seen.signal = request.signal;
    return new Response("ok");
  });
  const exchange = new Exchange(GET, ctx, 0);
  await exchange.respond(URL_OF_GET, null);
  return { exchange, completed: seen.completed!, signal: seen.signal! };
}

Deno.test("Exchange.finish() resolves completed once the response is sent", async () => {
  const { exchange, completed, signal } = await respondedExchange();
  exchange.finish(null);
  exchange.finish("too late: ignored");
  await completed;
  assertEquals(signal.aborted, false);
  assert(exchange.settled);
});

Deno.test("Exchange.finish() with a failure rejects completed and aborts the signal", async () => {
  const { exchange, completed, signal } = await respondedExchange();
  exchange.finish("The client left");
  await assertRejects(() => completed, Deno.errors.Interrupted, "The client left");
  assertEquals(signal.aborted, true);
});

Deno.test("Exchange.abort() aborts the signal only before the exchange settles", async () => {
  const first = await respondedExchange();
  first.exchange.abort();
  assertEquals(first.signal.aborted, true);
  const second = await respondedExchange();
  second.exchange.finish(null);
  second.exchange.abort();
  assertEquals(second.signal.aborted, false);
});

Deno.test("Exchange.log() writes one access entry with the client, target and bytes", () => {
  const { context: ctx, entries } = context(() => new Response("ok"));
  const exchange = new Exchange(GET, ctx, performance.now());
  exchange.log({ status: 206, bodyBytes: 42 }, true);
  assertEquals(entries.length, 1);
  const { milliseconds, ...rest } = entries[0];
  assert(milliseconds >= 0);
  assertEquals(rest, {
    remote: "192.0.2.7",
    method: "GET",
    target: "/a/../b%20c?x=1",
    protocol: "HTTP/1.1",
    status: 206,
    bytes: 42,
    userAgent: null,
    referrer: null,
    requestId: exchange.requestId,
    incomplete: true,
  });
});

Deno.test("answerError() uses onError, and a 500 when onError itself fails", async () => {
  const { context: ok } = context(
    () => new Response(),
    () => new Response("mine", { status: 409 }),
  );
  const mine = await answerError(new Error("x"), ok, "GET /");
  assertEquals(mine.status, 409);
  const { context: broken, errors } = context(() => new Response(), () => {
    throw new Error("hook broke");
  });
  const fallback = await answerError(new Error("x"), broken, "GET /");
  assertEquals(fallback.status, 500);
  assertStringIncludes(errors[0], "onError failed for GET /");
});

/** A context whose logger asks for the id header (or not), from `remote`, trusting whom `trust` says. */
function idContext(
  handler: Handler,
  options: { header: boolean; remote?: string; trust?: (peer: Deno.NetAddr) => boolean },
) {
  const { context: base, entries } = context(handler);
  const logger: Logger = { ...base.logger, requestIdHeader: options.header };
  const remoteAddr: Deno.NetAddr = {
    transport: "tcp",
    hostname: options.remote ?? "192.0.2.7",
    port: 4000,
  };
  return { context: { ...base, logger, remoteAddr, trustRequestId: options.trust }, entries };
}

const BROWSER_GET = head(
  'GET /page HTTP/1.0\r\nHost: example.com\r\nUser-Agent: Browser/1.0 ("quoted")\r\n' +
    "Referer: https://example.com/\r\nX-Request-Id: from-the-balancer\r\n\r\n",
);

Deno.test("Exchange.log() records the protocol, user agent, referrer and request id from the head", () => {
  const { context: ctx, entries } = idContext(() => new Response(), {
    header: false,
    remote: "::ffff:198.51.100.4",
  });
  const exchange = new Exchange(BROWSER_GET, ctx, performance.now());
  exchange.log({ status: 200, bodyBytes: 3 });
  const { milliseconds: _, ...entry } = entries[0];
  assertEquals(entry, {
    remote: "198.51.100.4",
    method: "GET",
    target: "/page",
    protocol: "HTTP/1.0",
    status: 200,
    bytes: 3,
    userAgent: 'Browser/1.0 ("quoted")',
    referrer: "https://example.com/",
    requestId: exchange.requestId,
    incomplete: false,
  });
  // Not trusted: the client's own id is not taken.
  assertNotEquals(exchange.requestId, "from-the-balancer");
});

Deno.test("logAccess() records a request that could not be parsed with a fresh id", () => {
  const { context: ctx, entries } = idContext(() => new Response(), { header: false });
  logAccess(ctx, null, { status: 400, bodyBytes: 11 }, performance.now());
  logAccess(ctx, null, { status: 400, bodyBytes: 11 }, performance.now());
  assertEquals(
    entries.map(({ method, target, protocol, userAgent, referrer }) => ({
      method,
      target,
      protocol,
      userAgent,
      referrer,
    })),
    Array(2).fill({ method: "-", target: "-", protocol: "-", userAgent: null, referrer: null }),
  );
  assertNotEquals(entries[0].requestId, entries[1].requestId);
});

Deno.test("Exchange.respond() sends X-Request-Id, the logged id, only when the logger asks", async () => {
  for (const header of [true, false]) {
    const { context: ctx, entries } = idContext(() => new Response("ok"), { header });
    const exchange = new Exchange(GET, ctx, performance.now());
    const response = await exchange.respond(URL_OF_GET, null);
    exchange.log({ status: response.status, bodyBytes: 2 });
    assertEquals(
      response.headers.get("x-request-id"),
      header ? entries[0].requestId : null,
      `header ${header}`,
    );
  }
});

Deno.test("Exchange.respond() puts the id on errors and on responses whose headers are immutable", async () => {
  const handlers: Array<[string, Handler, number]> = [
    ["a redirect", () => Response.redirect("http://example.com/b", 302), 302],
    ["an error", () => {
      throw new Error("broken");
    }, 500],
    ["the handler's own id", () => new Response("", { headers: { "x-request-id": "mine" } }), 200],
  ];
  for (const [what, handler, status] of handlers) {
    const { context: ctx } = idContext(handler, { header: true });
    const exchange = new Exchange(GET, ctx, 0);
    const response = await exchange.respond(URL_OF_GET, null);
    assertEquals(
      [response.status, response.headers.get("x-request-id")],
      [status, exchange.requestId],
      what,
    );
  }
  const { context: ctx } = idContext(() => new Response(), { header: true });
  const asterisk = new Exchange(head("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), ctx, 0);
  const response = await asterisk.respond(new URL("http://a/"), null);
  assertEquals(response.headers.get("x-request-id"), asterisk.requestId);
});

Deno.test("Exchange keeps an incoming X-Request-Id only from a peer trustRequestId() trusts", () => {
  const peers: string[] = [];
  const trust = (peer: Deno.NetAddr) => {
    peers.push(peer.hostname);
    return peer.hostname === "10.0.0.2";
  };
  const trusted = idContext(() => new Response(), { header: true, remote: "10.0.0.2", trust });
  const other = idContext(() => new Response(), { header: true, remote: "10.0.0.3", trust });
  assertEquals(new Exchange(BROWSER_GET, trusted.context, 0).requestId, "from-the-balancer");
  assertNotEquals(new Exchange(BROWSER_GET, other.context, 0).requestId, "from-the-balancer");
  assertEquals(peers, ["10.0.0.2", "10.0.0.3"]);
  // Without the hook, nobody is trusted.
  const none = idContext(() => new Response(), { header: true, remote: "10.0.0.2" });
  assertNotEquals(new Exchange(BROWSER_GET, none.context, 0).requestId, "from-the-balancer");
});

Deno.test("requestIdOf() replaces a trusted id that is too long or not visible ASCII", () => {
  const ids = new RequestIds(() => {});
  const remoteAddr: Deno.NetAddr = { transport: "tcp", hostname: "10.0.0.2", port: 1 };
  const ctx = { remoteAddr, trustRequestId: () => true };
  const cases: Array<[string, string]> = [
    ["abc-123_XYZ.=", "abc-123_XYZ.="],
    ["a".repeat(200), "a".repeat(200)],
    ["a".repeat(201), "0000000000-1"],
    ["has space", "0000000000-2"],
    ["caf\xe9", "0000000000-3"],
  ];
  for (const [given, id] of cases) {
    const withId = head(`GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: ${given}\r\n\r\n`);
    assertEquals(requestIdOf(withId, ctx, ids), id, given);
  }
  assertEquals(requestIdOf(head("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), ctx, ids), "0000000000-4");
});

Deno.test("RequestIds.next() counts in base 36 after a prefix drawn once", () => {
  const ids = new RequestIds((bytes) => bytes.fill(0xff));
  const prefix = (2 ** 48 - 1).toString(36);
  assertEquals([ids.next(), ids.next()], [`${prefix}-1`, `${prefix}-2`]);
  for (let i = 3; i < 36; i++) ids.next();
  assertEquals(ids.next(), `${prefix}-10`);
  // Two processes draw different prefixes.
  const a = new RequestIds().next();
  const b = new RequestIds().next();
  assertNotEquals(a, b);
  assertMatch(a, /^[0-9a-z]{10}-1$/);
});

Deno.test("withRequestId() sets the header, copying a response whose headers are immutable", () => {
  const plain = new Response("hi");
  assert(withRequestId(plain, "abc") === plain);
  assertEquals(plain.headers.get("x-request-id"), "abc");
  const redirect = Response.redirect("http://example.com/", 301);
  const copied = withRequestId(redirect, "def");
  assertEquals([copied.status, copied.headers.get("location")], [301, "http://example.com/"]);
  assertEquals(copied.headers.get("x-request-id"), "def");
  // No init can copy a network error: it is left as it is.
  const error = Response.error();
  assert(withRequestId(error, "ghi") === error);
});

import { DEFAULT_LIMITS } from "../lib/config.ts";
import { HttpError } from "../lib/errors.ts";
import { answerError, Exchange, type ExchangeContext } from "../lib/exchange.ts";
import type { Handler } from "../lib/handler.ts";
import { parseRequestHead, type RequestHead } from "../lib/http/parse.ts";
import type { AccessLogEntry, Logger } from "../lib/log.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_deps.ts";

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
    status: 206,
    bytes: 42,
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

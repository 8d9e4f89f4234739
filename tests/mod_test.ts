/**
 * The library API: serve() with a handler, a root or both, its options and
 * hooks, and the static layer behaving the same whether serve() reaches it
 * directly or through a serveStatic() handler.
 */

import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
  fromFileUrl,
} from "./_deps.ts";
import { silentLogger } from "../lib/log.ts";
import { HttpError, serve, type ServeOptions, serveStatic } from "../lib/mod.ts";
import type { Server } from "../lib/server.ts";
import {
  deadline,
  exchange,
  type RawResponse,
  READ_TIMEOUT_MS,
  recordingLogger,
} from "./_helpers.ts";

const ROOT = fromFileUrl(new URL("./fixtures/root/", import.meta.url));

/** serve() on a free loopback port, quiet unless told otherwise. */
function start(options: ServeOptions): Server {
  return serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    logger: silentLogger,
    ...options,
  });
}

async function withServe(
  options: ServeOptions,
  fn: (port: number, server: Server) => Promise<void>,
): Promise<void> {
  const server = start(options);
  try {
    await fn(server.addr.port, server);
  } finally {
    await server.shutdown();
  }
}

async function get(port: number, path: string, init: RequestInit = {}): Promise<Response> {
  return await fetch(`http://127.0.0.1:${port}${path}`, init);
}

Deno.test("serve() needs a handler or a root", () => {
  assertThrows(() => start({}), TypeError, "needs a handler, a root, or both");
});

Deno.test("serve() runs a handler alone", async () => {
  await withServe(
    { handler: (r) => new Response(`hi ${new URL(r.url).pathname}`) },
    async (port) => {
      const response = await get(port, "/index.html");
      assertEquals(await response.text(), "hi /index.html");
    },
  );
});

Deno.test("serve() serves a root alone, with its 404 page and 405", async () => {
  await withServe({ root: ROOT }, async (port) => {
    const index = await get(port, "/");
    assertEquals(index.status, 200);
    assertEquals(await index.text(), await Deno.readTextFile(`${ROOT}/index.html`));
    const missing = await get(port, "/missing");
    assertEquals(missing.status, 404);
    assertEquals(await missing.text(), await Deno.readTextFile(`${ROOT}/404.html`));
    const post = await get(port, "/", { method: "POST", body: "x" });
    assertEquals([post.status, post.headers.get("allow")], [405, "GET, HEAD, OPTIONS"]);
    await post.body?.cancel();
  });
});

Deno.test("serve() with a handler and a root answers files first, the rest from the handler", async () => {
  const handler = async (r: Request) =>
    Response.json({ method: r.method, path: new URL(r.url).pathname, body: await r.text() });
  await withServe({ root: ROOT, handler }, async (port) => {
    const file = await get(port, "/style.css");
    assertEquals(await file.text(), await Deno.readTextFile(`${ROOT}/style.css`));
    assertEquals(await (await get(port, "/api")).json(), { method: "GET", path: "/api", body: "" });
    const post = await get(port, "/index.html", { method: "POST", body: "form=1" });
    assertEquals(await post.json(), { method: "POST", path: "/index.html", body: "form=1" });
  });
});

Deno.test("serve() calls onListen with the bound address", async () => {
  let heard: Deno.NetAddr | null = null;
  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    logger: silentLogger,
    handler: () => new Response(),
    onListen: (addr) => heard = addr,
  });
  try {
    assertEquals(heard, server.addr);
    assertNotEquals(server.addr.port, 0);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serve() shuts down when its signal aborts", async () => {
  const controller = new AbortController();
  const server = start({ handler: () => new Response("up"), signal: controller.signal });
  const response = await get(server.addr.port, "/");
  assertEquals(await response.text(), "up");
  controller.abort();
  await server.finished;
  const refused = await fetch(`http://127.0.0.1:${server.addr.port}/`).then(
    (r) => r.body?.cancel().then(() => false),
    () => true,
  );
  assert(refused, "a stopped server refuses connections");
});

Deno.test("serve() with an already aborted signal stops at once", async () => {
  const controller = new AbortController();
  controller.abort();
  let handled = 0;
  const server = start({
    handler: () => {
      handled++;
      return new Response();
    },
    signal: controller.signal,
    // "At once": not after the shutdown timeout, which would outlast the deadline below.
    limits: { shutdownTimeoutMs: 60_000 },
  });
  await deadline(server.finished, READ_TIMEOUT_MS, "server.finished did not resolve");
  assertEquals(server.connections, 0);
  await assertRejects(
    () => Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
    Deno.errors.ConnectionRefused,
  );
  assertEquals(server.connections, 0, "nothing was accepted");
  assertEquals(handled, 0);
});

Deno.test("serve() answers a throwing handler with onError's response", async () => {
  const seen: unknown[] = [];
  const onError = (error: unknown) => {
    seen.push(error);
    return new Response("sorry", { status: 503, headers: { "retry-after": "1" } });
  };
  await withServe({ handler: () => Promise.reject(new Error("down")), onError }, async (port) => {
    const response = await get(port, "/");
    assertEquals([response.status, await response.text()], [503, "sorry"]);
    assertEquals(response.headers.get("retry-after"), "1");
    assertEquals((seen[0] as Error).message, "down");
  });
});

Deno.test("serve() answers 500 when onError itself fails, and logs it", async () => {
  const logger = recordingLogger();
  const onError = () => {
    throw new Error("worse");
  };
  await withServe({
    handler: () => {
      throw new Error("bad");
    },
    onError,
    logger,
  }, async (port) => {
    const response = await get(port, "/");
    assertEquals(response.status, 500);
    await response.body?.cancel();
  });
  assertEquals(logger.errors.length, 1);
  assertStringIncludes(logger.errors[0], "onError failed");
});

Deno.test("serve() logs a throwing handler and answers 500, or an HttpError's status", async () => {
  const logger = recordingLogger();
  const handler = (r: Request) => {
    if (new URL(r.url).pathname === "/gone") throw new HttpError(410, "Moved away for good");
    throw new Error("bug");
  };
  await withServe({ handler, logger }, async (port) => {
    const bug = await get(port, "/bug");
    assertEquals(bug.status, 500);
    assert(!(await bug.text()).includes("bug"), "the error text stays private");
    const gone = await get(port, "/gone");
    assertEquals(gone.status, 410);
    assertStringIncludes(await gone.text(), "Moved away for good");
  });
  assertEquals(logger.errors.length, 1, "an HttpError is an answer, not a fault");
  assertStringIncludes(logger.errors[0], "bug");
});

Deno.test("serve() applies request limits", async () => {
  let called = false;
  const handler = async (r: Request) => {
    called = true;
    return new Response(await r.text());
  };
  await withServe({ handler, limits: { maxBodyBytes: 4 } }, async (port) => {
    const ok = await get(port, "/", { method: "POST", body: "1234" });
    assertEquals(await ok.text(), "1234");
    called = false;
    const big = await get(port, "/", { method: "POST", body: "12345" });
    assertEquals(big.status, 413);
    await big.body?.cancel();
    assertEquals(called, false);
  });
});

Deno.test("serve() returns a server usable with await using", async () => {
  let port = 0;
  {
    await using server = start({ handler: () => new Response("x") });
    port = server.addr.port;
    assertEquals(await (await get(port, "/")).text(), "x");
  }
  const refused = await fetch(`http://127.0.0.1:${port}/`).then(
    (r) => r.body?.cancel().then(() => false),
    () => true,
  );
  assert(refused, "disposed at the end of the block");
});

/**
 * Requests over the static layer's behaviours, sent with raw targets so that
 * dot segments and encodings arrive as written: method, target, extra fields,
 * expected status.
 */
const STATIC_TABLE: [string, string, string, number][] = [
  ["GET", "/", "", 200],
  ["HEAD", "/", "", 200],
  ["GET", "/index.html", "", 200],
  ["GET", "/docs", "", 301],
  ["GET", "/docs?q=1", "", 301],
  ["GET", "/docs/", "", 200],
  ["GET", "/with%20space.txt", "", 200],
  ["GET", "/caf%C3%A9.txt", "", 200],
  ["GET", "/hash%23name.txt", "", 200],
  ["GET", "/empty.txt", "", 200],
  ["GET", "/missing", "", 404],
  ["HEAD", "/missing", "", 404],
  ["GET", "/noindex/", "", 404],
  ["GET", "/.env", "", 404],
  ["GET", "/.well-known/security.txt", "", 200],
  ["GET", "/../etc/passwd", "", 404],
  ["GET", "/docs/../index.html", "", 200],
  ["GET", "/%2e%2e/secret", "", 404],
  ["GET", "/a\\b", "", 404],
  ["GET", "/%zz", "", 400],
  ["GET", "/a%2Fb", "", 400],
  ["GET", "/style.css", "Range: bytes=0-3\r\n", 206],
  ["GET", "/style.css", "Range: bytes=0-0,2-3\r\n", 206],
  ["GET", "/style.css", "Range: bytes=999-\r\n", 416],
  ["GET", "/style.css", "If-Modified-Since: MTIME\r\n", 304],
  ["GET", "/style.css", 'If-Match: "nope"\r\n', 412],
  ["OPTIONS", "/", "", 204],
  ["POST", "/", "Content-Length: 0\r\n", 405],
  ["DELETE", "/index.html", "", 405],
];

/** A response with the fields that may differ between two runs (Date) removed. */
function comparable(response: RawResponse) {
  const fields = [...response.headers].filter(([name]) => name !== "date");
  const boundary = /boundary=(\S+)/.exec(response.headers.get("content-type") ?? "")?.[1];
  // A multipart boundary is random per response.
  const text = boundary ? response.text.replaceAll(boundary, "BOUNDARY") : response.text;
  return {
    status: response.status,
    fields: boundary ? fields.filter(([name]) => name !== "content-type") : fields,
    text,
  };
}

Deno.test("serveStatic() behaves the same through serve({ root }) and as serve()'s handler", async () => {
  await withServe({ root: ROOT }, async (direct) => {
    await withServe({ handler: serveStatic(ROOT) }, async (composed) => {
      const mtime = (await Deno.stat(`${ROOT}/style.css`)).mtime!.toUTCString();
      for (const [method, target, fields, status] of STATIC_TABLE) {
        const extra = fields.replace("MTIME", mtime);
        const request =
          `${method} ${target} HTTP/1.1\r\nHost: t\r\n${extra}Connection: close\r\n\r\n`;
        const bodyless = method === "HEAD";
        const a = await exchange(direct, request, bodyless);
        const b = await exchange(composed, request, bodyless);
        assertEquals(a.status, status, `${method} ${target}`);
        assertEquals(comparable(a), comparable(b), `${method} ${target}`);
      }
    });
  });
});

Deno.test("serve({ dev: true }) inserts the live script and ends event streams on shutdown", async () => {
  // A shutdown that waited for the event stream would wait the whole minute.
  const server = start({ root: ROOT, dev: true, limits: { shutdownTimeoutMs: 60_000 } });
  let stopping: Promise<void> | null = null;
  try {
    const port = server.addr.port;
    const page = await get(port, "/");
    assertStringIncludes(await page.text(), '<script src="/.portico/live.js"></script>');
    assertEquals(page.headers.get("cache-control"), "no-store");
    const events = (await get(port, "/.portico/events")).body!.getReader();
    await deadline(events.read(), READ_TIMEOUT_MS, "no first event");
    stopping = server.shutdown();
    await deadline(stopping, READ_TIMEOUT_MS, "the shutdown waited for the event stream");
    const end = await deadline(events.read(), READ_TIMEOUT_MS, "the event stream did not end");
    assertEquals(end.done, true);
  } finally {
    await (stopping ?? server.shutdown());
  }
});

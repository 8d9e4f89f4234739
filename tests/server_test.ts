/**
 * The real server on a free port, through `fetch`: every file of the default
 * site comes back byte for byte, with its type and validators.
 */

import { assert, assertEquals, assertRejects, join } from "./_deps.ts";
import { listen } from "../lib/server.ts";
import { serveStatic } from "../lib/static/mod.ts";
import { RawClient, readWithin, withServer, WWW } from "./_helpers.ts";

const EXPECTED_TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "about.html": "text/html; charset=utf-8",
  "404.html": "text/html; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
  "logo.svg": "image/svg+xml",
  "favicon.ico": "image/vnd.microsoft.icon",
};

Deno.test("listen() serves every file of www/ byte for byte through fetch", async () => {
  await withServer(async (port) => {
    const names: string[] = [];
    for await (const entry of Deno.readDir(WWW)) if (entry.isFile) names.push(entry.name);
    for (const name of Object.keys(EXPECTED_TYPES)) assert(names.includes(name), name);
    for (const name of names) {
      const response = await fetch(`http://127.0.0.1:${port}/${name}`);
      const body = new Uint8Array(await response.arrayBuffer());
      assertEquals(response.status, 200, name);
      assertEquals(body, await Deno.readFile(join(WWW, name)), name);
      if (EXPECTED_TYPES[name]) {
        assertEquals(response.headers.get("content-type"), EXPECTED_TYPES[name]);
      }
      assert(response.headers.get("etag")?.startsWith('"'), name);
      assert(response.headers.get("last-modified"), name);
      assertEquals(response.headers.get("accept-ranges"), "bytes");
    }
  });
});

Deno.test("listen() serves index.html for / and 404.html for a missing page", async () => {
  await withServer(async (port) => {
    const index = await fetch(`http://127.0.0.1:${port}/`);
    assertEquals(await index.text(), await Deno.readTextFile(join(WWW, "index.html")));
    const missing = await fetch(`http://127.0.0.1:${port}/no/such/page`);
    assertEquals(missing.status, 404);
    assertEquals(await missing.text(), await Deno.readTextFile(join(WWW, "404.html")));
  });
});

Deno.test("listen() revalidates with ETag and Last-Modified through fetch", async () => {
  await withServer(async (port) => {
    const url = `http://127.0.0.1:${port}/style.css`;
    const first = await fetch(url);
    await first.body?.cancel();
    const etag = first.headers.get("etag")!;
    const byTag = await fetch(url, { headers: { "if-none-match": etag } });
    assertEquals(byTag.status, 304);
    assertEquals(await byTag.text(), "");
    const byDate = await fetch(url, {
      headers: { "if-modified-since": first.headers.get("last-modified")! },
    });
    assertEquals(byDate.status, 304);
    await byDate.body?.cancel();
    const failed = await fetch(url, { headers: { "if-match": '"other"' } });
    assertEquals(failed.status, 412);
    await failed.body?.cancel();
  });
});

Deno.test("listen() answers a media player's bytes=0-1 probe with 206", async () => {
  await withServer(async (port) => {
    const logo = await Deno.readFile(join(WWW, "logo.svg"));
    const response = await fetch(`http://127.0.0.1:${port}/logo.svg`, {
      headers: { range: "bytes=0-1" },
    });
    assertEquals(response.status, 206);
    assertEquals(response.headers.get("content-range"), `bytes 0-1/${logo.length}`);
    assertEquals(new Uint8Array(await response.arrayBuffer()), logo.subarray(0, 2));
  });
});

Deno.test("listen() redirects a directory without its slash, keeping the query", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "docs"));
    await Deno.writeTextFile(join(root, "docs", "index.html"), "docs");
    await withServer(async (port) => {
      const response = await fetch(`http://127.0.0.1:${port}/docs?x=1`, { redirect: "manual" });
      assertEquals(response.status, 301);
      assertEquals(response.headers.get("location"), "/docs/?x=1");
      await response.body?.cancel();
      const followed = await fetch(`http://127.0.0.1:${port}/docs?x=1`);
      assertEquals(await followed.text(), "docs");
    }, { root });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("listen() listens on IPv6 loopback", async () => {
  let server;
  try {
    server = listen({ hostname: "::1", port: 0, handler: serveStatic(WWW) });
  } catch (error) {
    if (error instanceof Deno.errors.AddrNotAvailable) return; // no IPv6 on this machine
    throw error;
  }
  try {
    const response = await fetch(`http://[::1]:${server.addr.port}/`);
    assertEquals(response.status, 200);
    await response.body?.cancel();
  } finally {
    await server.shutdown();
  }
});

Deno.test("Server.shutdown() stops accepting and resolves finished", async () => {
  const server = listen({ hostname: "127.0.0.1", port: 0, handler: () => new Response("x") });
  const port = server.addr.port;
  const open = await Deno.connect({ hostname: "127.0.0.1", port });
  await server.shutdown();
  await server.finished;
  await assertRejects(() => Deno.connect({ hostname: "127.0.0.1", port }));
  // The idle connection was closed by the server.
  assertEquals(await readWithin(open, new Uint8Array(1)), null);
  open.close();
});

Deno.test("listen() leaves connections beyond maxConnections in the backlog until one closes", async () => {
  await withServer(async (port, server) => {
    const first = await RawClient.connect(port);
    const second = await RawClient.connect(port);
    try {
      await first.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      assertEquals((await first.read()).status, 200);
      await second.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      // The first connection goes on being served while the second waits unaccepted.
      await first.send("GET /style.css HTTP/1.1\r\nHost: a\r\n\r\n");
      assertEquals((await first.read()).status, 200);
      assertEquals(server.connections, 1);
      first.close();
      const response = await second.read();
      assertEquals([response.status, response.body], [
        200,
        await Deno.readFile(join(WWW, "index.html")),
      ]);
    } finally {
      first.close();
      second.close();
    }
  }, { limits: { maxConnections: 1 } });
});

Deno.test("Server.shutdown() closes idle connections and lets a request in progress finish", async () => {
  const started = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const handler = async (request: Request) => {
    if (new URL(request.url).pathname !== "/slow") return new Response("quick");
    started.resolve();
    await release.promise;
    return new Response("done");
  };
  const server = listen({ hostname: "127.0.0.1", port: 0, handler });
  const port = server.addr.port;
  const idle = await RawClient.connect(port);
  const busy = await RawClient.connect(port);
  try {
    await idle.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals((await idle.read()).text, "quick");
    await busy.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    await started.promise;

    const stopping = server.shutdown();
    assert(await idle.closedByServer());
    await assertRejects(() => Deno.connect({ hostname: "127.0.0.1", port }));
    release.resolve();
    const response = await busy.read();
    assertEquals([response.status, response.text], [200, "done"]);
    assertEquals(response.headers.get("connection"), "close");
    assert(await busy.closedByServer());
    await stopping;
    assertEquals(server.connections, 0);
  } finally {
    idle.close();
    busy.close();
    release.resolve();
    await server.shutdown();
  }
});

Deno.test("Server.shutdown() closes connections still busy at shutdownTimeoutMs", async () => {
  const started = Promise.withResolvers<void>();
  const never = Promise.withResolvers<Response>();
  const handler = () => {
    started.resolve();
    return never.promise;
  };
  const limits = { shutdownTimeoutMs: 200 };
  const server = listen({ hostname: "127.0.0.1", port: 0, handler, limits });
  const busy = await RawClient.connect(server.addr.port);
  try {
    await busy.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await started.promise;
    const begun = performance.now();
    await server.shutdown();
    const took = performance.now() - begun;
    assert(took >= 190 && took < 3000, `shutdown took ${took} ms`);
    assert(await busy.closedByServer());
  } finally {
    busy.close();
    never.resolve(new Response(null));
  }
});

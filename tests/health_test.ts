import { healthResponse, withHealth } from "../lib/health.ts";
import { listen } from "../lib/server.ts";
import { assert, assertEquals } from "./_deps.ts";
import { ManualClock } from "./_clock.ts";
import { deadline, RawClient, READ_TIMEOUT_MS, testInfo } from "./_helpers.ts";

Deno.test("healthResponse() says ok with 200, draining with 503, never cached, no body for HEAD", async () => {
  const ok = healthResponse(false, "GET");
  assertEquals([ok.status, await ok.text()], [200, "ok\n"]);
  assertEquals(ok.headers.get("cache-control"), "no-store");
  const draining = healthResponse(true, "GET");
  assertEquals([draining.status, await draining.text()], [503, "draining\n"]);
  assertEquals(healthResponse(true, "HEAD").body, null);
});

Deno.test("withHealth() answers its path before the site and leaves every other path to it", async () => {
  let draining = false;
  const site = () => new Response("site");
  const { handler, shortcut } = withHealth("/healthz", site, null, () => draining);
  assertEquals(shortcut, null);
  const ask = async (path: string) => {
    const response = await handler(new Request(`http://localhost${path}`), testInfo(path));
    return [response.status, await response.text()];
  };
  assertEquals(await ask("/healthz"), [200, "ok\n"]);
  assertEquals(await ask("/healthz/"), [200, "site"], "only the exact path");
  assertEquals(await ask("/"), [200, "site"]);
  draining = true;
  assertEquals(await ask("/healthz"), [503, "draining\n"]);
  const none = withHealth(null, site, null, () => true);
  assertEquals(none.handler, site);
});

/** Connects and sends one GET for `path`, reading the answer with a deadline. */
async function getOn(port: number, path: string) {
  const client = await RawClient.connect(port);
  try {
    await client.send(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    return await client.read();
  } finally {
    client.close();
  }
}

Deno.test("listen() with a health path says 503 through the drain delay, keeps accepting, then refuses", async () => {
  const clock = new ManualClock();
  const download = new TransformStream<Uint8Array, Uint8Array>();
  const writer = download.writable.getWriter();
  const server = listen({
    hostname: "127.0.0.1",
    port: 0,
    health: "/healthz",
    clock,
    limits: { drainDelayMs: 30_000 },
    handler: (request) =>
      new URL(request.url).pathname === "/download"
        ? new Response(download.readable)
        : new Response("page"),
  });
  const port = server.addr.port;
  const downloading = await RawClient.connect(port);
  try {
    assertEquals((await getOn(port, "/healthz")).status, 200);
    await downloading.send("GET /download HTTP/1.1\r\nHost: x\r\n\r\n");
    await writer.write(new TextEncoder().encode("first part "));
    const stopped = server.shutdown();
    assert(server.draining);
    const health = await getOn(port, "/healthz");
    assertEquals(health.status, 503, "a new connection during the drain is accepted and told 503");
    assertEquals((await getOn(port, "/page")).status, 200, "and still served");

    clock.advance(30_000);
    // The listener closes once the drain has run out; new connections are then refused.
    const refused = (async () => {
      while (true) {
        try {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          conn.close();
        } catch (error) {
          // A connection queued when the listener closed is reset; the next one is refused.
          if (!(error instanceof Deno.errors.ConnectionReset)) {
            return error instanceof Deno.errors.ConnectionRefused;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    assert(await deadline(refused, READ_TIMEOUT_MS, "still accepting after the drain"));

    await writer.write(new TextEncoder().encode("second part"));
    await writer.close();
    const response = await downloading.read();
    assertEquals(new TextDecoder().decode(response.body), "first part second part");
    await stopped;
  } finally {
    downloading.close();
    await server.shutdown();
  }
});

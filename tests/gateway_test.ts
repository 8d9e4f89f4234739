/**
 * The gateway's precedence: a GET or HEAD for an existing file is answered
 * by the static layer; every other request reaches the application.
 */

import type { Handler } from "../lib/handler.ts";
import { DEFAULT_CONTENT } from "../lib/config.ts";
import { assertEquals, fromFileUrl, join } from "./_deps.ts";
import { gateway, site } from "../lib/gateway.ts";
import { staticLookup } from "../lib/static/mod.ts";
import { exchange, RawClient, type RawResponse, testInfo, withServer } from "./_helpers.ts";
import { decode } from "./_bytes.ts";
import { withTempDir } from "./static/_static.ts";

const ROOT = fromFileUrl(new URL("./fixtures/root/", import.meta.url));

/** An application that names itself and what it was asked. */
const app: Handler = (request) =>
  new Response(`app ${request.method} ${new URL(request.url).pathname}`, {
    status: 418,
    headers: { "x-from": "app" },
  });

async function ask(method: string, rawPath: string, headers: HeadersInit = {}) {
  const handler = gateway(staticLookup(ROOT), app);
  const response = await handler(
    new Request(`http://localhost${rawPath}`, { method, headers }),
    testInfo(rawPath),
  );
  return {
    status: response.status,
    from: response.headers.get("x-from"),
    text: await response.text(),
  };
}

Deno.test("gateway() answers GET and HEAD for existing files from the root", async () => {
  const cases: [string, string, number][] = [
    ["GET", "/", 200],
    ["GET", "/index.html", 200],
    ["HEAD", "/style.css", 200],
    ["GET", "/docs/", 200],
    ["GET", "/docs", 301],
    ["GET", "/with%20space.txt", 200],
    ["GET", "/.well-known/security.txt", 200],
  ];
  for (const [method, path, status] of cases) {
    const result = await ask(method, path);
    assertEquals([result.status, result.from], [status, null], `${method} ${path}`);
  }
});

Deno.test("gateway() answers preconditions and ranges on files itself", async () => {
  const first = await gateway(staticLookup(ROOT), app)(
    new Request("http://localhost/style.css"),
    testInfo("/style.css"),
  );
  await first.body?.cancel();
  const etag = first.headers.get("etag")!;
  assertEquals((await ask("GET", "/style.css", { "if-none-match": etag })).status, 304);
  assertEquals((await ask("GET", "/style.css", { range: "bytes=0-1" })).status, 206);
  assertEquals((await ask("GET", "/style.css", { range: "bytes=999-" })).status, 416);
});

Deno.test("gateway() hands everything that is not a file to the application", async () => {
  const cases: [string, string][] = [
    ["GET", "/api/items"],
    ["GET", "/missing.html"],
    ["POST", "/index.html"],
    ["PUT", "/"],
    ["DELETE", "/style.css"],
    ["OPTIONS", "/index.html"],
    ["GET", "/.env"],
    ["GET", "/noindex/"],
    ["GET", "/noindex"],
    ["GET", "/index.html/"],
    ["GET", "/%zz"],
    ["GET", "/../secret"],
  ];
  for (const [method, path] of cases) {
    const result = await ask(method, path);
    assertEquals([result.status, result.from], [418, "app"], `${method} ${path}`);
    assertEquals(result.text.startsWith(`app ${method} /`), true, result.text);
  }
});

/** Some kilobytes of text that compresses well. */
const CSS = "body { color: #333; margin: 0 auto; }\n".repeat(200);
/** A script larger than the cache keeps: compressed while it is sent. */
const SCRIPT = "export const value = Math.random() * 42;\n".repeat(4000);

/** GET `path` with `accept` as the Accept-Encoding, on an open connection. */
async function getOn(client: RawClient, path: string, accept: string): Promise<RawResponse> {
  await client.send(`GET ${path} HTTP/1.1\r\nHost: a\r\nAccept-Encoding: ${accept}\r\n\r\n`);
  return await client.read();
}

Deno.test("site() sends files in every coding over a socket, the fast path included", async () => {
  await withTempDir({ "style.css": CSS, "app.js": SCRIPT }, async (root) => {
    await withServer(async (port) => {
      const client = await RawClient.connect(port);
      try {
        for (const [path, text] of [["/style.css", CSS], ["/app.js", SCRIPT]]) {
          for (const coding of ["br", "zstd", "gzip"]) {
            // The second request of a cached file is answered by the prepared path.
            for (const turn of [1, 2]) {
              const response = await getOn(client, path, coding);
              const label = `${path} ${coding} ${turn}`;
              assertEquals(response.headers.get("content-encoding"), coding, label);
              assertEquals(response.headers.get("vary"), "Accept-Encoding", label);
              assertEquals(new TextDecoder().decode(decode(coding, response.body)), text, label);
            }
          }
        }
      } finally {
        client.close();
      }
    }, { root });
  });
});

Deno.test("site() gives copies of a tree with other modification times the same tags", async () => {
  const files = { "index.html": "<p>hello</p>\n".repeat(200), "style.css": CSS, "app.js": SCRIPT };
  const seen: string[][] = [];
  for (const when of [new Date(1_600_000_000_000), new Date(1_700_000_000_000)]) {
    await withTempDir(files, async (root) => {
      for (const name of Object.keys(files)) await Deno.utime(join(root, name), when, when);
      await withServer(async (port) => {
        const tags: string[] = [];
        for (const name of Object.keys(files)) {
          for (const accept of ["identity", "br", "gzip"]) {
            const response = await exchange(
              port,
              `GET /${name} HTTP/1.1\r\nHost: a\r\nAccept-Encoding: ${accept}\r\n\r\n`,
            );
            tags.push(`${name} ${accept} ${response.headers.get("etag")}`);
          }
        }
        seen.push(tags);
      }, { root });
    });
  }
  assertEquals(seen[0], seen[1]);
  assertEquals(new Set(seen[0].map((line) => line.split(" ")[2])).size, 9, "nine tags");
});

Deno.test("site() compresses an application's large responses and leaves small ones alone", async () => {
  const app: Handler = (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/small") return Response.json({ ok: true });
    return Response.json({ items: CSS.split("\n") });
  };
  const served = site(app, null, {});
  await withServer(async (port) => {
    const client = await RawClient.connect(port);
    try {
      const large = await getOn(client, "/large", "gzip, br");
      assertEquals(large.headers.get("content-encoding"), "br");
      assertEquals(large.headers.get("vary"), "Accept-Encoding");
      const decoded = new TextDecoder().decode(decode("br", large.body));
      assertEquals(JSON.parse(decoded), { items: CSS.split("\n") });
      const small = await getOn(client, "/small", "gzip, br");
      assertEquals(small.headers.get("content-encoding"), null);
      assertEquals(small.text, '{"ok":true}');
    } finally {
      client.close();
    }
  }, { handler: served.handler });
});

Deno.test("site() leaves application responses alone with compression off", async () => {
  const app: Handler = () => Response.json({ items: CSS.split("\n") });
  const served = site(app, null, {}, { ...DEFAULT_CONTENT, compress: [] });
  const response = await served.handler(
    new Request("http://a/", { headers: { "accept-encoding": "gzip" } }),
    testInfo("/"),
  );
  assertEquals(response.headers.get("content-encoding"), null);
  assertEquals(JSON.parse(await response.text()), { items: CSS.split("\n") });
});

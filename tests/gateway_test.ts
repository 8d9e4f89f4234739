/**
 * The gateway's precedence: a GET or HEAD for an existing file is answered
 * by the static layer; every other request reaches the application.
 */

import type { Handler } from "../lib/handler.ts";
import { assertEquals, fromFileUrl } from "./_deps.ts";
import { gateway } from "../lib/gateway.ts";
import { staticLookup } from "../lib/static/mod.ts";
import { testInfo } from "./_helpers.ts";

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

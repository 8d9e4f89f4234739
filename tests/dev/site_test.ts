import { assert, assertEquals, assertStringIncludes, join } from "../_deps.ts";
import { deadline, testInfo } from "../_helpers.ts";
import { decode } from "../_bytes.ts";
import { DEFAULT_CONTENT } from "../../lib/config.ts";
import { LIVE_SCRIPT } from "../../lib/dev/client.ts";
import { LIVE_SCRIPT_TAG } from "../../lib/dev/inject.ts";
import { LIVE_EVENTS_PATH, LIVE_SCRIPT_PATH } from "../../lib/dev/paths.ts";
import { type Site, site } from "../../lib/gateway.ts";
import type { LiveOptions } from "../../lib/dev/site.ts";
import { silentLogger } from "../../lib/log.ts";

const TAG = new TextDecoder().decode(LIVE_SCRIPT_TAG);
const PAGE = "<!doctype html>\n<html><body><h1>Hello</h1></body></html>\n";
const STYLE = "body { color: red }\n";

/** How long a read of an event stream may wait before the test fails rather than hangs. */
const EVENT_DEADLINE_MS = 10_000;

/** A temporary root with a page, a stylesheet, a fragment and a not-found page. */
async function makeRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "portico-dev-" });
  await Deno.writeTextFile(join(root, "index.html"), PAGE);
  await Deno.writeTextFile(join(root, "style.css"), STYLE);
  await Deno.writeTextFile(join(root, "part.html"), "<li>one</li>\n");
  await Deno.writeTextFile(join(root, "404.html"), "<!doctype html><title>Missing</title>");
  return root;
}

/** Runs `body` with a development-mode site over a fresh root; closes and removes both. */
async function withLiveSite(
  body: (served: Site, root: string) => Promise<void>,
  app: ((request: Request) => Response) | null = null,
  dev: LiveOptions = { app: false },
): Promise<void> {
  const root = await makeRoot();
  const served = site(app, root, { logger: silentLogger }, DEFAULT_CONTENT, dev);
  try {
    await body(served, root);
  } finally {
    served.close();
    await Deno.remove(root, { recursive: true });
  }
}

/** Asks the site for `path`. */
function ask(
  served: Site,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  return Promise.resolve(
    served.handler(new Request(`http://localhost${path}`, init), testInfo(path)),
  );
}

/** Reads from `reader` until `text` has arrived, failing after {@linkcode EVENT_DEADLINE_MS}. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  text: string,
): Promise<string> {
  let seen = "";
  const decoder = new TextDecoder();
  while (!seen.includes(text)) {
    const read = deadline(
      reader.read(),
      EVENT_DEADLINE_MS,
      `no ${JSON.stringify(text)} in ${seen}`,
    );
    const { value, done } = await read;
    if (done) throw new Error(`the stream ended before ${JSON.stringify(text)}: ${seen}`);
    seen += decoder.decode(value, { stream: true });
  }
  return seen;
}

Deno.test("site() in development mode inserts the script into pages, uncached", async () => {
  await withLiveSite(async (served) => {
    const response = await ask(served, "/");
    const body = await response.text();
    assertEquals(body, PAGE.replace("</body>", `${TAG}</body>`));
    assertEquals(
      response.headers.get("content-length"),
      String(new TextEncoder().encode(body).length),
    );
    assertEquals(response.headers.get("cache-control"), "no-store");
    assert(response.headers.get("etag")?.endsWith('-live"'), "the tag names the modified bytes");
    assertEquals(served.shortcut, null);
  });
});

Deno.test("site() in development mode gives HEAD the fields GET gets", async () => {
  await withLiveSite(async (served) => {
    const get = await ask(served, "/");
    await get.body?.cancel();
    const head = await ask(served, "/", { method: "HEAD" });
    await head.body?.cancel();
    for (const name of ["content-length", "etag", "cache-control", "content-type"]) {
      assertEquals(head.headers.get(name), get.headers.get(name), name);
    }
  });
});

Deno.test("site() in development mode answers a validator of the file's bytes in full", async () => {
  await withLiveSite(async (served) => {
    const first = await ask(served, "/index.html");
    const etag = first.headers.get("etag")!;
    await first.body?.cancel();
    const fileTag = etag.replace('-live"', '"');
    const conditions: HeadersInit[] = [
      { "if-none-match": fileTag },
      { "if-modified-since": new Date().toUTCString() },
    ];
    for (const headers of conditions) {
      const again = await ask(served, "/index.html", { headers });
      assertEquals(again.status, 200);
      assertStringIncludes(await again.text(), TAG);
    }
  });
});

Deno.test("site() in development mode sends ranges of a page as the file is", async () => {
  await withLiveSite(async (served) => {
    const response = await ask(served, "/index.html", { headers: { range: "bytes=0-14" } });
    assertEquals(response.status, 206);
    assertEquals(await response.text(), PAGE.slice(0, 15));
  });
});

Deno.test("site() in development mode compresses the modified page", async () => {
  await withLiveSite(async (served, root) => {
    const big = PAGE.replace("<h1>", `<p>${"words ".repeat(400)}</p><h1>`);
    await Deno.writeTextFile(join(root, "big.html"), big);
    const response = await ask(served, "/big.html", { headers: { "accept-encoding": "gzip" } });
    assertEquals(response.headers.get("content-encoding"), "gzip");
    assertEquals(response.headers.get("cache-control"), "no-store");
    const bytes = decode("gzip", new Uint8Array(await response.arrayBuffer()));
    assertEquals(new TextDecoder().decode(bytes), big.replace("</body>", `${TAG}</body>`));
  });
});

Deno.test("site() in development mode leaves stylesheets and fragments unmodified", async () => {
  await withLiveSite(async (served) => {
    const style = await ask(served, "/style.css");
    assertEquals(await style.text(), STYLE);
    assertEquals(style.headers.get("cache-control"), "no-store");
    const part = await ask(served, "/part.html");
    assertEquals(await part.text(), "<li>one</li>\n");
  });
});

Deno.test("site() in development mode inserts the script into the not-found page", async () => {
  await withLiveSite(async (served) => {
    const response = await ask(served, "/missing");
    assertEquals(response.status, 404);
    assertEquals(await response.text(), `<!doctype html><title>Missing</title>${TAG}`);
  });
});

Deno.test("site() in development mode leaves application responses alone", async () => {
  const html = "<!doctype html><body>app</body>";
  const app = () => new Response(html, { headers: { "content-type": "text/html" } });
  await withLiveSite(async (served) => {
    const response = await ask(served, "/api", { method: "POST" });
    assertEquals(await response.text(), html);
    assertEquals(response.headers.get("cache-control"), null);
    const page = await ask(served, "/");
    assertStringIncludes(await page.text(), TAG);
  }, app);
});

Deno.test("site() in development mode puts the script into application pages on request", async () => {
  const app = (request: Request) =>
    new URL(request.url).pathname === "/page"
      ? new Response("<!doctype html><body>app</body>", {
        headers: { "content-type": "text/html" },
      })
      : new Response("<li>part</li>", { headers: { "content-type": "text/html" } });
  await withLiveSite(
    async (served) => {
      const page = await ask(served, "/page", { method: "POST" });
      assertEquals(await page.text(), `<!doctype html><body>app${TAG}</body>`);
      const part = await ask(served, "/part");
      assertEquals(await part.text(), "<li>part</li>");
    },
    app,
    { app: true },
  );
});

Deno.test("site() in development mode serves the script at its reserved path", async () => {
  await withLiveSite(async (served) => {
    const response = await ask(served, LIVE_SCRIPT_PATH);
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("content-type"), "text/javascript; charset=utf-8");
    assertEquals(response.headers.get("cache-control"), "no-store");
    assertEquals(await response.text(), LIVE_SCRIPT);
    const post = await ask(served, LIVE_SCRIPT_PATH, { method: "POST" });
    assertEquals(post.status, 405);
    assertEquals(post.headers.get("allow"), "GET, HEAD");
    await post.body?.cancel();
  });
});

Deno.test("site() in development mode tells the event stream when a file changes", async () => {
  await withLiveSite(async (served, root) => {
    const events = await ask(served, LIVE_EVENTS_PATH);
    assertEquals(events.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const reader = events.body!.getReader();
    try {
      await readUntil(reader, "retry:");
      await Deno.writeTextFile(join(root, "style.css"), "body { color: blue }\n");
      const seen = await readUntil(reader, "\n\n");
      const data = seen.split("\n").find((line) => line.startsWith("data: "));
      const change = JSON.parse(data!.slice("data: ".length));
      assertEquals(change.css, ["/style.css"]);
      assertEquals(change.reload, false);
    } finally {
      await reader.cancel();
    }
  });
});

Deno.test("site().close() ends the event streams", async () => {
  await withLiveSite(async (served) => {
    const events = await ask(served, LIVE_EVENTS_PATH);
    const reader = events.body!.getReader();
    await readUntil(reader, "retry:");
    served.close();
    const ended = await readUntil(reader, "never").catch((error) => String(error));
    assertStringIncludes(ended, "the stream ended");
  });
});

Deno.test("site() without development mode has no reserved paths and modifies nothing", async () => {
  const root = await makeRoot();
  try {
    const served = site(null, root, { logger: silentLogger }, DEFAULT_CONTENT, null);
    for (const path of [LIVE_SCRIPT_PATH, LIVE_EVENTS_PATH]) {
      const response = await ask(served, path);
      assertEquals(response.status, 404, path);
      await response.body?.cancel();
    }
    const page = await ask(served, "/");
    assertEquals(await page.text(), PAGE);
    assert(page.headers.get("cache-control") !== "no-store");
    served.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

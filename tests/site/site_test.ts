/**
 * The site's rules around files and an application, through `serve()`
 * over a socket: the order of evaluation, the app shell, routes, header
 * rules, error pages, listings, CORS, hidden rule files, and `reload()`.
 */

import { type Handler, serve, type SiteOptions, type SiteServer } from "../../lib/mod.ts";
import { type Logger, silentLogger } from "../../lib/log.ts";
import { recordingLogger } from "../_helpers.ts";
import { assert, assertEquals, assertStringIncludes, join } from "../_deps.ts";
import { withTempDir } from "../static/_static.ts";

/** The files of a small single-page app with rule files. */
const SITE: Record<string, string> = {
  "index.html": "<!doctype html><title>shell</title><p>app shell</p>\n",
  "app.js": "console.log('app');\n",
  "about.html": "<p>about</p>\n",
  "exists.html": "<p>a file that a rule shadows only with force</p>\n",
  "docs/readme.txt": "read me\n",
  "405.html": "<p>our own 405 page</p>\n",
  "missing.html": "<p>our own not-found page</p>\n",
  "_headers": [
    "# every file",
    "/*",
    "  X-Frame-Options: DENY",
    "/app.js",
    "  Cache-Control: public, max-age=60",
    "",
  ].join("\n"),
  "_redirects": [
    "/old /about.html 301",
    "/blog/* /posts/:splat 302",
    "/exists.html /about.html 301",
    "/forced.html /about.html 308!",
    "/internal /about.html 200",
    "",
  ].join("\n"),
};

/** A page navigation as a browser sends it. */
const NAVIGATE = {
  "sec-fetch-mode": "navigate",
  "sec-fetch-dest": "document",
  accept: "text/html",
};

/** What {@linkcode withSite} serves besides the site options. */
interface SiteRun {
  /** The application behind the files. */
  readonly handler?: Handler;
  /** Where faults go (silent by default). */
  readonly logger?: Logger;
  /** Development mode. */
  readonly dev?: boolean;
  /** The root's files (the site above by default). */
  readonly files?: Record<string, string>;
}

/** Runs `fn` against `serve()` for a temporary root, with these options, then stops it. */
async function withSite(
  site: SiteOptions,
  fn: (base: string, server: SiteServer, root: string) => Promise<void>,
  { handler, logger = silentLogger, dev = false, files = SITE }: SiteRun = {},
): Promise<void> {
  await withTempDir(files, async (root) => {
    const server = serve({
      root,
      site,
      handler,
      port: 0,
      hostname: "127.0.0.1",
      logger,
      dev,
      onListen: () => {},
    });
    try {
      await fn(`http://127.0.0.1:${server.addr.port}`, server, root);
    } finally {
      await server.shutdown();
    }
  });
}

/** Fetches without following redirects, and reads the body. */
async function get(url: string, init: RequestInit = {}) {
  const response = await fetch(url, { redirect: "manual", ...init });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

Deno.test("serve() with spa answers page navigations with the shell and missing assets with 404", async () => {
  await withSite({ spa: true }, async (base) => {
    const cases: [string, HeadersInit, number, string | null][] = [
      ["/dashboard/settings", NAVIGATE, 200, "app shell"],
      ["/dashboard/settings", { accept: "text/html,application/xhtml+xml" }, 200, "app shell"],
      ["/dashboard/settings", { "sec-fetch-mode": "cors", accept: "*/*" }, 404, null],
      ["/missing.js", NAVIGATE, 200, "app shell"],
      ["/missing.js", { accept: "text/html" }, 404, null],
      ["/img/logo.png", { "sec-fetch-dest": "image", accept: "image/*" }, 404, null],
      ["/api/data.json", { accept: "application/json" }, 404, null],
    ];
    for (const [path, headers, status, body] of cases) {
      const response = await get(base + path, { headers });
      const label = `${path} ${JSON.stringify(headers)}`;
      assertEquals(response.status, status, label);
      if (body !== null) {
        assertStringIncludes(response.text, body, label);
        assertEquals(response.headers.get("cache-control"), "no-cache", label);
        assertStringIncludes(response.headers.get("vary") ?? "", "Sec-Fetch-Mode", label);
      } else {
        assert(!response.text.includes("app shell"), label);
      }
    }
    const head = await fetch(base + "/dashboard", { method: "HEAD", headers: NAVIGATE });
    assertEquals(head.status, 200);
    assertEquals(await head.text(), "");
  });
});

Deno.test("serve() with spa in development mode answers navigations with the shell and its script", async () => {
  const server = (base: string) => get(base + "/dashboard", { headers: NAVIGATE });
  await withSite(
    { spa: true },
    async (base) => {
      const shell = await server(base);
      assertEquals(shell.status, 200);
      assertStringIncludes(shell.text, "app shell");
      assertStringIncludes(shell.text, "/.portico/live.js");
      assertEquals((await get(base + "/missing.js")).status, 404);
    },
    { dev: true },
  );
});

Deno.test("serve() with spa leaves a POST to an unknown path to the app, or answers 405 without one", async () => {
  await withSite({ spa: true }, async (base) => {
    const response = await get(base + "/form", { method: "POST", body: "x", headers: NAVIGATE });
    assertEquals(response.status, 405);
  });
  const app: Handler = (request) => new Response(`app ${request.method}`, { status: 201 });
  await withSite({ spa: true }, async (base) => {
    const response = await get(base + "/form", { method: "POST", body: "x", headers: NAVIGATE });
    assertEquals([response.status, response.text], [201, "app POST"]);
  }, { handler: app });
});

Deno.test("serve() follows _redirects: redirects keep the query, rewrites stay hidden, files shadow unforced rules", async () => {
  await withSite({}, async (base) => {
    const old = await get(base + "/old?x=1");
    assertEquals([old.status, old.headers.get("location")], [301, "/about.html?x=1"]);
    const blog = await get(base + "/blog/2024/post");
    assertEquals([blog.status, blog.headers.get("location")], [302, "/posts/2024/post"]);
    const internal = await get(base + "/internal");
    assertEquals([internal.status, internal.text], [200, "<p>about</p>\n"]);
    const shadowed = await get(base + "/exists.html");
    assertEquals(shadowed.status, 200, "a file wins over a rule without !");
    const forced = await get(base + "/forced.html");
    assertEquals([forced.status, forced.headers.get("location")], [308, "/about.html"]);
  });
});

Deno.test("serve() applies _headers to files, on the fast path too, and never serves the rule files", async () => {
  await withSite({}, async (base) => {
    for (const turn of [1, 2, 3]) {
      const script = await get(base + "/app.js");
      assertEquals(script.headers.get("x-frame-options"), "DENY", `turn ${turn}`);
      assertEquals(script.headers.get("cache-control"), "public, max-age=60", `turn ${turn}`);
      assertEquals(script.headers.get("x-content-type-options"), "nosniff", `turn ${turn}`);
    }
    for (const path of ["/_headers", "/_redirects", "/%5Fheaders"]) {
      const response = await get(base + path);
      assertEquals(response.status, 404, path);
      assert(!response.text.includes("X-Frame-Options"), path);
    }
  });
});

Deno.test("serve() answers a built-in error with the site's page for its status", async () => {
  await withSite({ errorPages: { "404": "missing.html" } }, async (base) => {
    const notFound = await get(base + "/nothing-here");
    assertEquals([notFound.status, notFound.text], [404, "<p>our own not-found page</p>\n"]);
    const notAllowed = await get(base + "/about.html", { method: "DELETE" });
    assertEquals([notAllowed.status, notAllowed.text], [405, "<p>our own 405 page</p>\n"]);
    assertEquals(notAllowed.headers.get("allow"), "GET, HEAD, OPTIONS");
  });
});

Deno.test("serve() leaves an application's own error responses alone", async () => {
  const app: Handler = () => new Response("the app's words", { status: 405 });
  await withSite({}, async (base) => {
    const response = await get(base + "/api", { method: "POST", body: "" });
    assertEquals([response.status, response.text], [405, "the app's words"]);
  }, { handler: app });
});

Deno.test("serve() with list lists a directory without an index, and only then", async () => {
  await withSite({ list: true }, async (base) => {
    const listing = await get(base + "/docs/");
    assertEquals(listing.status, 200);
    assertStringIncludes(listing.text, "readme.txt");
    const root = await get(base + "/");
    assertStringIncludes(root.text, "app shell", "a directory with an index serves the index");
  });
  await withSite({}, async (base) => {
    assertEquals((await get(base + "/docs/")).status, 404);
  });
});

Deno.test("serve() answers CORS preflights and decorates answers for the paths a rule names", async () => {
  const cors = [{ path: "/docs/*", origins: ["http://app.test"], credentials: true, maxAge: 60 }];
  await withSite({ cors }, async (base) => {
    const preflight = await get(base + "/docs/readme.txt", {
      method: "OPTIONS",
      headers: { origin: "http://app.test", "access-control-request-method": "GET" },
    });
    assertEquals(preflight.status, 204);
    assertEquals(preflight.headers.get("access-control-allow-origin"), "http://app.test");
    assertEquals(preflight.headers.get("access-control-allow-credentials"), "true");
    assertEquals(preflight.headers.get("access-control-max-age"), "60");
    for (const turn of [1, 2]) {
      const simple = await get(base + "/docs/readme.txt", {
        headers: { origin: "http://app.test" },
      });
      assertEquals(simple.headers.get("access-control-allow-origin"), "http://app.test", `${turn}`);
      assertStringIncludes(simple.headers.get("vary") ?? "", "Origin");
    }
    const other = await get(base + "/about.html", { headers: { origin: "http://app.test" } });
    assertEquals(other.headers.get("access-control-allow-origin"), null);
  });
});

Deno.test("serve().reload() picks up a changed _redirects and keeps the old rules when the new ones are wrong", async () => {
  const logger = recordingLogger();
  await withSite(
    {},
    async (base, server, root) => {
      await Deno.writeTextFile(join(root, "_redirects"), "/old /exists.html 302\n");
      assertEquals(await server.reload(), true);
      assertEquals((await get(base + "/old")).headers.get("location"), "/exists.html");
      await Deno.writeTextFile(join(root, "_redirects"), "/old /exists.html thirty\n");
      assertEquals(await server.reload(), false);
      assertEquals((await get(base + "/old")).headers.get("location"), "/exists.html");
    },
    { logger },
  );
  assertEquals(logger.errors.length, 1, logger.errors.join("\n"));
  assertStringIncludes(
    logger.errors[0],
    "reload refused, the running configuration stays: _redirects:1",
  );
});

Deno.test("serve() answers an application that throws with the site's 500 page, and logs it", async () => {
  const app: Handler = () => {
    throw new Error("broken");
  };
  const logger = recordingLogger();
  await withSite({ spa: true }, async (base) => {
    const response = await get(base + "/api", { method: "POST", body: "" });
    assertEquals([response.status, response.text], [500, "<p>our own 500 page</p>\n"]);
  }, { handler: app, logger, files: { "500.html": "<p>our own 500 page</p>\n" } });
  assertEquals(logger.errors, ["handler failed for POST /api"]);
});

Deno.test("serve() applies rules to a path written with doubled slashes as to the plain path", async () => {
  const cors = [{ path: "/app.js", origins: ["http://app.test"] }];
  await withSite({ cors }, async (base) => {
    for (const path of ["/app.js", "//app.js", "//app.js", "/.//app.js"]) {
      const response = await get(base + path, { headers: { origin: "http://app.test" } });
      assertEquals(response.status, 200, path);
      assertEquals(response.headers.get("x-frame-options"), "DENY", path);
      assertEquals(response.headers.get("access-control-allow-origin"), "http://app.test", path);
    }
  });
});

Deno.test("serve() holds a 404 rewrite's target to what a request may reach", async () => {
  const rules = [{ path: "/r/*", rewrite: "/:splat", status: 404 }];
  const files = { ...SITE, ".env": "SECRET=1\n", "404.html": "<p>not here</p>\n" };
  await withSite({ rules }, async (base) => {
    for (const path of ["/r/.env", "/r/_headers", "/r/_redirects", "/r/%2Eenv"]) {
      const response = await get(base + path);
      assertEquals(response.status, 404, path);
      assert(!response.text.includes("SECRET") && !response.text.includes("X-Frame"), path);
    }
    const page = await get(base + "/r/about.html");
    assertEquals([page.status, page.text], [404, "<p>about</p>\n"]);
    const missing = await get(base + "/r/nothing.html");
    assertEquals([missing.status, missing.text], [404, "<p>not here</p>\n"]);
  }, { files });
});

Deno.test("serve() with list does not list the rule files however the root is reached", async () => {
  const files = { "docs/a.txt": "a", "_headers": "/x\n  X-A: 1\n", "_redirects": "/a /b 301\n" };
  await withSite({ list: true }, async (base) => {
    for (const path of ["/", "//", "/docs/../"]) {
      const listing = await get(base + path);
      assertEquals(listing.status, 200, path);
      assertStringIncludes(listing.text, "docs/", path);
      assert(!listing.text.includes("_headers") && !listing.text.includes("_redirects"), path);
    }
  }, { files });
});

Deno.test("serve() applies routes, header rules and CORS around an application without a root", async () => {
  const app: Handler = (request) => new Response(`app ${new URL(request.url).pathname}`);
  const server = serve({
    handler: app,
    site: {
      rules: [
        { path: "/old", redirect: "/new", status: 308 },
        { path: "/*", headers: { set: { "x-rule": "yes" } } },
      ],
      cors: [{ path: "/api/*", origins: "*" }],
    },
    port: 0,
    hostname: "127.0.0.1",
    logger: silentLogger,
    onListen: () => {},
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const old = await get(base + "/old");
    assertEquals([old.status, old.headers.get("location")], [308, "/new"]);
    const api = await get(base + "/api/x", { headers: { origin: "http://elsewhere.test" } });
    assertEquals(api.text, "app /api/x");
    assertEquals(api.headers.get("x-rule"), "yes");
    assertEquals(api.headers.get("access-control-allow-origin"), "*");
  } finally {
    await server.shutdown();
  }
});

Deno.test("serve() that cannot listen leaves nothing running", async () => {
  await withTempDir(SITE, (root) => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = (taken.addr as Deno.NetAddr).port;
      let failed = false;
      try {
        serve({ root, port, hostname: "127.0.0.1", logger: silentLogger, onListen: () => {} });
      } catch (error) {
        failed = error instanceof Deno.errors.AddrInUse;
      }
      assert(failed, "serve() threw AddrInUse");
    } finally {
      taken.close();
    }
    return Promise.resolve();
  });
  // The test sanitizers fail this test if a watcher or a file stayed open.
});

Deno.test("serve() in development mode answers a built-in error with the site's page", async () => {
  await withSite(
    {},
    async (base) => {
      const response = await get(base + "/about.html", { method: "DELETE" });
      assertEquals(response.status, 405);
      assertStringIncludes(response.text, "our own 405 page");
    },
    { dev: true },
  );
});

Deno.test("serve().reload() closes the files the replaced rules kept open", async () => {
  const fds = async () => {
    let count = 0;
    for await (const _ of Deno.readDir("/proc/self/fd")) count++;
    return count;
  };
  try {
    await Deno.stat("/proc/self/fd");
  } catch {
    return; // Counting descriptors needs /proc.
  }
  const files = { ...SITE, "big.bin": "x".repeat(3 * 1024 * 1024) };
  await withSite({ spa: true }, async (base, server) => {
    const url = `${base}/big.bin`;
    await (await fetch(url)).arrayBuffer();
    const before = await fds();
    for (let i = 0; i < 20; i++) {
      await (await fetch(url)).arrayBuffer();
      assertEquals(await server.reload(), true);
    }
    const after = await fds();
    assert(after - before < 5, `descriptors grew from ${before} to ${after} over 20 reloads`);
  }, { files });
});

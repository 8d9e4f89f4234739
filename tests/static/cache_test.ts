import { assert, assertEquals, assertStringIncludes, join } from "../_deps.ts";
import { DEFAULT_LIMITS } from "../../lib/config.ts";
import { type Connection, type Handler, serveConnection } from "../../lib/connection.ts";
import { silentLogger } from "../../lib/log.ts";
import { parseRequestHead } from "../../lib/http/parse.ts";
import { httpDate, writeResponse } from "../../lib/http/response.ts";
import { FileCache } from "../../lib/static/cache.ts";
import type { FileStat } from "../../lib/static/fs.ts";
import { staticSite } from "../../lib/static/handler.ts";
import { latin1, RawClient, testInfo, utf8, withServer } from "../_helpers.ts";

const SERVER = "portico/test";

function stat(size: number, mtime = 1_700_000_000_000): FileStat {
  return { isFile: true, isDirectory: false, size, mtime: new Date(mtime) };
}

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance(ms: number): void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => t += ms };
}

function headOf(text: string) {
  const parsed = parseRequestHead(latin1(text), DEFAULT_LIMITS);
  assert(parsed !== null);
  return parsed.head;
}

/** Everything written for a response, with the Date line taken out. */
function withoutDate(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes).replace(/\r\ndate: [^\r]*/, "");
}

async function written(response: Response, method: string, keepAlive: boolean): Promise<string> {
  const parts: number[] = [];
  const sink = {
    write(p: Uint8Array): Promise<number> {
      parts.push(...p);
      return Promise.resolve(p.length);
    },
  };
  await writeResponse(sink, response, { method, minor: 1, keepAlive, server: SERVER });
  return withoutDate(new Uint8Array(parts));
}

async function tempRoot(files: Record<string, string | Uint8Array>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "portico-cache-" });
  for (const [name, content] of Object.entries(files)) {
    const bytes = typeof content === "string" ? utf8(content) : content;
    await Deno.writeFile(join(root, name), bytes);
  }
  return root;
}

Deno.test("FileCache.add() evicts the least recently used files beyond maxTotalBytes", () => {
  const cache = new FileCache({ maxFileBytes: 100, maxTotalBytes: 250 });
  const a = cache.add("/a", stat(100), new Uint8Array(100), "text/plain");
  cache.add("/b", stat(100), new Uint8Array(100), "text/plain");
  assertEquals(cache.get("/a", stat(100)), a); // a is now more recent than b
  cache.add("/c", stat(100), new Uint8Array(100), "text/plain");
  assertEquals(cache.size, 2);
  assertEquals(cache.bytes, 200);
  assertEquals(cache.get("/b", stat(100)), undefined);
  assert(cache.get("/a", stat(100)) !== undefined);
  assert(cache.get("/c", stat(100)) !== undefined);
});

Deno.test("FileCache.add() keeps no file larger than maxFileBytes", () => {
  const cache = new FileCache({ maxFileBytes: 100, maxTotalBytes: 1000 });
  const big = cache.add("/big", stat(101), new Uint8Array(101), "text/plain");
  assertEquals(big.body.length, 101);
  assertEquals(cache.size, 0);
  assertEquals(cache.bytes, 0);
  cache.route("/big", big, 0);
  assertEquals(cache.lookup("/big"), undefined);
});

Deno.test("FileCache.add() replaces an older version of the same file", () => {
  const cache = new FileCache({ maxFileBytes: 100, maxTotalBytes: 1000 });
  cache.add("/a", stat(10, 1), new Uint8Array(10), "text/plain");
  const newer = cache.add("/a", stat(20, 2), new Uint8Array(20), "text/plain");
  assertEquals(cache.size, 1);
  assertEquals(cache.bytes, 20);
  assertEquals(cache.get("/a", stat(20, 2)), newer);
});

Deno.test("FileCache.get() drops a file whose size or modification time changed", () => {
  const cache = new FileCache({ maxFileBytes: 100, maxTotalBytes: 1000 });
  cache.add("/a", stat(10, 1), new Uint8Array(10), "text/plain");
  assertEquals(cache.get("/a", stat(10, 2)), undefined);
  assertEquals(cache.size, 0);
  cache.add("/a", stat(10, 1), new Uint8Array(10), "text/plain");
  assertEquals(cache.get("/a", stat(11, 1)), undefined);
  assertEquals(cache.bytes, 0);
});

Deno.test("FileCache.lookup() trusts a path for revalidateMs after its check, then forgets it", () => {
  const clock = manualClock();
  const cache = new FileCache({ maxFileBytes: 100, maxTotalBytes: 1000 }, 1000, clock.now);
  const file = cache.add("/srv/a", stat(10), new Uint8Array(10), "text/plain");
  const checkedAt = clock.now();
  cache.route("/a", file, checkedAt);
  clock.advance(999);
  assertEquals(cache.lookup("/a"), file);
  clock.advance(1);
  assertEquals(cache.lookup("/a"), undefined);
  // A new check makes it good for another period.
  cache.route("/a", file, clock.now());
  assertEquals(cache.lookup("/a"), file);
});

Deno.test("FileCache.lookup() forgets a path whose file was evicted", () => {
  const clock = manualClock();
  const cache = new FileCache({ maxFileBytes: 100, maxTotalBytes: 100 }, 1000, clock.now);
  const a = cache.add("/srv/a", stat(100), new Uint8Array(100), "text/plain");
  cache.route("/a", a, clock.now());
  cache.add("/srv/b", stat(100), new Uint8Array(100), "text/plain");
  assertEquals(cache.lookup("/a"), undefined);
});

Deno.test("staticSite() keeps its cache within maxTotalBytes and still serves every file", async () => {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 20; i++) files[`f${i}.bin`] = new Uint8Array(3000).fill(i);
  files["big.bin"] = new Uint8Array(5000).fill(99);
  const root = await tempRoot(files);
  try {
    const site = staticSite(root, { cache: { maxTotalBytes: 10_000, maxFileBytes: 4096 } });
    for (const [name, bytes] of Object.entries(files)) {
      const response = await site.handler(new Request(`http://a/${name}`), testInfo(`/${name}`));
      assertEquals(new Uint8Array(await response.arrayBuffer()), bytes, name);
      assert(site.cache!.bytes <= 10_000, `${site.cache!.bytes} bytes after ${name}`);
    }
    assertEquals(site.cache!.size, 3);
    const head = headOf("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(site.shortcut!(head, "", SERVER), null, "a file above maxFileBytes is not kept");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cacheShortcut() answers exactly as the static handler does", async () => {
  const root = await tempRoot({ "page.html": "<p>cached</p>\n", "empty.txt": "" });
  try {
    const site = staticSite(root);
    for (const path of ["/page.html", "/empty.txt"]) {
      const first = await site.handler(new Request(`http://a${path}`), testInfo(path));
      const etag = first.headers.get("etag")!;
      await first.body?.cancel();
      const cases: [string, string, Record<string, string>][] = [
        ["GET", "", {}],
        ["HEAD", "", {}],
        ["GET", "close", {}],
        ["HEAD", "close", {}],
        ["GET", "", { "if-none-match": etag }],
        ["GET", "", { "if-none-match": `"other", ${etag}` }],
        ["GET", "", { "if-modified-since": first.headers.get("last-modified")! }],
        ["GET", "", { "if-none-match": '"other"' }],
      ];
      for (const [method, connection, fields] of cases) {
        const label = `${method} ${path} ${connection} ${JSON.stringify(fields)}`;
        let text = `${method} ${path} HTTP/1.1\r\nHost: a\r\n`;
        for (const [name, value] of Object.entries(fields)) text += `${name}: ${value}\r\n`;
        const prepared = site.shortcut!(headOf(text + "\r\n"), connection, SERVER);
        assert(prepared !== null, label);
        const response = await site.handler(
          new Request(`http://a${path}`, { method, headers: fields }),
          testInfo(path),
        );
        assertEquals(withoutDate(prepared.bytes), await written(response, method, !connection));
        assertEquals(prepared.status, response.status, label);
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cacheShortcut() leaves ranges, other preconditions, bodies and other methods to the handler", async () => {
  const root = await tempRoot({ "a.txt": "hello\n" });
  try {
    const site = staticSite(root);
    const first = await site.handler(new Request("http://a/a.txt"), testInfo("/a.txt"));
    await first.body?.cancel();
    const shortcut = site.shortcut!;
    assert(shortcut(headOf("GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n"), "", SERVER) !== null);
    const passed = [
      "GET /a.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n",
      'GET /a.txt HTTP/1.1\r\nHost: a\r\nIf-Match: "x"\r\n\r\n',
      "GET /a.txt HTTP/1.1\r\nHost: a\r\nIf-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n\r\n",
      'GET /a.txt HTTP/1.1\r\nHost: a\r\nIf-Range: "x"\r\n\r\n',
      "GET /a.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
      "POST /a.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
      "OPTIONS /a.txt HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http://a/a.txt HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /b.txt HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /./a.txt HTTP/1.1\r\nHost: a\r\n\r\n", // another path, not yet looked up
    ];
    for (const text of passed) assertEquals(shortcut(headOf(text), "", SERVER), null, text);
    // The query is not part of the path a file is found by.
    assert(shortcut(headOf("GET /a.txt?v=2 HTTP/1.1\r\nHost: a\r\n\r\n"), "", SERVER) !== null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** GETs `path` on a kept-alive connection until the body is `expected`; returns how long it took. */
async function msUntilBody(
  client: RawClient,
  path: string,
  expected: string | null,
  limitMs: number,
): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < 100_000 && performance.now() - start < limitMs; i++) {
    await client.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
    const response = await client.read();
    if (expected === null ? response.status === 404 : response.text === expected) {
      return performance.now() - start;
    }
  }
  throw new Error(`${path} did not become ${expected ?? "404"} within ${limitMs} ms`);
}

Deno.test("listen() serves a cached file's new content within a second of the change", async () => {
  const root = await tempRoot({ "note.txt": "version 1\n" });
  try {
    await withServer(async (port) => {
      const client = await RawClient.connect(port);
      try {
        // Looked up on disk, then served from memory.
        await msUntilBody(client, "/note.txt", "version 1\n", 1000);
        await msUntilBody(client, "/note.txt", "version 1\n", 1000);
        // Same size, new content: only the modification time tells.
        await Deno.writeTextFile(join(root, "note.txt"), "version 2\n");
        const ms = await msUntilBody(client, "/note.txt", "version 2\n", 3000);
        assert(ms <= 1100, `the change took ${Math.round(ms)} ms to be served`);
        await Deno.remove(join(root, "note.txt"));
        const gone = await msUntilBody(client, "/note.txt", null, 3000);
        assert(gone <= 1100, `the deletion took ${Math.round(gone)} ms to be served`);
      } finally {
        client.close();
      }
    }, { root });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** A connection that delivers `requests` one read each, then ends, and records every write. */
function scriptedConnection(requests: string[]): Connection & { writes: Uint8Array[] } {
  const pending = requests.map(latin1);
  const writes: Uint8Array[] = [];
  const addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };
  return {
    writes,
    read(p: Uint8Array): Promise<number | null> {
      const next = pending.shift();
      if (next === undefined) return Promise.resolve(null);
      p.set(next);
      return Promise.resolve(next.length);
    },
    write(p: Uint8Array): Promise<number> {
      writes.push(p.slice());
      return Promise.resolve(p.length);
    },
    closeWrite: () => Promise.resolve(),
    close: () => {},
    remoteAddr: addr,
    localAddr: addr,
  };
}

Deno.test("serveConnection() answers a cached GET in one write, without the handler", async () => {
  const root = await tempRoot({ "a.txt": "hello\n" });
  try {
    const site = staticSite(root);
    let handled = 0;
    const handler: Handler = (request, info) => {
      handled++;
      return site.handler(request, info);
    };
    const get = "GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n";
    const conn = scriptedConnection([get, get, get]);
    const options = { limits: DEFAULT_LIMITS, logger: silentLogger, server: SERVER };
    await serveConnection(conn, handler, { ...options, shortcut: site.shortcut! });
    assertEquals(handled, 1, "only the first request reaches the handler");
    assertEquals(conn.writes.length, 3);
    for (const bytes of conn.writes) {
      const text = String.fromCharCode(...bytes);
      assert(text.startsWith("HTTP/1.1 200 OK\r\n") && text.endsWith("\r\n\r\nhello\n"), text);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("CachedFile.prepared() reuses its bytes within a second and carries the current Date", () => {
  const cache = new FileCache({ maxFileBytes: 100, maxTotalBytes: 1000 });
  const file = cache.add("/srv/a", stat(5), utf8("hello"), "text/plain");
  // Retried if a second boundary falls between the two calls.
  for (let attempt = 0; attempt < 3; attempt++) {
    const date = httpDate();
    const first = file.prepared("get", "", SERVER);
    const second = file.prepared("get", "", SERVER);
    if (httpDate() !== date) continue;
    assert(first.bytes === second.bytes, "one buffer is shared within the second");
    assertStringIncludes(String.fromCharCode(...first.bytes), `\r\ndate: ${date}\r\n`);
    assertEquals(file.prepared("head", "", SERVER).bytes.buffer, first.bytes.buffer);
    return;
  }
  throw new Error("three second boundaries in a row");
});

Deno.test("staticSite() with a cache of 0 bytes has no cache and no shortcut", () => {
  const site = staticSite(".", { cache: { maxTotalBytes: 0 } });
  assertEquals(site.cache, null);
  assertEquals(site.shortcut, null);
  assertEquals(staticSite(".", { cache: false }).shortcut, null);
});

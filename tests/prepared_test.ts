import { DEFAULT_LIMITS } from "../lib/config.ts";
import type { Handler } from "../lib/handler.ts";
import { type Connection, serveConnection } from "../lib/http/connection.ts";
import { parseRequestHead } from "../lib/http/parse.ts";
import { httpDate, writeResponse } from "../lib/http/response.ts";
import { silentLogger } from "../lib/log.ts";
import { preparedShortcut } from "../lib/prepared.ts";
import { staticSite } from "../lib/static/mod.ts";
import { assert, assertEquals, assertStringIncludes, join } from "./_deps.ts";
import { latin1, testInfo } from "./_helpers.ts";
import { manualClock, withTempDir } from "./static/_static.ts";

const SERVER = "portico/test";

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

/** Asks the static handler for `path` once, as the server would, so the cache learns it. */
async function warm(site: ReturnType<typeof staticSite>, path: string): Promise<Response> {
  return await site.handler(new Request(`http://a${path}`), testInfo(path));
}

Deno.test("preparedShortcut() leaves a file above the cache's file size to the handler", async () => {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 20; i++) files[`f${i}.bin`] = new Uint8Array(3000).fill(i);
  files["big.bin"] = new Uint8Array(5000).fill(99);
  await withTempDir(files, async (root) => {
    const site = staticSite(root, { cache: { cacheBytes: 10_000, cacheFileBytes: 4096 } });
    for (const name of Object.keys(files)) await (await warm(site, `/${name}`)).body?.cancel();
    const shortcut = preparedShortcut(site.cache!, site.negotiate);
    const head = headOf("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n");
    assertEquals(shortcut(head, "", SERVER), null, "a file above cacheFileBytes is not kept");
  });
});

Deno.test("preparedShortcut() answers exactly as the static handler does", async () => {
  await withTempDir({ "page.html": "<p>cached</p>\n", "empty.txt": "" }, async (root) => {
    const site = staticSite(root);
    const shortcut = preparedShortcut(site.cache!, site.negotiate);
    for (const path of ["/page.html", "/empty.txt"]) {
      const first = await warm(site, path);
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
        ["GET", "close", { "if-none-match": etag }],
        ["HEAD", "", { "if-none-match": etag }],
        [
          "GET",
          "",
          { "if-none-match": etag, "if-modified-since": "Sat, 01 Jan 2000 00:00:00 GMT" },
        ],
        ["GET", "", { "if-none-match": `W/${etag}` }],
      ];
      for (const [method, connection, fields] of cases) {
        const label = `${method} ${path} ${connection} ${JSON.stringify(fields)}`;
        let text = `${method} ${path} HTTP/1.1\r\nHost: a\r\n`;
        for (const [name, value] of Object.entries(fields)) text += `${name}: ${value}\r\n`;
        const prepared = shortcut(headOf(text + "\r\n"), connection, SERVER);
        assert(prepared !== null, label);
        const response = await site.handler(
          new Request(`http://a${path}`, { method, headers: fields }),
          testInfo(path),
        );
        assertEquals(withoutDate(prepared.bytes), await written(response, method, !connection));
        assertEquals(prepared.status, response.status, label);
      }
    }
  });
});

Deno.test("preparedShortcut() leaves ranges, other preconditions, bodies and other methods to the handler", async () => {
  await withTempDir({ "a.txt": "hello\n" }, async (root) => {
    const site = staticSite(root);
    await (await warm(site, "/a.txt")).body?.cancel();
    const shortcut = preparedShortcut(site.cache!, site.negotiate);
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
  });
});

Deno.test("preparedShortcut() hands a path back to the handler once the revalidation time has passed", async () => {
  await withTempDir({ "note.txt": "version 1\n" }, async (root) => {
    const clock = manualClock();
    const site = staticSite(root, { clock: clock.now });
    const shortcut = preparedShortcut(site.cache!, site.negotiate);
    const get = headOf("GET /note.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    await (await warm(site, "/note.txt")).body?.cancel();
    assertStringIncludes(String.fromCharCode(...shortcut(get, "", SERVER)!.bytes), "version 1\n");
    // Same size, new content, replaced as a deploy does (a new inode): an
    // in-place rewrite within one timestamp tick would change nothing the
    // validator can see.
    await Deno.writeTextFile(join(root, "note.next"), "version 2\n");
    await Deno.rename(join(root, "note.next"), join(root, "note.txt"));
    clock.advance(999);
    assert(shortcut(get, "", SERVER) !== null, "trusted for just under a second");
    clock.advance(1);
    assertEquals(shortcut(get, "", SERVER), null, "looked at again on disk after a second");
    assertEquals(await (await warm(site, "/note.txt")).text(), "version 2\n");
    assertStringIncludes(String.fromCharCode(...shortcut(get, "", SERVER)!.bytes), "version 2\n");
    await Deno.remove(join(root, "note.txt"));
    clock.advance(1000);
    assertEquals(shortcut(get, "", SERVER), null);
    assertEquals((await warm(site, "/note.txt")).status, 404);
    assertEquals(shortcut(get, "", SERVER), null, "a deleted file stays with the handler");
  });
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
  await withTempDir({ "a.txt": "hello\n" }, async (root) => {
    const site = staticSite(root);
    let handled = 0;
    const handler: Handler = (request, info) => {
      handled++;
      return site.handler(request, info);
    };
    const get = "GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n";
    const conn = scriptedConnection([get, get, get]);
    const options = { limits: DEFAULT_LIMITS, logger: silentLogger, server: SERVER };
    await serveConnection(conn, handler, {
      ...options,
      shortcut: preparedShortcut(site.cache!, site.negotiate),
    });
    assertEquals(handled, 1, "only the first request reaches the handler");
    assertEquals(conn.writes.length, 3);
    for (const bytes of conn.writes) {
      const text = String.fromCharCode(...bytes);
      assert(text.startsWith("HTTP/1.1 200 OK\r\n") && text.endsWith("\r\n\r\nhello\n"), text);
    }
  });
});

Deno.test("preparedShortcut() reuses its bytes within a second, for every Connection, with the current Date", async () => {
  await withTempDir({ "a.txt": "hello" }, async (root) => {
    const site = staticSite(root);
    await (await warm(site, "/a.txt")).body?.cancel();
    const shortcut = preparedShortcut(site.cache!, site.negotiate);
    const get = headOf("GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    const head = headOf("HEAD /a.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    // Retried if a second boundary falls between the calls.
    attempts: for (let attempt = 0; attempt < 3; attempt++) {
      const date = httpDate();
      // Each value of Connection the loop asks for: keep-alive 1.1, close, keep-alive 1.0.
      for (const connection of ["", "close", "keep-alive"]) {
        const first = shortcut(get, connection, SERVER)!;
        const second = shortcut(get, connection, SERVER)!;
        if (httpDate() !== date) continue attempts;
        assert(
          first.bytes === second.bytes,
          `one buffer is shared within the second: ${connection}`,
        );
        const text = String.fromCharCode(...first.bytes);
        assertStringIncludes(text, `\r\ndate: ${date}\r\n`);
        if (connection !== "") assertStringIncludes(text, `\r\nconnection: ${connection}\r\n`);
        assertEquals(shortcut(head, connection, SERVER)!.bytes.buffer, first.bytes.buffer);
      }
      return;
    }
    throw new Error("three second boundaries in a row");
  });
});

Deno.test("staticSite() with a cache of 0 bytes has no cache for a shortcut", () => {
  assertEquals(staticSite(".", { cache: { cacheBytes: 0 } }).cache, null);
  assertEquals(staticSite(".", { cache: false }).cache, null);
});

Deno.test("preparedShortcut() answers each coding exactly as the static handler does, once it is made", async () => {
  const css = "body { color: #333; margin: 0 auto; }\n".repeat(100);
  await withTempDir({ "style.css": css }, async (root) => {
    const site = staticSite(root);
    const shortcut = preparedShortcut(site.cache!, site.negotiate);
    await (await warm(site, "/style.css")).body?.cancel();
    for (const accept of ["br", "gzip", "zstd", "gzip, deflate, br, zstd", "identity"]) {
      const text = `GET /style.css HTTP/1.1\r\nHost: a\r\nAccept-Encoding: ${accept}\r\n\r\n`;
      if (!accept.includes(",") && accept !== "identity") {
        assertEquals(shortcut(headOf(text), "", SERVER), null, `${accept} is not made yet`);
      }
      const request = () =>
        new Request("http://a/style.css", { headers: { "accept-encoding": accept } });
      const response = await site.handler(request(), testInfo("/style.css"));
      const etag = response.headers.get("etag")!;
      const expected = await written(response, "GET", true);
      const prepared = shortcut(headOf(text), "", SERVER);
      assert(prepared !== null, accept);
      assertEquals(withoutDate(prepared.bytes), expected, accept);

      const revalidate = `${text.slice(0, -2)}If-None-Match: ${etag}\r\n\r\n`;
      const notModified = shortcut(headOf(revalidate), "", SERVER);
      assertEquals(notModified?.status, 304, `${accept}: its own tag`);
      const conditional = new Request("http://a/style.css", {
        headers: { "accept-encoding": accept, "if-none-match": etag },
      });
      const answer = await site.handler(conditional, testInfo("/style.css"));
      assertEquals(withoutDate(notModified!.bytes), await written(answer, "GET", true));
    }
  });
});

import * as zlib from "node:zlib";
import { assert, assertEquals, assertNotEquals, join } from "../_deps.ts";
import type { Coding } from "../../lib/encoding/negotiate.ts";
import type { StaticOptions } from "../../lib/static/options.ts";
import { staticSite } from "../../lib/static/site.ts";
import { assertSameBytes, decode, randomBytes } from "../_bytes.ts";
import { until } from "../_helpers.ts";
import { bytesOf, countingFileSystem, request, utf8, withTempDir } from "./_static.ts";

/** Some kilobytes of text that compresses well. */
const TEXT = utf8("body { color: #333; margin: 0 auto; }\n".repeat(200));
/** A larger script than the cache keeps, so it is compressed while streamed. */
const LARGE = utf8("export const value = Math.random() * 42;\n".repeat(4000));

const CODINGS: readonly Coding[] = ["br", "zstd", "gzip"];

async function get(
  site: ReturnType<typeof staticSite>,
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<Response> {
  return await site.handler(request(path, { method, headers }));
}

function withSite(
  files: Record<string, string | Uint8Array>,
  fn: (site: ReturnType<typeof staticSite>, dir: string) => Promise<void>,
  options: StaticOptions = {},
): Promise<void> {
  return withTempDir(files, (dir) => fn(staticSite(dir, options), dir));
}

for (const [what, name, body] of [["cached", "style.css", TEXT], ["streamed", "app.js", LARGE]]) {
  Deno.test(`staticSite() sends a ${what} file in each coding, decoding to its bytes`, async () => {
    await withSite({ [name as string]: body }, async (site) => {
      const tags = new Set<string>();
      for (const coding of CODINGS) {
        const response = await get(site, `/${name}`, { "accept-encoding": coding });
        assertEquals(response.status, 200);
        assertEquals(response.headers.get("content-encoding"), coding);
        assertEquals(response.headers.get("vary"), "Accept-Encoding");
        const bytes = await bytesOf(response);
        assertSameBytes(decode(coding, bytes), body as Uint8Array, coding);
        assert(bytes.length < (body as Uint8Array).length / 4, `${coding} compresses`);
        const length = response.headers.get("content-length");
        if (what === "cached") assertEquals(length, String(bytes.length));
        else assertEquals(length, null);
        tags.add(response.headers.get("etag")!);
      }
      const identity = await get(site, `/${name}`);
      assertEquals(identity.headers.get("content-encoding"), null);
      assertEquals(identity.headers.get("vary"), "Accept-Encoding");
      assertSameBytes(await bytesOf(identity), body as Uint8Array, "identity");
      tags.add(identity.headers.get("etag")!);
      assertEquals(tags.size, 4, "each representation has its own tag");
    }, { cache: { cacheFileBytes: 64 * 1024 } });
  });
}

Deno.test("staticSite() answers 304 for each representation's own tag only", async () => {
  await withSite({ "style.css": TEXT }, async (site) => {
    for (const coding of [...CODINGS, "identity"]) {
      const accept = { "accept-encoding": coding };
      const first = await get(site, "/style.css", accept);
      const etag = first.headers.get("etag")!;
      await first.body?.cancel();
      const again = await get(site, "/style.css", { ...accept, "if-none-match": etag });
      assertEquals(again.status, 304, coding);
      assertEquals(again.headers.get("etag"), etag);
      assertEquals(again.headers.get("vary"), "Accept-Encoding");
      assertEquals(again.headers.get("content-encoding"), null);
      // Another representation's tag does not match this one.
      const other = coding === "gzip" ? "br" : "gzip";
      const miss = await get(site, "/style.css", {
        "accept-encoding": other,
        "if-none-match": etag,
      });
      assertEquals(miss.status, 200, `${coding} tag sent with ${other}`);
      await miss.body?.cancel();
    }
  });
});

Deno.test("staticSite() prefers a fresh sidecar and ignores a stale one", async () => {
  const sidecar = zlib.gzipSync(TEXT, { level: 1 });
  await withSite({ "a.css": TEXT, "a.css.gz": sidecar, "b.css": TEXT }, async (site, dir) => {
    const fresh = await get(site, "/a.css", { "accept-encoding": "gzip" });
    assertEquals(fresh.headers.get("content-encoding"), "gzip");
    assertSameBytes(await bytesOf(fresh), sidecar, "the sidecar's own bytes");
    // The sidecar's own URL is an ordinary file.
    const direct = await get(site, "/a.css.gz", { "accept-encoding": "gzip" });
    assertEquals(direct.headers.get("content-encoding"), null);
    assertSameBytes(await bytesOf(direct), sidecar, "sidecar as a file");

    await Deno.writeFile(join(dir, "b.css.gz"), sidecar);
    const old = new Date(Date.now() - 3_600_000);
    await Deno.utime(join(dir, "b.css.gz"), old, old);
    const stale = await get(site, "/b.css", { "accept-encoding": "gzip" });
    const bytes = await bytesOf(stale);
    assertNotEquals(bytes.length, sidecar.length, "a stale sidecar is not sent");
    assertSameBytes(decode("gzip", bytes), TEXT, "compressed from the file");
  });
});

Deno.test("staticSite() sends a streamed file's fresh sidecar with its length", async () => {
  const sidecar = zlib.brotliCompressSync(LARGE);
  await withSite({ "app.js": LARGE, "app.js.br": sidecar }, async (site) => {
    const response = await get(site, "/app.js", { "accept-encoding": "br, gzip" });
    assertEquals(response.headers.get("content-encoding"), "br");
    assertEquals(response.headers.get("content-length"), String(sidecar.length));
    assertSameBytes(await bytesOf(response), new Uint8Array(sidecar), "the sidecar");
  });
});

Deno.test("staticSite() does not compress images, small files or when turned off", async () => {
  const png = randomBytes(8000);
  const files = { "p.png": png, "tiny.css": "a{}", "big.css": TEXT };
  await withSite(files, async (site) => {
    for (const path of ["/p.png", "/tiny.css"]) {
      const response = await get(site, path, { "accept-encoding": "gzip, br" });
      assertEquals(response.headers.get("content-encoding"), null, path);
      assertEquals(response.headers.get("vary"), null, path);
      await response.body?.cancel();
    }
  });
  await withSite(files, async (site) => {
    const response = await get(site, "/big.css", { "accept-encoding": "gzip, br" });
    assertEquals(response.headers.get("content-encoding"), null);
    assertEquals(response.headers.get("vary"), null);
    await response.body?.cancel();
  }, { compression: false });
});

Deno.test("staticSite() answers HEAD with the fields GET has, for every coding", async () => {
  await withSite({ "style.css": TEXT, "app.js": LARGE }, async (site) => {
    for (const path of ["/style.css", "/app.js"]) {
      for (const coding of [...CODINGS, "identity"]) {
        const accept = { "accept-encoding": coding };
        const got = await get(site, path, accept);
        await got.body?.cancel();
        const head = await get(site, path, accept, "HEAD");
        assertEquals(head.body, null);
        assertEquals([...head.headers], [...got.headers], `${path} ${coding}`);
      }
    }
  });
});

Deno.test("staticSite() serves ranges from the identity representation", async () => {
  await withSite({ "style.css": TEXT }, async (site) => {
    const identity = await get(site, "/style.css");
    const etag = identity.headers.get("etag")!;
    await identity.body?.cancel();
    const headers = { "accept-encoding": "br, gzip", range: "bytes=0-9" };
    const partial = await get(site, "/style.css", headers);
    assertEquals(partial.status, 206);
    assertEquals(partial.headers.get("content-encoding"), null);
    assertEquals(partial.headers.get("vary"), "Accept-Encoding");
    assertEquals(partial.headers.get("etag"), etag);
    assertSameBytes(await bytesOf(partial), TEXT.subarray(0, 10), "the first ten bytes");
    // If-Range compares the identity tag: an encoded tag does not match it.
    const br = await get(site, "/style.css", { "accept-encoding": "br" });
    const brTag = br.headers.get("etag")!;
    await br.body?.cancel();
    const stale = await get(site, "/style.css", { ...headers, "if-range": brTag });
    assertEquals(stale.status, 200);
    await stale.body?.cancel();
    const fresh = await get(site, "/style.css", { ...headers, "if-range": etag });
    assertEquals(fresh.status, 206);
    await fresh.body?.cancel();
  });
});

Deno.test("staticSite() gives the same tags to copies of a tree with other times", async () => {
  const files = { "index.html": "<p>hi</p>", "style.css": TEXT, "app.js": LARGE };
  const tags: string[][] = [];
  for (const offset of [0, 86_400_000]) {
    await withTempDir(files, async (dir) => {
      const when = new Date(1_700_000_000_000 + offset);
      for (const name of Object.keys(files)) await Deno.utime(join(dir, name), when, when);
      const site = staticSite(dir);
      const row: string[] = [];
      for (const name of Object.keys(files)) {
        for (const coding of ["identity", "br"]) {
          const response = await get(site, `/${name}`, { "accept-encoding": coding });
          await response.body?.cancel();
          row.push(`${name} ${coding} ${response.headers.get("etag")}`);
        }
      }
      tags.push(row);
    });
  }
  assertEquals(tags[0], tags[1]);
});

Deno.test("staticSite() counts encoded representations in the cache's budget", async () => {
  await withSite({ "style.css": TEXT }, async (site) => {
    const cache = site.cache!;
    const before = (await get(site, "/style.css")).headers.get("etag");
    assert(before !== null);
    const held = cache.bytes;
    assertEquals(held, TEXT.length);
    const response = await get(site, "/style.css", { "accept-encoding": "gzip" });
    const gzip = await bytesOf(response);
    assertEquals(cache.bytes, TEXT.length + gzip.length);
  });
});

Deno.test("staticSite() closes the file it compresses while streaming, whatever the request", async () => {
  await withTempDir({ "app.js": LARGE, "app.js.gz": zlib.gzipSync(LARGE) }, async (dir) => {
    const fs = countingFileSystem();
    // No open-file cache, which would keep the file open for the next request on purpose.
    const site = staticSite(dir, { fs, hashInlineBytes: 0, cache: { openFiles: 0 } });
    const cases: [string, Record<string, string>][] = [
      ["GET", { "accept-encoding": "br" }],
      ["HEAD", { "accept-encoding": "br" }],
      ["GET", { "accept-encoding": "gzip" }],
      ["HEAD", { "accept-encoding": "gzip" }],
    ];
    for (const [method, headers] of cases) {
      const response = await get(site, "/app.js", headers, method);
      if (method === "GET") await bytesOf(response);
    }
    const etag = (await get(site, "/app.js", { "accept-encoding": "br" }, "HEAD"))
      .headers.get("etag")!;
    const unchanged = await get(site, "/app.js", {
      "accept-encoding": "br",
      "if-none-match": etag,
    });
    assertEquals(unchanged.status, 304);
    await site.settled();
    await until("every file closed", () => fs.closed === fs.opened || undefined);
    assert(fs.opened >= 8, `${fs.opened} files opened`);
  });
});

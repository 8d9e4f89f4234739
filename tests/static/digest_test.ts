import { createHash } from "node:crypto";
import { assertEquals, assertMatch, assertNotEquals, join } from "../_deps.ts";
import { fileEtag } from "../../lib/static/conditional.ts";
import { contentTag, encodedTag, FileDigests } from "../../lib/static/digest.ts";
import { denoFileSystem } from "../../lib/static/fs.ts";
import { staticSite } from "../../lib/static/site.ts";
import { randomBytes } from "../_bytes.ts";
import { countingFileSystem, request, utf8, withTempDir } from "./_static.ts";

Deno.test("contentTag() is the quoted base64url of the first 128 bits of SHA-256", () => {
  const bytes = utf8("hello");
  const expected = createHash("sha256").update(bytes).digest().subarray(0, 16)
    .toString("base64url");
  assertEquals(contentTag(bytes), `"${expected}"`);
  assertMatch(contentTag(new Uint8Array(0)), /^"[A-Za-z0-9_-]{22}"$/);
  assertNotEquals(contentTag(utf8("hello")), contentTag(utf8("hellp")));
});

Deno.test("encodedTag() marks a tag with the coding inside the quotes", () => {
  assertEquals(encodedTag('"abc"', "br"), '"abc-br"');
  assertEquals(encodedTag('"abc"', "gzip"), '"abc-gzip"');
});

async function openAt(path: string) {
  const handle = await Deno.open(path);
  return { handle, stat: await handle.stat() };
}

Deno.test("FileDigests.tagFor() hashes a small file now and rewinds it", async () => {
  const body = randomBytes(5000);
  await withTempDir({ "a.bin": body }, async (dir) => {
    const path = join(dir, "a.bin");
    const digests = new FileDigests(denoFileSystem, { inlineBytes: 8192 });
    const { handle, stat } = await openAt(path);
    try {
      assertEquals(await digests.tagFor(path, stat, handle), contentTag(body));
      const first = new Uint8Array(4);
      await handle.read(first);
      assertEquals(first, body.subarray(0, 4));
      assertEquals(digests.known(path, stat), contentTag(body));
    } finally {
      handle.close();
    }
  });
});

Deno.test("FileDigests.tagFor() tags a large file by its stat until it is hashed, then once by content", async () => {
  const body = randomBytes(50_000);
  await withTempDir({ "big.bin": body }, async (dir) => {
    const path = join(dir, "big.bin");
    const fs = countingFileSystem();
    const digests = new FileDigests(fs, { inlineBytes: 1000 });
    const { handle, stat } = await openAt(path);
    try {
      assertEquals(await digests.tagFor(path, stat, handle), fileEtag(stat.size, stat.mtime));
      await digests.settled();
      assertEquals(fs.opened, 1);
      assertEquals(fs.closed, 1);
      assertEquals(await digests.tagFor(path, stat, handle), contentTag(body));
      assertEquals(await digests.tagFor(path, stat, handle), contentTag(body));
      await digests.settled();
      assertEquals(fs.opened, 1, "hashed once");
    } finally {
      handle.close();
    }
  });
});

Deno.test("FileDigests.known() forgets a version once the file changes", async () => {
  await withTempDir({ "a.txt": "one" }, async (dir) => {
    const path = join(dir, "a.txt");
    const digests = new FileDigests(denoFileSystem);
    const first = await openAt(path);
    await digests.tagFor(path, first.stat, first.handle);
    first.handle.close();
    await Deno.writeTextFile(join(dir, "b.txt"), "two!");
    await Deno.rename(join(dir, "b.txt"), path);
    const second = await openAt(path);
    try {
      assertEquals(digests.known(path, second.stat), undefined);
      assertEquals(
        await digests.tagFor(path, second.stat, second.handle),
        contentTag(utf8("two!")),
      );
    } finally {
      second.handle.close();
    }
  });
});

Deno.test("staticSite() tags a large file from its content once hashed in the background", async () => {
  const body = randomBytes(200_000);
  await withTempDir({ "big.bin": body }, async (dir) => {
    const site = staticSite(dir, { hashInlineBytes: 1000 });
    const first = await site.handler(request("/big.bin"));
    await first.body?.cancel();
    const stat = await Deno.stat(join(dir, "big.bin"));
    assertEquals(first.headers.get("etag"), fileEtag(stat.size, stat.mtime));
    await site.settled();
    const second = await site.handler(request("/big.bin"));
    await second.body?.cancel();
    assertEquals(second.headers.get("etag"), contentTag(body));
  });
});

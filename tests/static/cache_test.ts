import { assert, assertEquals, join } from "../_deps.ts";
import { DEFAULT_TUNING } from "../../lib/config.ts";
import {
  DEFAULT_CACHE_LIMITS,
  FileCache,
  type FileEntry,
  sameVersion,
} from "../../lib/static/cache.ts";
import { denoFileSystem, type FileStat, type FileSystem } from "../../lib/static/fs.ts";
import { fileHeaders, fileValidators } from "../../lib/static/headers.ts";
import { staticSite } from "../../lib/static/site.ts";
import { manualClock, request, statOf as stat, utf8 } from "./_static.ts";

/** What the static layer gives the cache for a file: its bytes and the fields of its 200. */
function entry(body: Uint8Array, type: string, s: FileStat): FileEntry {
  const validators = fileValidators(s);
  return { type, body, headers: fileHeaders(type, validators), validators, codings: [] };
}

async function tempRoot(files: Record<string, string | Uint8Array>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "portico-cache-" });
  for (const [name, content] of Object.entries(files)) {
    const bytes = typeof content === "string" ? utf8(content) : content;
    await Deno.writeFile(join(root, name), bytes);
  }
  return root;
}

/** GETs `path` through `handler` as a server would (with the raw path); returns status and text. */
async function get(
  handler: (request: Request, info: { rawPath: string }) => Promise<Response>,
  path: string,
): Promise<{ status: number; text: string }> {
  const response = await handler(request(path), { rawPath: path });
  return { status: response.status, text: await response.text() };
}

Deno.test("FileCache.add() evicts the least recently used files beyond cacheBytes", () => {
  const cache = new FileCache({ cacheFileBytes: 100, cacheBytes: 250 });
  const a = cache.add("/a", stat(100), entry(new Uint8Array(100), "text/plain", stat(100)));
  cache.add("/b", stat(100), entry(new Uint8Array(100), "text/plain", stat(100)));
  assertEquals(cache.get("/a", stat(100)), a); // a is now more recent than b
  cache.add("/c", stat(100), entry(new Uint8Array(100), "text/plain", stat(100)));
  assertEquals(cache.size, 2);
  assertEquals(cache.bytes, 200);
  assertEquals(cache.get("/b", stat(100)), undefined);
  assert(cache.get("/a", stat(100)) !== undefined);
  assert(cache.get("/c", stat(100)) !== undefined);
});

Deno.test("FileCache.add() keeps no file larger than cacheFileBytes", () => {
  const cache = new FileCache({ cacheFileBytes: 100, cacheBytes: 1000 });
  const big = cache.add("/big", stat(101), entry(new Uint8Array(101), "text/plain", stat(101)));
  assertEquals(big.body.length, 101);
  assertEquals(cache.size, 0);
  assertEquals(cache.bytes, 0);
  cache.route("/big", big, 0);
  assertEquals(cache.lookup("/big"), undefined);
});

Deno.test("FileCache.add() replaces an older version of the same file", () => {
  const cache = new FileCache({ cacheFileBytes: 100, cacheBytes: 1000 });
  cache.add("/a", stat(10, 1), entry(new Uint8Array(10), "text/plain", stat(10, 1)));
  const newer = cache.add("/a", stat(20, 2), entry(new Uint8Array(20), "text/plain", stat(20, 2)));
  assertEquals(cache.size, 1);
  assertEquals(cache.bytes, 20);
  assertEquals(cache.get("/a", stat(20, 2)), newer);
});

Deno.test("FileCache.add() keeps the bytes and the 200 response's fields it is given", () => {
  const cache = new FileCache(DEFAULT_CACHE_LIMITS);
  const s = stat(5);
  const file = cache.add("/srv/a.txt", s, entry(utf8("hello"), "text/plain; charset=utf-8", s));
  assertEquals(file.path, "/srv/a.txt");
  assertEquals(file.stat, s);
  assertEquals(file.type, "text/plain; charset=utf-8");
  assertEquals(file.body, utf8("hello"));
  assertEquals(file.validators, fileValidators(s));
  const expected = fileHeaders("text/plain; charset=utf-8", fileValidators(s));
  assertEquals([...file.headers], [...expected]);
  assertEquals(file.headers.get("content-length"), null, "no framing");
  assert(Object.isFrozen(file));
});

Deno.test("FileCache.get() drops a file whose size or modification time changed", () => {
  const cache = new FileCache({ cacheFileBytes: 100, cacheBytes: 1000 });
  cache.add("/a", stat(10, 1), entry(new Uint8Array(10), "text/plain", stat(10, 1)));
  assertEquals(cache.get("/a", stat(10, 2)), undefined);
  assertEquals(cache.size, 0);
  cache.add("/a", stat(10, 1), entry(new Uint8Array(10), "text/plain", stat(10, 1)));
  assertEquals(cache.get("/a", stat(11, 1)), undefined);
  assertEquals(cache.bytes, 0);
});

Deno.test("FileCache.get() drops a file whose inode or change time changed", () => {
  const cache = new FileCache({ cacheFileBytes: 100, cacheBytes: 1000 });
  const kept = stat(10, 1, { ino: 5, ctime: new Date(7) });
  const cases: [string, FileStat][] = [
    ["a new inode (replaced by rename)", { ...kept, ino: 6 }],
    ["a new change time (rewritten in place)", { ...kept, ctime: new Date(8) }],
    ["no longer a regular file", { ...kept, isFile: false, isDirectory: true }],
  ];
  for (const [what, current] of cases) {
    const file = cache.add("/a", kept, entry(new Uint8Array(10), "text/plain", kept));
    assertEquals(cache.get("/a", { ...kept }), file, `${what}: the same version is kept`);
    assertEquals(cache.get("/a", current), undefined, what);
    assertEquals(cache.size, 0, what);
  }
});

Deno.test("sameVersion() compares size, modification time, inode and change time", () => {
  const base = stat(10, 1, { ino: 5, ctime: new Date(7) });
  const cases: [Partial<FileStat>, boolean][] = [
    [{}, true],
    [{ mtime: new Date(1) }, true],
    [{ size: 11 }, false],
    [{ mtime: new Date(2) }, false],
    [{ mtime: null }, false],
    [{ ino: 6 }, false],
    [{ ino: null }, false],
    [{ ctime: new Date(8) }, false],
    [{ ctime: null }, false],
    [{ isFile: false }, false],
  ];
  for (const [change, same] of cases) {
    assertEquals(sameVersion(base, { ...base, ...change }), same, JSON.stringify(change));
  }
  const unknown = stat(10, 1, { ino: null, ctime: null });
  assert(sameVersion(unknown, { ...unknown }), "unknown inode and change time match unknown");
});

Deno.test("FileCache.lookup() trusts a path for revalidateMs after its check, then forgets it", () => {
  const clock = manualClock();
  const cache = new FileCache({ cacheFileBytes: 100, cacheBytes: 1000 }, 1000, clock.now);
  const file = cache.add("/srv/a", stat(10), entry(new Uint8Array(10), "text/plain", stat(10)));
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
  const cache = new FileCache({ cacheFileBytes: 100, cacheBytes: 100 }, 1000, clock.now);
  const a = cache.add("/srv/a", stat(100), entry(new Uint8Array(100), "text/plain", stat(100)));
  cache.route("/a", a, clock.now());
  cache.add("/srv/b", stat(100), entry(new Uint8Array(100), "text/plain", stat(100)));
  assertEquals(cache.lookup("/a"), undefined);
});

Deno.test("DEFAULT_CACHE_LIMITS are the server's tuning", () => {
  assertEquals(DEFAULT_CACHE_LIMITS, {
    cacheBytes: DEFAULT_TUNING.cacheBytes,
    cacheFileBytes: DEFAULT_TUNING.cacheFileBytes,
  });
});

Deno.test("staticSite() keeps its cache within cacheBytes and still serves every file", async () => {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 20; i++) files[`f${i}.bin`] = new Uint8Array(3000).fill(i);
  files["big.bin"] = new Uint8Array(5000).fill(99);
  const root = await tempRoot(files);
  try {
    const site = staticSite(root, { cache: { cacheBytes: 10_000, cacheFileBytes: 4096 } });
    for (const [name, bytes] of Object.entries(files)) {
      const response = await site.handler(request(`/${name}`), { rawPath: `/${name}` });
      assertEquals(new Uint8Array(await response.arrayBuffer()), bytes, name);
      assert(site.cache!.bytes <= 10_000, `${site.cache!.bytes} bytes after ${name}`);
    }
    assertEquals(site.cache!.size, 3);
    assertEquals(
      site.cache!.lookup("/big.bin"),
      undefined,
      "a file above cacheFileBytes is not kept",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("staticSite() serves a cached file's new content within a second of the change", async () => {
  const root = await tempRoot({ "note.txt": "version 1\n" });
  const clock = manualClock();
  try {
    // Last modified long ago, so the rewrite's time differs however fast it comes.
    const old = new Date("2020-01-01T00:00:00Z");
    await Deno.utime(join(root, "note.txt"), old, old);
    const site = staticSite(root, { clock: clock.now });
    const cache = site.cache!;
    // Looked up on disk, then known by its path.
    assertEquals(await get(site.handler, "/note.txt"), { status: 200, text: "version 1\n" });
    assertEquals(cache.lookup("/note.txt")?.body, utf8("version 1\n"));
    // Same size, new content: only the modification (or change) time tells.
    await Deno.writeTextFile(join(root, "note.txt"), "version 2\n");
    clock.advance(999);
    assertEquals(cache.lookup("/note.txt")?.body, utf8("version 1\n"), "trusted for a second");
    clock.advance(1);
    assertEquals(cache.lookup("/note.txt"), undefined, "then looked at again");
    assertEquals(await get(site.handler, "/note.txt"), { status: 200, text: "version 2\n" });
    assertEquals(cache.lookup("/note.txt")?.body, utf8("version 2\n"));
    // A deletion, likewise.
    await Deno.remove(join(root, "note.txt"));
    clock.advance(1000);
    assertEquals(cache.lookup("/note.txt"), undefined);
    assertEquals((await get(site.handler, "/note.txt")).status, 404);
    assertEquals(cache.lookup("/note.txt"), undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** The real file system reporting `ctime.value` as every file's change time. */
function ctimeFileSystem(ctime: { value: Date }): FileSystem {
  const withCtime = async (stat: Promise<FileStat>) => ({ ...await stat, ctime: ctime.value });
  return {
    realPath: denoFileSystem.realPath,
    stat: (path) => withCtime(denoFileSystem.stat(path)),
    open: async (path) => {
      const file = await denoFileSystem.open(path);
      return {
        read: (p) => file.read(p),
        seek: (offset, whence) => file.seek(offset, whence),
        stat: () => withCtime(file.stat()),
        close: () => file.close(),
      };
    },
  };
}

Deno.test("staticSite() notices a same-size rewrite by rename that only the inode shows", async () => {
  const root = await tempRoot({ "a.txt": "one\n" });
  const clock = manualClock();
  // Size and modification time are made equal; the change time is pinned.
  const fs = ctimeFileSystem({ value: new Date(1000) });
  try {
    const path = join(root, "a.txt");
    const before = await Deno.stat(path);
    const site = staticSite(root, { clock: clock.now, fs });
    assertEquals((await get(site.handler, "/a.txt")).text, "one\n");
    // Written aside, given the old times, and renamed over.
    await Deno.writeTextFile(join(root, "a.tmp"), "two\n");
    await Deno.utime(join(root, "a.tmp"), before.atime!, before.mtime!);
    await Deno.rename(join(root, "a.tmp"), path);
    const after = await Deno.stat(path);
    assertEquals([after.size, after.mtime], [before.size, before.mtime]);
    assert(after.ino !== before.ino, "a rename brings a new inode");
    clock.advance(1000);
    assertEquals((await get(site.handler, "/a.txt")).text, "two\n");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("staticSite() notices a rewrite in place that only the change time shows", async () => {
  const root = await tempRoot({ "a.txt": "one\n" });
  const clock = manualClock();
  // Size, modification time and inode stay; the file system reports the change time given.
  const ctime = { value: new Date(1000) };
  try {
    const path = join(root, "a.txt");
    const before = await Deno.stat(path);
    const site = staticSite(root, { clock: clock.now, fs: ctimeFileSystem(ctime) });
    assertEquals((await get(site.handler, "/a.txt")).text, "one\n");
    await Deno.writeTextFile(path, "two\n");
    await Deno.utime(path, before.atime!, before.mtime!);
    clock.advance(1000);
    assertEquals((await get(site.handler, "/a.txt")).text, "one\n", "same ctime: same version");
    ctime.value = new Date(2000);
    clock.advance(1000);
    assertEquals((await get(site.handler, "/a.txt")).text, "two\n");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("staticSite() with a cache of 0 bytes has no cache", () => {
  const site = staticSite(".", { cache: { cacheBytes: 0 } });
  assertEquals(site.cache, null);
  assertEquals(staticSite(".", { cache: false }).cache, null);
});

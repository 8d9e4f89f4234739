import { assert, assertEquals, assertRejects, join } from "../_deps.ts";
import { FileCache } from "../../lib/static/cache.ts";
import {
  denoFileSystem,
  type FileHandle,
  type FileStat,
  type FileSystem,
} from "../../lib/static/fs.ts";
import { contentTag, FileDigests } from "../../lib/static/digest.ts";
import { contentPolicy, describe } from "../../lib/static/policy.ts";
import { type FileStore, MemoryFile, openFile } from "../../lib/static/store.ts";
import { countingFileSystem, fixture, ROOT, statOf, utf8 } from "./_static.ts";

const TYPE = "text/css; charset=utf-8";
const POLICY = contentPolicy(undefined, {});

/** A store over `fs` and `cache`, with digests of its own. */
function storeOf(fs: FileSystem, cache: FileCache | null): FileStore {
  return { fs, cache, digests: new FileDigests(fs), openFiles: null };
}

/** Opens `found` as `style.css`, with the default policy. */
function open(store: FileStore, found: { path: string; stat: FileStat }) {
  return openFile(store, found, "style.css", TYPE, POLICY);
}

async function foundAt(name: string) {
  const path = join(await Deno.realPath(ROOT), name);
  return { path, stat: await Deno.stat(path) };
}

async function readAll(file: FileHandle): Promise<Uint8Array> {
  const buffer = new Uint8Array(1024);
  const n = await file.read(buffer);
  return buffer.slice(0, n ?? 0);
}

/** A file system whose one file reports `stat` when open and reads `content`. */
function oneFileSystem(stat: FileStat, content: Uint8Array): FileSystem & { closed: number } {
  const fs = {
    closed: 0,
    realPath: denoFileSystem.realPath,
    stat: () => Promise.resolve(stat),
    open: () => Promise.resolve(new MemoryFileCounting(content, stat, () => fs.closed++)),
  };
  return fs;
}

class MemoryFileCounting extends MemoryFile {
  #onClose: () => void;
  constructor(body: Uint8Array, stat: FileStat, onClose: () => void) {
    super(body, stat);
    this.#onClose = onClose;
  }
  override close(): void {
    this.#onClose();
  }
}

Deno.test("openFile() without a cache opens the file on disk, tagged by its content", async () => {
  const fs = countingFileSystem();
  const found = await foundAt("style.css");
  const opened = await open(storeOf(fs, null), found);
  assert(opened !== null);
  assertEquals(opened.cached, undefined);
  assertEquals(opened.facts.type, TYPE);
  const stat = await Deno.stat(found.path);
  const tag = contentTag(await fixture("style.css"));
  const facts = { path: found.path, name: "style.css", type: TYPE, stat, tag, codings: [] };
  const expected = describe(POLICY, facts, "identity");
  assertEquals(opened.representation.validators?.etag, tag);
  assertEquals(opened.representation.validators, expected.validators);
  assertEquals(opened.representation.headers.get("cache-control"), "public, max-age=300");
  assertEquals([...opened.representation.headers], [...expected.headers]);
  assertEquals(await readAll(opened.handle), await fixture("style.css"));
  assertEquals([fs.opened, fs.closed], [1, 0], "left open for the sender");
  opened.handle.close();
});

Deno.test("openFile() reads a small file whole into the cache and serves it from there", async () => {
  const fs = countingFileSystem();
  const cache = new FileCache({ cacheBytes: 1000, cacheFileBytes: 100 });
  const store = storeOf(fs, cache);
  const found = await foundAt("style.css");
  const first = await open(store, found);
  assert(first?.cached !== undefined);
  assertEquals([fs.opened, fs.closed], [1, 1], "read whole and closed");
  assertEquals(first.cached.body, await fixture("style.css"));
  assert(first.handle instanceof MemoryFile);
  assert(first.representation.headers === first.cached.headers, "the cache's own fields");
  assertEquals(first.representation.validators, first.cached.validators);
  const second = await open(store, found);
  assertEquals(fs.opened, 1, "a hit does not open the file");
  assert(second?.cached === first.cached);
  assertEquals(await readAll(second.handle), await fixture("style.css"));
});

Deno.test("openFile() leaves a file larger than cacheFileBytes open to be streamed", async () => {
  const fs = countingFileSystem();
  const cache = new FileCache({ cacheBytes: 1000, cacheFileBytes: 10 });
  const opened = await open(storeOf(fs, cache), await foundAt("style.css"));
  assert(opened !== null);
  assertEquals(opened.cached, undefined);
  assertEquals(cache.size, 0);
  assertEquals([fs.opened, fs.closed], [1, 0]);
  assertEquals(await readAll(opened.handle), await fixture("style.css"));
  opened.handle.close();
});

Deno.test("openFile() streams a file that shrank while it was read, from its start", async () => {
  // The open file says 10 bytes but holds 4.
  const stat = statOf(10);
  const fs = oneFileSystem(stat, utf8("abcd"));
  const cache = new FileCache({ cacheBytes: 1000, cacheFileBytes: 100 });
  const opened = await open(storeOf(fs, cache), { path: "/srv/a", stat });
  assert(opened !== null);
  assertEquals(opened.cached, undefined);
  assertEquals(cache.size, 0);
  assertEquals(opened.representation.size, 10, "the sender finds it short, as it should");
  assertEquals(await readAll(opened.handle), utf8("abcd"));
});

Deno.test("openFile() answers null for what is no longer a regular file, and closes it", async () => {
  const stat = statOf(0, 0, { isFile: false, isDirectory: true });
  const fs = oneFileSystem(stat, new Uint8Array());
  const opened = await open(storeOf(fs, null), { path: "/srv/a", stat: statOf(1) });
  assertEquals(opened, null);
  assertEquals(fs.closed, 1);
});

Deno.test("openFile() closes the file when reading it fails, and throws the error", async () => {
  const fault = new Error("EIO");
  let closed = 0;
  const fs: FileSystem = {
    ...denoFileSystem,
    open: () =>
      Promise.resolve({
        read: () => Promise.reject(fault),
        seek: () => Promise.resolve(0),
        stat: () => Promise.resolve(statOf(5)),
        close: () => void closed++,
      }),
  };
  const cache = new FileCache({ cacheBytes: 1000, cacheFileBytes: 100 });
  const error = await assertRejects(() =>
    open(storeOf(fs, cache), { path: "/srv/a", stat: statOf(5) })
  );
  assert(error === fault);
  assertEquals(closed, 1);
});

Deno.test("MemoryFile reads, seeks and reports the stat it was given", async () => {
  const stat = statOf(5);
  const file = new MemoryFile(utf8("hello"), stat);
  const buffer = new Uint8Array(2);
  assertEquals(await file.read(buffer), 2);
  assertEquals(buffer, utf8("he"));
  assertEquals(await file.seek(1, Deno.SeekMode.Current), 3);
  assertEquals(await file.read(buffer), 2);
  assertEquals(buffer, utf8("lo"));
  assertEquals(await file.read(buffer), null);
  assertEquals(await file.seek(-4, Deno.SeekMode.End), 1);
  assertEquals(await file.seek(0, Deno.SeekMode.Start), 0);
  assertEquals(await file.stat(), stat);
  file.close();
  assertEquals(await file.read(buffer), 2, "closing bytes in memory releases nothing");
});

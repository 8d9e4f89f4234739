/**
 * The open-file cache: lookups and open handles of files larger than the
 * hot cache keeps, trusted for a second (a manual clock moves time), lent
 * to one response at a time, bounded, and dropped when the file changes.
 */

import { assert, assertEquals, join } from "../_deps.ts";
import { randomBytes } from "../_bytes.ts";
import type { FileHandle, FileStat } from "../../lib/static/fs.ts";
import { OpenFiles } from "../../lib/static/open_files.ts";
import { staticSite } from "../../lib/static/site.ts";
import {
  bytesOf,
  countingFileSystem,
  manualClock,
  request,
  statOf,
  withTempDir,
} from "./_static.ts";

const LARGE = 100_000;
const SMALL_LIMIT = 64 * 1024;

/** A handle that records what was done with it. */
function fakeHandle(): FileHandle & { closed: number; rewound: number; failRead: boolean } {
  const handle = {
    closed: 0,
    rewound: 0,
    failRead: false,
    read: (_: Uint8Array) =>
      handle.failRead ? Promise.reject(new Error("EIO")) : Promise.resolve(null),
    seek: (offset: number) => Promise.resolve(offset),
    seekSync: (offset: number) => {
      handle.rewound++;
      return offset;
    },
    stat: () => Promise.resolve(statOf(LARGE)),
    close: () => {
      handle.closed++;
    },
  };
  return handle;
}

/** A found file of `size` bytes changed at `mtime`. */
function foundOf(path: string, size = LARGE, mtime = 0): { path: string; stat: FileStat } {
  return { path, stat: statOf(size, mtime) };
}

Deno.test("OpenFiles.found() trusts a lookup for a second, and only of larger files", () => {
  const clock = manualClock();
  const files = new OpenFiles(8, SMALL_LIMIT, 1000, clock.now);
  files.remember("/a", foundOf("/real/a"));
  files.remember("/small", foundOf("/real/small", SMALL_LIMIT));
  files.remember("/dir", {
    path: "/real/dir",
    stat: statOf(LARGE, 0, { isFile: false, isDirectory: true }),
  });
  assertEquals(files.found("/a")?.path, "/real/a");
  assertEquals(files.found("/small"), undefined);
  assertEquals(files.found("/dir"), undefined);
  clock.advance(999);
  assertEquals(files.found("/a")?.path, "/real/a");
  clock.advance(1);
  assertEquals(files.found("/a"), undefined);
  assertEquals(files.previous("/a")?.path, "/real/a");
});

Deno.test("OpenFiles keeps at most its limit of lookups, the oldest forgotten", () => {
  const files = new OpenFiles(2, SMALL_LIMIT, 1000, manualClock().now);
  for (const name of ["a", "b", "c"]) files.remember(`/${name}`, foundOf(`/real/${name}`));
  assertEquals(files.found("/a"), undefined);
  assert(files.found("/b") !== undefined && files.found("/c") !== undefined);
});

Deno.test("OpenFiles.take() lends a returned handle of the same version, rewound", () => {
  const files = new OpenFiles(8, SMALL_LIMIT);
  const found = foundOf("/real/a");
  const handle = fakeHandle();
  assertEquals(files.take(found), null);
  files.lend(found, handle).close();
  assertEquals([files.idle, handle.closed], [1, 0]);
  assertEquals(files.take(found), handle);
  assertEquals([files.idle, handle.rewound], [0, 1]);
  assertEquals(files.take(found), null, "one response at a time");
});

Deno.test("OpenFiles.take() closes the handles of another version of the file", () => {
  const files = new OpenFiles(8, SMALL_LIMIT);
  const handle = fakeHandle();
  files.lend(foundOf("/real/a", LARGE, 0), handle).close();
  assertEquals(files.take(foundOf("/real/a", LARGE, 5000)), null);
  assertEquals([handle.closed, files.idle], [1, 0]);
});

Deno.test("OpenFiles.remember() closes the handles of a file found changed or gone", () => {
  const files = new OpenFiles(8, SMALL_LIMIT);
  const before = foundOf("/real/a");
  const kept = fakeHandle();
  files.lend(before, kept).close();
  files.remember("/a", before, before);
  assertEquals(kept.closed, 0, "the same version keeps its handles");
  files.remember("/a", null, before);
  assertEquals([kept.closed, files.idle], [1, 0]);
});

Deno.test("OpenFiles keeps at most its limit of idle handles, the least recently used closed", () => {
  const files = new OpenFiles(2, SMALL_LIMIT);
  const handles = [fakeHandle(), fakeHandle(), fakeHandle()];
  handles.forEach((handle, i) => files.lend(foundOf(`/real/${i}`), handle).close());
  assertEquals(files.idle, 2);
  assertEquals(handles.map((handle) => handle.closed), [1, 0, 0]);
  files.clear();
  assertEquals(handles.map((handle) => handle.closed), [1, 1, 1]);
});

Deno.test("OpenFiles closes, not keeps, a handle whose read failed or ended early", async () => {
  const files = new OpenFiles(8, SMALL_LIMIT);
  const ended = fakeHandle();
  const lentEnded = files.lend(foundOf("/real/a"), ended);
  assertEquals(await lentEnded.read(new Uint8Array(4)), null);
  lentEnded.close();
  const broken = fakeHandle();
  broken.failRead = true;
  const lentBroken = files.lend(foundOf("/real/b"), broken);
  await lentBroken.read(new Uint8Array(4)).catch(() => {});
  lentBroken.close();
  assertEquals([ended.closed, broken.closed, files.idle], [1, 1, 0]);
});

Deno.test("staticSite() reuses a larger file's lookup and handle, and sees it change after a second", async () => {
  const first = randomBytes(LARGE, 1);
  const second = randomBytes(LARGE + 5, 2);
  await withTempDir({ "big.bin": first }, async (dir) => {
    const clock = manualClock();
    const fs = countingFileSystem();
    const site = staticSite(dir, { fs, clock: clock.now });
    try {
      assertEquals(await bytesOf(await site.handler(request("/big.bin"))), first);
      assertEquals(await bytesOf(await site.handler(request("/big.bin"))), first);
      assertEquals(fs.opened, 1, "the second request reused the open file");

      // Replaced on disk: served as it was until its lookup is a second old.
      await Deno.writeFile(join(dir, "big.bin.new"), second);
      await Deno.rename(join(dir, "big.bin.new"), join(dir, "big.bin"));
      assertEquals(await bytesOf(await site.handler(request("/big.bin"))), first);
      clock.advance(1000);
      assertEquals(await bytesOf(await site.handler(request("/big.bin"))), second);
      assertEquals(fs.closed, 1, "the old version's handle was closed");

      // Deleted: a 404 once its lookup is a second old.
      await Deno.remove(join(dir, "big.bin"));
      clock.advance(1000);
      const gone = await site.handler(request("/big.bin"));
      assertEquals(gone.status, 404);
      await gone.body?.cancel();
      assertEquals(fs.closed, fs.opened, "no handle of a deleted file stays open");
    } finally {
      await site.settled();
    }
  });
});

Deno.test("staticSite() with openFiles 0 opens a larger file for every request", async () => {
  await withTempDir({ "big.bin": randomBytes(LARGE) }, async (dir) => {
    const fs = countingFileSystem();
    const site = staticSite(dir, { fs, cache: { openFiles: 0 } });
    for (let i = 0; i < 3; i++) await bytesOf(await site.handler(request("/big.bin")));
    assertEquals([fs.opened, fs.closed], [3, 3]);
    await site.settled();
  });
});

/**
 * What a changed path means (a table), and how the batcher gathers paths
 * into changes. The batcher runs on a manual clock, so every
 * timing check is exact and no test sleeps.
 */

import { assert, assertEquals, assertThrows } from "../_deps.ts";
import { ManualClock } from "../_clock.ts";
import {
  ChangeBatcher,
  type ChangeKind,
  classifyChange,
  type LiveChange,
} from "../../lib/dev/changes.ts";

const CLASSIFIED: ReadonlyArray<readonly [string, ChangeKind | null]> = [
  ["/style.css", "css"],
  ["/css/site.css", "css"],
  ["/css/SITE.CSS", "css"],
  ["/a/b/c/deep.Css", "css"],
  ["/img/logo.png", "image"],
  ["/img/photo.JPG", "image"],
  ["/photo.jpeg", "image"],
  ["/anim.gif", "image"],
  ["/pic.webp", "image"],
  ["/pic.AVIF", "image"],
  ["/icons/arrow.svg", "image"],
  ["/favicon.ico", "image"],
  ["/old.bmp", "image"],
  ["/index.html", "reload"],
  ["/js/app.js", "reload"],
  ["/README", "reload"],
  ["/data.json", "reload"],
  ["/css.html", "reload"],
  ["/style.css.map", "reload"],
  ["/name with spaces.html", "reload"],
  ["/caf\u00e9/menu.html", "reload"],
  ["/img", "reload"],
  // Dot segments anywhere.
  ["/.env", null],
  ["/.git/index", null],
  ["/.git/objects/ab/cdef", null],
  ["/site/.cache/style.css", null],
  ["/img/.DS_Store", null],
  ["/.well-known/security.txt", null],
  // Vim.
  ["/index.html.swp", null],
  ["/.index.html.swp", null],
  ["/css/site.css.swo", null],
  ["/css/site.css.SWX", null],
  ["/4913", null],
  ["/css/4913", null],
  ["/index.html~", null],
  // Emacs.
  ["/#index.html#", null],
  ["/css/#site.css#", null],
  ["/.#index.html", null],
  // JetBrains safe write.
  ["/index.html___jb_tmp___", null],
  ["/css/site.css___jb_old___", null],
  // Downloads and temporary files.
  ["/img/photo.png.crdownload", null],
  ["/img/photo.png.part", null],
  ["/report.TMP", null],
  ["/index.html.bak", null],
  // Near misses that are real files.
  ["/#hash.html", "reload"],
  ["/49130", "reload"],
  ["/swp.css", "css"],
  ["/partial.html", "reload"],
];

Deno.test("classifyChange() classifies stylesheets, images, other files and ignored files", () => {
  assert(CLASSIFIED.length >= 25);
  for (const [path, kind] of CLASSIFIED) {
    assertEquals(classifyChange(path), kind, path);
  }
});

/** A batcher on a manual clock with the default timing, and what it flushed. */
function batched(
  options: { maxPaths?: number } = {},
): { clock: ManualClock; batcher: ChangeBatcher; flushed: LiveChange[] } {
  const clock = new ManualClock();
  const flushed: LiveChange[] = [];
  const batcher = new ChangeBatcher((change) => flushed.push(change), { clock, ...options });
  return { clock, batcher, flushed };
}

Deno.test("ChangeBatcher.add() flushes quietMs after the last path", () => {
  const { clock, batcher, flushed } = batched();
  batcher.add("/a.css");
  clock.advance(50);
  batcher.add("/b.css");
  clock.advance(74);
  assertEquals(flushed, []);
  clock.advance(1);
  assertEquals(flushed, [{ reload: false, css: ["/a.css", "/b.css"], images: [] }]);
  assertEquals(clock.pending, 0);
});

Deno.test("ChangeBatcher.add() flushes maxWaitMs after the first path of a steady stream", () => {
  const { clock, batcher, flushed } = batched();
  // A path every 50 ms never leaves 75 ms of quiet.
  for (let t = 0; t < 300; t += 50) {
    batcher.add(`/s${t}.css`);
    clock.advance(50);
  }
  assertEquals(flushed.length, 1);
  assertEquals(flushed[0].css.length, 6);
  // The stream goes on: the next batch starts with the next path and has its own maximum.
  for (let t = 300; t < 600; t += 50) {
    batcher.add(`/s${t}.css`);
    clock.advance(50);
  }
  assertEquals(flushed.length, 2);
  assertEquals(flushed[1].css.length, 6);
});

Deno.test("ChangeBatcher.add() sends each path once, sorted", () => {
  const { clock, batcher, flushed } = batched();
  for (const path of ["/b.css", "/a.css", "/b.css", "/i/z.png", "/i/a.png", "/i/z.png"]) {
    batcher.add(path);
  }
  clock.advance(75);
  assertEquals(flushed, [{
    reload: false,
    css: ["/a.css", "/b.css"],
    images: ["/i/a.png", "/i/z.png"],
  }]);
});

Deno.test("ChangeBatcher.add() reloads when any path is neither a stylesheet nor an image", () => {
  const { clock, batcher, flushed } = batched();
  batcher.add("/site.css");
  batcher.add("/logo.png");
  batcher.add("/index.html");
  clock.advance(75);
  assertEquals(flushed, [{ reload: true, css: ["/site.css"], images: ["/logo.png"] }]);
});

Deno.test("ChangeBatcher.add() ignores ignored paths without starting a batch", () => {
  const { clock, batcher, flushed } = batched();
  batcher.add("/.git/index");
  batcher.add("/index.html.swp");
  assertEquals(clock.pending, 0);
  clock.advance(1000);
  assertEquals(flushed, []);
});

Deno.test("ChangeBatcher.add() turns more than maxPaths paths into one reload, keeping none", () => {
  const { clock, batcher, flushed } = batched();
  for (let i = 0; i < 20_000; i++) {
    batcher.add(`/dir${i % 200}/file${i}.css`);
    assert(batcher.pending <= 256, `pending ${batcher.pending} after ${i + 1} paths`);
  }
  assertEquals(batcher.pending, 0);
  clock.advance(300);
  assertEquals(flushed, [{ reload: true, css: [], images: [] }]);
  // The next batch is an ordinary one again.
  batcher.add("/site.css");
  clock.advance(75);
  assertEquals(flushed[1], { reload: false, css: ["/site.css"], images: [] });
});

Deno.test("ChangeBatcher.add() keeps exactly maxPaths distinct paths", () => {
  const { clock, batcher, flushed } = batched({ maxPaths: 3 });
  for (const path of ["/a.css", "/b.css", "/c.css", "/a.css"]) batcher.add(path);
  assertEquals(batcher.pending, 3);
  clock.advance(75);
  assertEquals(flushed, [{ reload: false, css: ["/a.css", "/b.css", "/c.css"], images: [] }]);
  for (const path of ["/a.css", "/b.css", "/c.css", "/d.css"]) batcher.add(path);
  clock.advance(75);
  assertEquals(flushed[1], { reload: true, css: [], images: [] });
});

Deno.test("ChangeBatcher.close() cancels the clock and drops the batch", () => {
  const { clock, batcher, flushed } = batched();
  batcher.add("/site.css");
  assertEquals(clock.pending, 2);
  batcher.close();
  assertEquals(clock.pending, 0);
  assertEquals(batcher.pending, 0);
  batcher.add("/later.css");
  clock.advance(1000);
  assertEquals(flushed, []);
  assertEquals(clock.pending, 0);
});

Deno.test("ChangeBatcher() rejects impossible options", () => {
  const flush = () => {};
  assertThrows(() => new ChangeBatcher(flush, { quietMs: -1 }), RangeError, "quietMs");
  assertThrows(() => new ChangeBatcher(flush, { maxWaitMs: Infinity }), RangeError, "maxWaitMs");
  assertThrows(() => new ChangeBatcher(flush, { maxPaths: 0 }), RangeError, "maxPaths");
});

import { assert, assertEquals, assertStringIncludes } from "../_deps.ts";
import { FileCache } from "../../lib/static/cache.ts";
import { Encoder } from "../../lib/static/encoded.ts";
import { denoFileSystem, type FileSystem } from "../../lib/static/fs.ts";
import { type LookupContext, lookupContext, lookupFile } from "../../lib/static/lookup.ts";
import type { StaticMiss } from "../../lib/static/options.ts";
import {
  type FaultyCall,
  faultyFileSystem,
  fixture,
  manualClock,
  recordingLogger,
  request,
  ROOT,
} from "./_static.ts";

function context(
  fs: FileSystem = denoFileSystem,
  cache: FileCache | null = null,
  logger = recordingLogger(),
): LookupContext & { logger: ReturnType<typeof recordingLogger> } {
  // The test's own cache, in the store and in the encoder alike.
  const base = lookupContext(ROOT, { fs, logger, cache: false });
  const encoder = new Encoder({ root: base.root, policy: base.policy, cache, open: fs.open });
  return { ...base, store: { ...base.store, cache }, encoder, logger };
}

function systemError(code: string): Error {
  return Object.assign(new Error(`${code}: system error`), { code });
}

Deno.test("lookupFile() reports misses as values: 405, 400 with a message, 404", async () => {
  const cases: [string, RequestInit, StaticMiss][] = [
    ["/style.css", { method: "POST", body: "x" }, { status: 405 }],
    ["/style.css", { method: "OPTIONS" }, { status: 405 }],
    ["/%zz", {}, { status: 400, message: "Invalid percent-encoding in path" }],
    ["/.env", {}, { status: 404 }],
    ["/missing", {}, { status: 404 }],
    ["/noindex/", {}, { status: 404 }],
  ];
  for (const [path, init, miss] of cases) {
    assertEquals(await lookupFile(context(), request(path, init)), miss, path);
  }
});

Deno.test("lookupFile() judges the raw path when it is given", async () => {
  // The URL parser has already removed the dot segment; the raw path still climbs out.
  const result = await lookupFile(context(), request("/../style.css"), {
    rawPath: "/../style.css",
  });
  assertEquals(result, { status: 404 });
  const served = await lookupFile(context(), request("/x"), { rawPath: "/style.css" });
  assert(served instanceof Response);
  assertEquals(new Uint8Array(await served.arrayBuffer()), await fixture("style.css"));
});

Deno.test("lookupFile() redirects a directory with the query kept", async () => {
  const result = await lookupFile(context(), request("/docs?a=1&b"));
  assert(result instanceof Response);
  assertEquals(result.status, 301);
  assertEquals(result.headers.get("location"), "/docs/?a=1&b");
});

Deno.test("lookupFile() leaves HEAD to the layer's exit: it answers what GET gets", async () => {
  const result = await lookupFile(context(), request("/style.css", { method: "HEAD" }));
  assert(result instanceof Response);
  assertEquals(result.status, 200);
  assertEquals(new Uint8Array(await result.arrayBuffer()), await fixture("style.css"));
});

Deno.test("lookupFile() remembers a cached file under the raw path, as of before the disk check", async () => {
  const clock = manualClock();
  // Looking on disk takes 300 ms by this clock.
  const slow: FileSystem = {
    ...denoFileSystem,
    stat: (path) => {
      clock.advance(300);
      return denoFileSystem.stat(path);
    },
  };
  const cache = new FileCache({ cacheBytes: 1000, cacheFileBytes: 100 }, 1000, clock.now);
  const ctx = context(slow, cache);
  const response = await lookupFile(ctx, request("/style.css"));
  await (response as Response).body?.cancel();
  assertEquals(cache.size, 1);
  assertEquals(cache.lookup("/style.css"), undefined, "no raw path, no route");
  const routed = await lookupFile(ctx, request("/style.css"), { rawPath: "/style.css" });
  await (routed as Response).body?.cancel();
  const file = cache.lookup("/style.css");
  assertEquals(file?.body, await fixture("style.css"));
  clock.advance(699);
  assertEquals(cache.lookup("/style.css"), file, "trusted until a second after the check began");
  clock.advance(1);
  assertEquals(cache.lookup("/style.css"), undefined);
});

Deno.test("lookupFile() maps each file-system failure once, wherever it happens", async () => {
  const failures: [string, unknown, number | "miss", number][] = [
    ["not found", new Deno.errors.NotFound("gone"), "miss", 0],
    ["not a directory", new Deno.errors.NotADirectory("ENOTDIR"), "miss", 0],
    ["name too long", systemError("ENAMETOOLONG"), "miss", 0],
    ["permission denied", new Deno.errors.PermissionDenied("EACCES"), 403, 0],
    ["EACCES", systemError("EACCES"), 403, 0],
    ["too many open files", systemError("EMFILE"), 503, 0],
    ["too many files in the system", systemError("ENFILE"), 503, 0],
    ["input/output error", systemError("EIO"), 500, 1],
  ];
  const calls: [FaultyCall, string][] = [
    ["realPath", "style.css"],
    ["realPath", "fixtures/root"], // the root's own real path
    ["stat", "style.css"],
    ["open", "style.css"],
    ["read", "style.css"], // read whole for the cache
  ];
  for (const [call, suffix] of calls) {
    for (const [what, error, expected, logged] of failures) {
      const label = `${call} ${suffix}: ${what}`;
      const fs = faultyFileSystem(call, suffix, error);
      const cache = new FileCache({ cacheBytes: 1000, cacheFileBytes: 100 });
      const ctx = context(fs, cache);
      const result = await lookupFile(ctx, request("/style.css"));
      if (expected === "miss") {
        assertEquals(result, { status: 404 }, label);
      } else {
        assert(result instanceof Response, label);
        assertEquals(result.status, expected, label);
        assertEquals(result.headers.get("retry-after"), expected === 503 ? "1" : null, label);
        const body = await result.text();
        assertStringIncludes(body, `<h1>${expected} `, label);
        assert(!body.includes("system error") && !body.includes("style.css"), label);
      }
      assertEquals(ctx.logger.errors.length, logged, label);
      if (logged) assert(ctx.logger.errors[0][1] === error, `${label}: the error is logged`);
    }
  }
});

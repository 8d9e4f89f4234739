import { assert, assertEquals, fromFileUrl, join } from "../_deps.ts";
import * as staticLayer from "../../lib/static/mod.ts";

const LIB_STATIC = fromFileUrl(new URL("../../lib/static/", import.meta.url));

/** What modules under lib/static/ may import from outside it. */
const ALLOWED_OUTSIDE: ReadonlySet<string> = new Set([
  "../config.ts",
  "../deps.ts",
  "../encoding/compress.ts",
  "../encoding/compressible.ts",
  "../encoding/negotiate.ts",
  "../errors.ts",
  "../http/body_source.ts",
  "../http/error_page.ts",
  "../http/status.ts",
  "../log.ts",
  "node:crypto",
]);

Deno.test("mod.ts exports the static layer's public API", () => {
  const names = [
    "DEFAULT_CACHE_LIMITS",
    "FileCache",
    "FileSource",
    "MemoryFile",
    "READ_CHUNK_BYTES",
    "STATIC_ALLOW",
    "denoFileSystem",
    "evaluatePreconditions",
    "fileHeaders",
    "notModifiedHeaders",
    "sendFile",
    "serveStatic",
    "staticLookup",
    "staticSite",
  ];
  assertEquals(Object.keys(staticLayer).sort(), names.sort());
});

Deno.test("lib/static/ imports nothing of the wire: no connection, parser, request or response writer", async () => {
  const pattern = /^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms;
  let modules = 0;
  for await (const entry of Deno.readDir(LIB_STATIC)) {
    if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
    modules++;
    const source = await Deno.readTextFile(join(LIB_STATIC, entry.name));
    for (const [, specifier] of source.matchAll(pattern)) {
      if (specifier.startsWith("./")) continue;
      assert(ALLOWED_OUTSIDE.has(specifier), `${entry.name} imports ${specifier}`);
    }
  }
  assert(modules >= 10, `${modules} modules read`);
});

import { assert, assertEquals, assertThrows } from "../_deps.ts";
import { parseCli } from "../../lib/cli.ts";
import { UserError } from "../../lib/errors.ts";
import { OPTION_ROWS } from "../../lib/options.ts";
import {
  type ConfigFile,
  FILE_ROWS,
  jsonPath,
  readConfigText,
} from "../../lib/settings/config_file.ts";

const noEnv = { get: (_: string): string | undefined => undefined };

/** The file's values read from a JSON text of `data`. */
function read(data: Record<string, unknown>): ConfigFile {
  return readConfigText(JSON.stringify(data), "portico.json");
}

/** The message `readConfigText()` refuses `text` with. */
function refusal(text: string, file = "portico.json"): string {
  return assertThrows(() => readConfigText(text, file), UserError).message;
}

Deno.test("readConfigText() accepts every kind of key, as the flag's text", () => {
  const cases: [string, unknown, string, string | boolean][] = [
    ["spa", true, "spa", true],
    ["quiet", false, "quiet", false],
    ["maxBodyBytes", 1048576, "max-body", "1048576"],
    ["maxBodyBytes", "10M", "max-body", "10M"],
    ["idleTimeoutMs", 2.5, "idle-timeout", "2.5"],
    ["idleTimeoutMs", "500ms", "idle-timeout", "500ms"],
    ["maxHeaderFields", 20, "max-fields", "20"],
    ["workers", 4, "workers", "4"],
    ["workers", "auto", "workers", "auto"],
    ["port", 0, "port", "0"],
    ["hostname", "::1", "host", "::1"],
    ["root", "public", "root", "public"],
    ["app", "app.ts", "app", "app.ts"],
    ["cacheControlHtml", "off", "cache-control-html", "off"],
    ["cacheControlOther", "public, max-age=60", "cache-control-other", "public, max-age=60"],
    ["trailingSlash", "never", "trailing-slash", "never"],
    ["compress", "br,gzip", "compress", "br,gzip"],
    ["compress", ["zstd", "gzip"], "compress", "zstd,gzip"],
    ["compress", [], "compress", "off"],
  ];
  for (const [key, value, flag, text] of cases) {
    const label = `${key}: ${JSON.stringify(value)}`;
    assertEquals(read({ [key]: value }).flags, { [flag]: text }, label);
  }
});

Deno.test("readConfigText() knows a key for every option but the commands and --config", () => {
  const keys = FILE_ROWS.map((row) => row.key);
  const expected = OPTION_ROWS
    .filter((row) => row.kind !== "command" && row.key !== "config")
    .map((row) => row.key);
  assertEquals(keys, expected);
  assertEquals(
    refusal('{ "config": "x.json" }'),
    "portico.json: config: unknown key; see portico.schema.json",
  );
});

Deno.test("readConfigText() gives values parseCli() reads as their flags would be", () => {
  const file = read({
    maxBodyBytes: "1M",
    headerTimeoutMs: 2,
    compress: ["gzip"],
    spa: true,
    trailingSlash: "always",
    workers: "auto",
  });
  const command = parseCli([], noEnv, 6, file);
  assert(command.kind === "serve");
  const { limits, content, site, workers } = command.options;
  assertEquals(limits.maxBodyBytes, 1024 * 1024);
  assertEquals(limits.headerTimeoutMs, 2000);
  assertEquals(content.compress, ["gzip"]);
  assertEquals([site.spa, site.trailingSlash, workers], [true, "always", 6]);
});

Deno.test("readConfigText() accepts comments, trailing commas and a byte-order mark", () => {
  const text = `\uFEFF{
    // The public port.
    "port": 8080, /* and the root */ "root": "public",
    "errorPages": { "404": "404.html", },
  }`;
  const file = readConfigText(text, "portico.jsonc");
  assertEquals(file.file, "portico.jsonc");
  assertEquals(file.flags, { port: "8080", root: "public" });
  assertEquals(file.errorPages, { "404": "404.html" });
});

Deno.test("readConfigText() passes rules and cors on, ignores $schema, freezes the rest", () => {
  const rules = [{ path: "/old", redirect: "/new" }];
  const cors = { origins: ["https://example.com"] };
  const file = read({ $schema: "./portico.schema.json", rules, cors });
  assertEquals([file.rules, file.cors, file.flags, file.errorPages], [rules, cors, {}, {}]);
  const empty = read({});
  assertEquals([empty.rules, empty.cors], [undefined, undefined]);
  assert(Object.isFrozen(file) && Object.isFrozen(file.flags) && Object.isFrozen(file.errorPages));
});

Deno.test("readConfigText() reads errorPages with and without a leading slash", () => {
  const pages = { "404": "404.html", "500": "/errors/500.html", "503": "errors/busy page.html" };
  assertEquals(read({ errorPages: pages }).errorPages, pages);
});

Deno.test("readConfigText() refuses each mistake with one exact line", () => {
  const cases: [string, string][] = [
    [
      '{ "maxBodyBytes": "ten" }',
      'maxBodyBytes: expected a size such as 1048576, 512K, 10M or 1G, not "ten"',
    ],
    [
      '{ "maxBodyBytes": -1 }',
      "maxBodyBytes: expected a size such as 1048576, 512K, 10M or 1G, not -1",
    ],
    [
      '{ "maxBodyBytes": 1.5 }',
      "maxBodyBytes: expected a size such as 1048576, 512K, 10M or 1G, not 1.5",
    ],
    [
      '{ "maxBodyBytes": true }',
      "maxBodyBytes: expected a size such as 1048576, 512K, 10M or 1G, not true",
    ],
    ['{ "fileBufferBytes": 1024 }', "fileBufferBytes: expected a size from 4K to 64M, not 1024"],
    [
      '{ "idleTimeoutMs": 0 }',
      "idleTimeoutMs: expected a time more than 0 such as 10, 2.5s, 500ms or 1m, not 0",
    ],
    [
      '{ "shutdownTimeoutMs": "soon" }',
      'shutdownTimeoutMs: expected a time 0 or more such as 10, 2.5s, 500ms or 1m, not "soon"',
    ],
    ['{ "maxHeaderFields": "20" }', 'maxHeaderFields: expected a whole number 1 or more, not "20"'],
    ['{ "maxHeaderFields": 0 }', "maxHeaderFields: expected a whole number 1 or more, not 0"],
    [
      '{ "workers": "many" }',
      'workers: expected a whole number from 1 to 256 or "auto", not "many"',
    ],
    [
      '{ "listenBacklog": 70000 }',
      "listenBacklog: expected a whole number from 1 to 65535, not 70000",
    ],
    ['{ "port": "8080" }', 'port: expected a number from 0 to 65535, not "8080"'],
    ['{ "port": 70000 }', "port: expected a number from 0 to 65535, not 70000"],
    ['{ "hostname": "a/b" }', 'hostname: expected an IP address or host name, not "a/b"'],
    ['{ "root": "" }', 'root: expected a directory, not ""'],
    ['{ "app": 3 }', "app: expected a module path, not 3"],
    ['{ "spa": "yes" }', 'spa: expected true or false, not "yes"'],
    ['{ "spa": 1 }', "spa: expected true or false, not 1"],
    [
      '{ "trailingSlash": "sometimes" }',
      'trailingSlash: expected one of auto, always, never, as-is, not "sometimes"',
    ],
    [
      '{ "compress": "lzma" }',
      'compress: expected codings from br, zstd, gzip (or "off"), not "lzma"',
    ],
    [
      '{ "compress": ["br", 1] }',
      'compress: expected codings from br, zstd, gzip (or "off"), not ["br",1]',
    ],
    [
      '{ "compress": ["br,gzip"] }',
      'compress: expected codings from br, zstd, gzip (or "off"), not ["br,gzip"]',
    ],
    [
      '{ "compress": ["gzip", "gzip"] }',
      'compress: expected each coding at most once, not ["gzip","gzip"]',
    ],
    [
      '{ "cacheControlHtml": "a\\u0007b" }',
      'cacheControlHtml: expected a header value such as "no-cache" (or "off"), not "a\\u0007b"',
    ],
    ['{ "colour": "blue" }', "colour: unknown key; see portico.schema.json"],
    ['{ "max body": 1 }', '["max body"]: unknown key; see portico.schema.json'],
    [
      '{ "errorPages": [] }',
      'errorPages: expected an object such as { "404": "404.html" }, not []',
    ],
    [
      '{ "errorPages": { "700": "x.html" } }',
      "errorPages.700: expected an error status from 400 to 599 as the key",
    ],
    [
      '{ "errorPages": { "304": "x.html" } }',
      "errorPages.304: expected an error status from 400 to 599 as the key",
    ],
    [
      '{ "errorPages": { "not found": "x.html" } }',
      'errorPages["not found"]: expected an error status from 400 to 599 as the key',
    ],
    [
      '{ "errorPages": { "404": "../404.html" } }',
      'errorPages.404: expected a path relative to the root such as "404.html", not "../404.html"',
    ],
    [
      '{ "errorPages": { "404": "a/../../b" } }',
      'errorPages.404: expected a path relative to the root such as "404.html", not "a/../../b"',
    ],
    [
      '{ "errorPages": { "404": "a\\\\b.html" } }',
      'errorPages.404: expected a path relative to the root such as "404.html", not "a\\\\b.html"',
    ],
    [
      '{ "errorPages": { "404": "/" } }',
      'errorPages.404: expected a path relative to the root such as "404.html", not "/"',
    ],
    [
      '{ "errorPages": { "404": "" } }',
      'errorPages.404: expected a path relative to the root such as "404.html", not ""',
    ],
    [
      '{ "errorPages": { "500": 500 } }',
      'errorPages.500: expected a path relative to the root such as "404.html", not 500',
    ],
    ["[1, 2]", "expected an object at the top level, not an array"],
    ["null", "expected an object at the top level, not null"],
    ['"port"', "expected an object at the top level, not a string"],
    [
      '{ "port": 80 "root": "www" }',
      'not valid JSON with comments: unexpected token ""root"" at line 1, column 14',
    ],
    [
      '{\n  "port": 80,\n  "root": www\n}',
      'not valid JSON with comments: unexpected token "www" at line 3, column 11',
    ],
    ["", "not valid JSON with comments: unexpected end of JSONC input"],
    ['{ "port": 80 /* open', "not valid JSON with comments: unexpected end of JSONC input"],
  ];
  for (const [text, message] of cases) {
    assertEquals(refusal(text), `portico.json: ${message}`, text);
  }
});

Deno.test("readConfigText() names the file as it is given, and shortens long values", () => {
  assertEquals(
    refusal('{ "spa": "yes" }', "conf/portico.prod.json"),
    'conf/portico.prod.json: spa: expected true or false, not "yes"',
  );
  const long = JSON.stringify({ maxBodyBytes: "x".repeat(100) });
  assertEquals(
    refusal(long),
    `portico.json: maxBodyBytes: expected a size such as 1048576, 512K, 10M or 1G, not "${
      "x".repeat(36)
    }...`,
  );
});

Deno.test("readConfigText() keeps __proto__ a plain key, refused as unknown", () => {
  assertEquals(
    refusal('{ "__proto__": { "spa": true } }'),
    "portico.json: __proto__: unknown key; see portico.schema.json",
  );
});

Deno.test("readConfigText() gives the same values for the same text", () => {
  const text =
    '{ "maxBodyBytes": "2M", "rules": [{ "path": "/a" }], "errorPages": { "404": "x.html" } }';
  assertEquals(readConfigText(text, "portico.json"), readConfigText(text, "portico.json"));
});

Deno.test("jsonPath() writes names bare, numbers after a dot, and other keys quoted", () => {
  assertEquals(jsonPath(["maxBodyBytes"]), "maxBodyBytes");
  assertEquals(jsonPath(["errorPages", "404"]), "errorPages.404");
  assertEquals(jsonPath(["$schema"]), "$schema");
  assertEquals(jsonPath(["errorPages", "a.b"]), 'errorPages["a.b"]');
  assertEquals(jsonPath(["a b", "c"]), '["a b"].c');
});

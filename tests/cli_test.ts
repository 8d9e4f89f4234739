/**
 * The command line as a table: flag parsing, sizes and times. The program
 * itself started from the command line is tested in `main/cli_test.ts`.
 */

import { optionDefaults } from "../lib/options.ts";
import { assert, assertEquals, assertThrows } from "./_deps.ts";
import {
  type CliOptions,
  formatDuration,
  formatSize,
  parseCli,
  parseDuration,
  parseSize,
} from "../lib/cli.ts";
import { DEFAULT_CONTENT, DEFAULT_LIMITS, DEFAULT_TUNING } from "../lib/config.ts";
import { UserError } from "../lib/errors.ts";

const noEnv = { get: (_: string): string | undefined => undefined };
const env = (vars: Record<string, string>) => ({ get: (name: string) => vars[name] });

Deno.test("parseCli() applies the documented defaults", () => {
  assertEquals(parseCli([], noEnv), {
    kind: "serve",
    options: {
      root: "www",
      rootGiven: false,
      port: 8000,
      hostname: "0.0.0.0",
      quiet: false,
      dev: false,
      devApp: false,
      app: null,
      limits: DEFAULT_LIMITS,
      tuning: DEFAULT_TUNING,
      content: DEFAULT_CONTENT,
      site: {
        spa: false,
        spaPage: "index.html",
        cleanUrls: false,
        trailingSlash: "auto",
        list: false,
      },
      workers: 1,
      config: null,
      health: null,
      admin: null,
      proxyProtocol: null,
      trustProxy: null,
      https: optionDefaults("https"),
      logFormat: "text",
      requestIdHeader: false,
    },
  });
});

const ACCEPTED: Array<
  { args: string[]; vars?: Record<string, string>; expect: Record<string, unknown> }
> = [
  { args: ["--root", "site"], expect: { root: "site", rootGiven: true } },
  { args: ["--root=site"], expect: { root: "site", rootGiven: true } },
  { args: ["--port", "0"], expect: { port: 0 } },
  { args: ["--port=65535"], expect: { port: 65535 } },
  { args: [], vars: { PORT: "3000" }, expect: { port: 3000 } },
  { args: ["--port", "4000"], vars: { PORT: "3000" }, expect: { port: 4000 } },
  { args: ["--host", "::"], expect: { hostname: "::" } },
  { args: ["--host", "[::1]"], expect: { hostname: "::1" } },
  { args: ["--host", "127.0.0.1"], expect: { hostname: "127.0.0.1" } },
  { args: ["--quiet"], expect: { quiet: true } },
  { args: ["--dev"], expect: { dev: true } },
  { args: ["--dev", "--dev-app"], expect: { dev: true, devApp: true } },
  { args: ["--", "--port", "1234"], expect: { port: 1234 } },
  { args: ["--app", "app.ts"], expect: { app: "app.ts", rootGiven: false } },
  { args: ["--app=./a/app.ts", "--root", "site"], expect: { app: "./a/app.ts", root: "site" } },
  {
    args: ["--max-body", "1M"],
    expect: { limits: { ...DEFAULT_LIMITS, maxBodyBytes: 1024 * 1024 } },
  },
  { args: ["--max-body=0"], expect: { limits: { ...DEFAULT_LIMITS, maxBodyBytes: 0 } } },
  {
    args: ["--header-timeout", "2.5", "--idle-timeout", "500ms", "--body-timeout", "1m"],
    expect: {
      limits: {
        ...DEFAULT_LIMITS,
        headerTimeoutMs: 2500,
        idleTimeoutMs: 500,
        bodyTimeoutMs: 60_000,
      },
    },
  },
  {
    args: ["--max-connections", "2", "--max-requests", "100", "--shutdown-timeout", "0"],
    expect: {
      limits: {
        ...DEFAULT_LIMITS,
        maxConnections: 2,
        maxRequestsPerConnection: 100,
        shutdownTimeoutMs: 0,
      },
    },
  },
  { args: ["--workers", "3"], expect: { workers: 3 } },
  {
    args: ["--max-target", "2K", "--max-head=64K", "--max-fields", "20", "--max-drain", "0"],
    expect: {
      limits: {
        ...DEFAULT_LIMITS,
        maxTargetBytes: 2048,
        maxHeadBytes: 64 * 1024,
        maxHeaderFields: 20,
        maxDrainBytes: 0,
      },
      tuning: DEFAULT_TUNING,
    },
  },
  {
    args: ["--cache", "0", "--cache-file", "1M", "--file-buffer", "1M", "--file-buffers", "8"],
    expect: {
      tuning: {
        ...DEFAULT_TUNING,
        cacheBytes: 0,
        cacheFileBytes: 1024 * 1024,
        fileBufferBytes: 1024 * 1024,
        fileBuffers: 8,
      },
    },
  },
  {
    args: ["--compress", "gzip,br"],
    expect: { content: { ...DEFAULT_CONTENT, compress: ["gzip", "br"] } },
  },
  {
    args: ["--compress", " ZSTD "],
    expect: { content: { ...DEFAULT_CONTENT, compress: ["zstd"] } },
  },
  { args: ["--compress", "off"], expect: { content: { ...DEFAULT_CONTENT, compress: [] } } },
  {
    args: ["--compress-min", "0", "--cache-control-html", "off"],
    expect: { content: { ...DEFAULT_CONTENT, compressMinBytes: 0, cacheControlHtml: null } },
  },
  { args: ["--config", "portico.prod.json"], expect: { config: "portico.prod.json" } },
  {
    args: ["--spa", "--spa-page", "app.html", "--clean-urls", "--list"],
    expect: {
      site: { spa: true, spaPage: "app.html", cleanUrls: true, trailingSlash: "auto", list: true },
    },
  },
  {
    args: ["--trailing-slash", "as-is"],
    expect: {
      site: {
        spa: false,
        spaPage: "index.html",
        cleanUrls: false,
        trailingSlash: "as-is",
        list: false,
      },
    },
  },
  {
    args: ["--cache-control-other", "public, max-age=60", "--cache-control-hashed=off"],
    expect: {
      content: {
        ...DEFAULT_CONTENT,
        cacheControlOther: "public, max-age=60",
        cacheControlHashed: null,
      },
    },
  },
];

for (const { args, vars, expect } of ACCEPTED) {
  Deno.test(`parseCli() accepts ${JSON.stringify(args)}${vars ? ` with ${JSON.stringify(vars)}` : ""}`, () => {
    const command = parseCli(args, vars ? env(vars) : noEnv);
    assert(command.kind === "serve");
    for (const [key, value] of Object.entries(expect)) {
      assertEquals((command.options as unknown as Record<string, unknown>)[key], value, key);
    }
  });
}

const REJECTED: Array<{ args: string[]; vars?: Record<string, string>; message: string }> = [
  { args: ["--port", "abc"], message: "--port must be a number from 0 to 65535" },
  { args: ["--io-events-per-tick", "abc"], message: "--io-events-per-tick must be" },
  { args: ["--io-events-per-tick", "0"], message: "--io-events-per-tick must be" },
  { args: ["--backlog", "100000"], message: "--backlog must be" },
  { args: ["--compress", "deflate"], message: "--compress must list codings from br, zstd, gzip" },
  { args: ["--compress", "gzip,"], message: "--compress must list codings" },
  { args: ["--compress", "gzip,gzip"], message: "--compress names a coding more than once" },
  { args: ["--compress-min", "big"], message: "--compress-min must be a size" },
  {
    args: ["--cache-control-html", "a\u0007b"],
    message: "--cache-control-html must be a header value",
  },
  { args: ["--cache-control-other="], message: "--cache-control-other must be a header value" },
  { args: ["--port", "70000"], message: "--port must be a number" },
  { args: ["--port", "-1"], message: "--port must be a number" },
  { args: ["--port"], message: "--port needs a value" },
  { args: [], vars: { PORT: "http" }, message: "PORT must be a number" },
  { args: ["--root"], message: "--root needs a value" },
  { args: ["--root="], message: "--root needs a directory" },
  { args: ["--host", ""], message: "--host must be" },
  { args: ["--host", "a/b"], message: "--host must be" },
  { args: ["--bogus"], message: "unknown option --bogus" },
  { args: ["stray"], message: "unexpected argument stray" },
  { args: ["--port", "1", "--port", "2"], message: "--port is given more than once" },
  { args: ["--app"], message: "--app needs a value" },
  { args: ["--config="], message: "--config needs a file" },
  { args: ["--spa-page="], message: "--spa-page needs a file under the root" },
  { args: ["--trailing-slash", "sometimes"], message: "--trailing-slash must be one of" },
  { args: ["--app="], message: "--app needs a module path" },
  { args: ["--max-body", "ten"], message: "--max-body must be a size" },
  { args: ["--max-body", "-1"], message: "--max-body must be a size" },
  { args: ["--max-body", "10T"], message: "--max-body must be a size" },
  { args: ["--max-body"], message: "--max-body needs a value" },
  { args: ["--header-timeout", "0"], message: "--header-timeout must be a time more than 0" },
  { args: ["--idle-timeout", "5h"], message: "--idle-timeout must be a time" },
  { args: ["--body-timeout", "-1"], message: "--body-timeout must be a time" },
  { args: ["--shutdown-timeout", "soon"], message: "--shutdown-timeout must be a time 0 or more" },
  { args: ["--shutdown-timeout", "30d"], message: "--shutdown-timeout must be a time" },
  {
    args: ["--max-connections", "0"],
    message: "--max-connections must be a whole number 1 or more",
  },
  { args: ["--max-requests", "1.5"], message: "--max-requests must be a whole number 0 or more" },
  { args: ["--workers", "0"], message: '--workers must be a whole number from 1 to 256 or "auto"' },
  { args: ["--workers", "many"], message: "--workers must be a whole number" },
  { args: ["--cache", "lots"], message: "--cache must be a size" },
  { args: ["--cache-file", "-1"], message: "--cache-file must be a size" },
  { args: ["--file-buffer", "1K"], message: "--file-buffer must be from 4K to 64M" },
  { args: ["--file-buffer", "1G"], message: "--file-buffer must be from 4K to 64M" },
  { args: ["--file-buffers", "x"], message: "--file-buffers must be a whole number 0 or more" },
  { args: ["--max-target", "0"], message: "--max-target must be from 1 to 1M" },
  { args: ["--max-head", "2M"], message: "--max-head must be from 1K to 1M" },
  { args: ["--max-fields", "0"], message: "--max-fields must be a whole number 1 or more" },
  { args: ["--max-drain", "lots"], message: "--max-drain must be a size" },
  {
    args: ["--max-drain", "1K", "--max-drain", "2K"],
    message: "--max-drain is given more than once",
  },
];

Deno.test("parseSize() reads bytes and K, M, G in powers of 1024", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["1536", 1536],
    ["512K", 512 * 1024],
    ["512k", 512 * 1024],
    ["10M", 10 * 1024 * 1024],
    ["10MiB", 10 * 1024 * 1024],
    ["10 MB", 10 * 1024 * 1024],
    ["2g", 2 * 1024 ** 3],
    ["100b", 100],
  ];
  for (const [text, bytes] of cases) assertEquals(parseSize(text, "--x"), bytes, text);
  for (const text of ["", "M", "1.5M", "1 K B", "10ib", "0x10", "9999999999999999"]) {
    assertThrows(() => parseSize(text, "--x"), UserError, "--x must be a size");
  }
});

Deno.test("parseCli() reads --workers auto as one worker per CPU", () => {
  const command = parseCli(["--workers", "auto"], noEnv, 6);
  assert(command.kind === "serve");
  assertEquals(command.options.workers, 6);
});

Deno.test("parseDuration() reads seconds and ms, s, m", () => {
  const cases: [string, number][] = [
    ["10", 10_000],
    ["2.5", 2500],
    ["0.001", 1],
    ["500ms", 500],
    ["30s", 30_000],
    ["30 S", 30_000],
    ["2m", 120_000],
  ];
  for (const [text, ms] of cases) assertEquals(parseDuration(text, "--x", 0), ms, text);
  for (const text of ["", "s", "1h", "1.2345", "-1", "1e3", "10 seconds"]) {
    assertThrows(() => parseDuration(text, "--x", 0), UserError, "--x must be a time");
  }
  assertThrows(() => parseDuration("0", "--x", 1), UserError, "more than 0");
});

Deno.test("formatDuration() names a time in the unit that reads best", () => {
  assertEquals(formatDuration(10_000), "10s");
  assertEquals(formatDuration(120_000), "2m");
  assertEquals(formatDuration(1500), "1500ms");
});

Deno.test("formatSize() names a size in the largest unit that divides it", () => {
  assertEquals(formatSize(10 * 1024 * 1024), "10M");
  assertEquals(formatSize(512 * 1024), "512K");
  assertEquals(formatSize(3 * 1024 ** 3), "3G");
  assertEquals(formatSize(1000), "1000");
});

for (const { args, vars, message } of REJECTED) {
  Deno.test(`parseCli() rejects ${JSON.stringify(args)}${vars ? ` with ${JSON.stringify(vars)}` : ""}`, () => {
    assertThrows(() => parseCli(args, vars ? env(vars) : noEnv), UserError, message);
  });
}

Deno.test("parseCli() recognises --help, -h, --version and -V", () => {
  assertEquals(parseCli(["--help"], noEnv).kind, "help");
  assertEquals(parseCli(["-h"], noEnv).kind, "help");
  assertEquals(parseCli(["--version"], noEnv).kind, "version");
  assertEquals(parseCli(["-V"], noEnv).kind, "version");
});

Deno.test("parseCli() words each kind of refusal exactly as before", () => {
  const cases: [string[], Record<string, string>, string][] = [
    [
      ["--max-body", "ten"],
      {},
      '--max-body must be a size such as 1048576, 512K, 10M or 1G, not "ten"',
    ],
    [["--file-buffer", "1K"], {}, "--file-buffer must be from 4K to 64M"],
    [
      ["--idle-timeout", "0"],
      {},
      '--idle-timeout must be a time more than 0 such as 10, 2.5s, 500ms or 1m, not "0"',
    ],
    [["--workers", "0"], {}, '--workers must be a whole number from 1 to 256 or "auto", not "0"'],
    [["--port", "x"], {}, '--port must be a number from 0 to 65535, not "x"'],
    [[], { PORT: "x" }, 'PORT must be a number from 0 to 65535, not "x"'],
    [["--host", "a b"], {}, '--host must be an IP address or host name, not "a b"'],
    [["--root="], {}, "--root needs a directory; see --help"],
    [
      ["--compress", "lzma"],
      {},
      '--compress must list codings from br, zstd, gzip (or be "off"), not "lzma"',
    ],
    [["--compress", "br,br"], {}, '--compress names a coding more than once: "br,br"'],
    [
      ["--cache-control-html", ""],
      {},
      '--cache-control-html must be a header value such as "no-cache" (or "off"), not ""',
    ],
    [
      ["--trailing-slash", "x"],
      {},
      '--trailing-slash must be one of auto, always, never, as-is, not "x"',
    ],
  ];
  for (const [args, vars, message] of cases) {
    const error = assertThrows(() => parseCli(args, env(vars)), UserError);
    assertEquals(error.message, message);
  }
});

/** The serving options of a command, which must be one. */
function optionsOf(command: ReturnType<typeof parseCli>): CliOptions {
  assert(command.kind === "serve");
  return command.options;
}

Deno.test("parseCli() takes what the flags do not say from the file's values", () => {
  const file = {
    file: "portico.json",
    flags: {
      root: "public",
      "max-body": "1M",
      "idle-timeout": "2",
      workers: "auto",
      compress: "gzip",
      spa: true,
      "trailing-slash": "never",
      "cache-control-html": "off",
    },
  };
  const options = optionsOf(parseCli([], noEnv, 3, file));
  assertEquals(options.root, "public");
  assertEquals(options.rootGiven, true);
  assertEquals(options.limits.maxBodyBytes, 1024 * 1024);
  assertEquals(options.limits.idleTimeoutMs, 2000);
  assertEquals(options.workers, 3);
  assertEquals(options.content.compress, ["gzip"]);
  assertEquals(options.content.cacheControlHtml, null);
  assertEquals(options.site.spa, true);
  assertEquals(options.site.trailingSlash, "never");
  assertEquals(options.limits.maxHeadBytes, DEFAULT_LIMITS.maxHeadBytes);
});

Deno.test("parseCli() ranks a flag over PORT over the file over the default", () => {
  const file = { file: "portico.json", flags: { port: "9000", "max-body": "1M", quiet: true } };
  const fromFile = optionsOf(parseCli([], noEnv, 1, file));
  assertEquals([fromFile.port, fromFile.limits.maxBodyBytes, fromFile.quiet], [
    9000,
    1048576,
    true,
  ]);
  const flagged = optionsOf(parseCli(["--port", "7000", "--max-body", "2M"], noEnv, 1, file));
  assertEquals([flagged.port, flagged.limits.maxBodyBytes], [7000, 2 * 1048576]);
  assertEquals(optionsOf(parseCli([], env({ PORT: "3000" }), 1, file)).port, 3000);
  assertEquals(optionsOf(parseCli([], env({ PORT: "" }), 1, file)).port, 9000);
  assertEquals(optionsOf(parseCli(["--port", "7000"], env({ PORT: "3000" }), 1, file)).port, 7000);
});

Deno.test("parseCli() reads a file's false switch; rootGiven stays false without a root", () => {
  const file = { file: "portico.json", flags: { dev: false, spa: false } };
  const options = optionsOf(parseCli(["--spa"], noEnv, 1, file));
  assertEquals([options.dev, options.site.spa, options.rootGiven], [false, true, false]);
});

Deno.test("parseCli() words a refused file value by the file and the key", () => {
  const file = { file: "site.json", flags: { "max-body": "ten" } };
  const error = assertThrows(() => parseCli([], noEnv, 1, file), UserError);
  assertEquals(
    error.message,
    'site.json: maxBodyBytes: expected a size such as 1048576, 512K, 10M or 1G, not "ten"',
  );
});

Deno.test("parseCli() answers --help and --version whatever the file says", () => {
  const file = { file: "portico.json", flags: { "max-body": "ten" } };
  assertEquals(parseCli(["--help"], noEnv, 1, file).kind, "help");
  assertEquals(parseCli(["-V"], noEnv, 1, file).kind, "version");
});

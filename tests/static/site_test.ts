import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
  join,
} from "../_deps.ts";
import { contentTag } from "../../lib/static/digest.ts";
import {
  denoFileSystem,
  type FileHandle,
  type FileStat,
  type FileSystem,
} from "../../lib/static/fs.ts";
import { STATIC_ALLOW, type StaticOptions } from "../../lib/static/options.ts";
import { serveStatic, staticLookup, staticSite } from "../../lib/static/site.ts";
import { binary } from "../_bytes.ts";
import {
  bytesOf,
  countingFileSystem,
  fixture,
  HTML,
  recordingLogger,
  request,
  ROOT,
  withTempDir,
} from "./_static.ts";

const DATA_SIZE = 300 * 1024;

const decoder = new TextDecoder();

/** 300 KiB of deterministic bytes: byte i is (i * 31 + 7) & 255. */
function dataBytes(size = DATA_SIZE): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 31 + 7) & 255);
}

async function fetchStatic(
  path: string,
  init: RequestInit = {},
  options: Partial<StaticOptions> = {},
): Promise<Response> {
  return await serveStatic(ROOT, options)(request(path, init));
}

Deno.test("serveStatic() answers GET / with index.html", async () => {
  const response = await fetchStatic("/");
  const stat = await Deno.stat(join(ROOT, "index.html"));
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-type"), HTML);
  assertEquals(response.headers.get("content-length"), String(stat.size));
  assertEquals(response.headers.get("accept-ranges"), "bytes");
  assertEquals(response.headers.get("etag"), contentTag(await fixture("index.html")));
  assertEquals(response.headers.get("last-modified"), stat.mtime?.toUTCString());
  assertEquals(response.headers.get("cache-control"), "no-cache");
  assertEquals(await bytesOf(response), await fixture("index.html"));
});

Deno.test("serveStatic() answers HEAD with the GET fields and no body", async () => {
  for (const path of ["/", "/style.css", "/docs/guide.html", "/empty.txt"]) {
    const get = await fetchStatic(path);
    await get.body?.cancel();
    const head = await fetchStatic(path, { method: "HEAD" });
    assertEquals(head.status, 200, path);
    assertEquals(head.body, null, path);
    for (
      const name of ["content-length", "etag", "last-modified", "content-type", "accept-ranges"]
    ) {
      assertNotEquals(head.headers.get(name), null, `${path} ${name}`);
      assertEquals(head.headers.get(name), get.headers.get(name), `${path} ${name}`);
    }
  }
});

Deno.test("serveStatic() serves fixture files with their media types", async () => {
  const cases: [string, string, string][] = [
    ["/style.css", "style.css", "text/css; charset=utf-8"],
    ["/app.js", "app.js", "text/javascript; charset=utf-8"],
    ["/image.svg", "image.svg", "image/svg+xml"],
    ["/notes.md", "notes.md", "text/markdown; charset=utf-8"],
    ["/docs/", "docs/index.html", HTML],
    ["/docs/index.html", "docs/index.html", HTML],
    ["/docs/guide.html", "docs/guide.html", HTML],
    ["/noindex/file.txt", "noindex/file.txt", "text/plain; charset=utf-8"],
    ["/.well-known/security.txt", ".well-known/security.txt", "text/plain; charset=utf-8"],
    ["/with%20space.txt", "with space.txt", "text/plain; charset=utf-8"],
    ["/hash%23name.txt", "hash#name.txt", "text/plain; charset=utf-8"],
    ["/caf%C3%A9.txt", "café.txt", "text/plain; charset=utf-8"],
    ["/docs/../style.css", "style.css", "text/css; charset=utf-8"],
    ["//docs//guide.html", "docs/guide.html", HTML],
  ];
  for (const [path, file, type] of cases) {
    const response = await fetchStatic(path);
    assertEquals(response.status, 200, path);
    assertEquals(response.headers.get("content-type"), type, path);
    assertEquals(await bytesOf(response), await fixture(file), path);
  }
});

Deno.test("serveStatic() answers an empty file with 200 and Content-Length 0", async () => {
  const response = await fetchStatic("/empty.txt");
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-length"), "0");
  assertEquals((await bytesOf(response)).length, 0);
});

Deno.test("serveStatic() redirects a directory without a slash, keeping the query", async () => {
  const cases: [string, string][] = [
    ["/docs?q=1", "/docs/?q=1"],
    ["/docs", "/docs/"],
    ["/docs/../docs", "/docs/"],
  ];
  for (const [path, location] of cases) {
    for (const method of ["GET", "HEAD"]) {
      const response = await fetchStatic(path, { method });
      assertEquals(response.status, 301, path);
      assertEquals(response.headers.get("location"), location, path);
      assertEquals(response.body, null, path);
    }
  }
});

Deno.test("serveStatic() never redirects to a protocol-relative Location", async () => {
  for (const path of ["//docs", "///docs", "//docs?x=//evil", "/.//docs", "//./docs"]) {
    const response = await fetchStatic(path);
    await response.body?.cancel();
    assertEquals(response.status, 301, path);
    const location = response.headers.get("location") ?? "";
    assertMatch(location, /^\/docs\//, path);
    assert(!location.startsWith("//"), location);
  }
});

Deno.test("serveStatic() answers a missing file with the root's 404.html", async () => {
  const page = decoder.decode(await fixture("404.html"));
  for (const path of ["/missing.html", "/docs/missing/", "/nope/deeper/file.txt"]) {
    const response = await fetchStatic(path);
    assertEquals(response.status, 404, path);
    assertEquals(response.headers.get("content-type"), HTML, path);
    assertEquals(response.headers.get("content-length"), String(page.length), path);
    assertEquals(await response.text(), page, path);
  }
  const head = await fetchStatic("/missing.html", { method: "HEAD" });
  assertEquals(head.status, 404);
  assertEquals(head.body, null);
  assertEquals(head.headers.get("content-length"), String(page.length));
});

Deno.test("serveStatic() answers a missing file with the built-in page without 404.html", async () => {
  const check = async (response: Response) => {
    assertEquals(response.status, 404);
    assertEquals(response.headers.get("content-type"), HTML);
    const body = await response.text();
    assertStringIncludes(body, "404 Not Found");
    assert(!body.includes("Fixture 404 page"));
  };
  await check(await fetchStatic("/missing.html", {}, { notFoundPage: null }));
  await withTempDir({ "index.html": "<p>home</p>" }, async (dir) => {
    await check(await serveStatic(dir)(request("/missing.html")));
    const head = await serveStatic(dir)(request("/missing.html", { method: "HEAD" }));
    assertEquals(head.status, 404);
    assertEquals(head.body, null);
  });
});

Deno.test("serveStatic() hides dotfiles and dot-directories with 404", async () => {
  const page = decoder.decode(await fixture("404.html"));
  const paths = [
    "/.env",
    "/%2eenv",
    "/%2Eenv",
    "/.git/config",
    "/.git/",
    "/.git",
    "/.well-known/.hidden",
    "/docs/.env",
  ];
  for (const path of paths) {
    const response = await fetchStatic(path);
    assertEquals(response.status, 404, path);
    const body = await response.text();
    assertEquals(body, page, path);
    assert(!body.includes("SECRET"), path);
  }
  // The fixture is there: served when dotfiles are on.
  const shown = await fetchStatic("/.env", {}, { dotfiles: true });
  assertEquals(shown.status, 200);
  assertEquals(await shown.text(), "SECRET=1");
});

Deno.test("serveStatic() hides a dot-directory that exists", async () => {
  // Built at test time: git does not track a directory named .git.
  const files = {
    "index.html": "home",
    ".git/config": "[core]\n",
    ".well-known/security.txt": "x",
  };
  await withTempDir(files, async (root) => {
    const hidden = await serveStatic(root)(request("/.git/config"));
    assertEquals(hidden.status, 404);
    assert(!(await hidden.text()).includes("[core]"));
    const shown = await serveStatic(root, { dotfiles: true })(request("/.git/config"));
    assertEquals(shown.status, 200);
    assertEquals(await shown.text(), "[core]\n");
    const wellKnown = await serveStatic(root)(request("/.well-known/security.txt"));
    assertEquals(wellKnown.status, 200);
    assertEquals(await wellKnown.text(), "x");
  });
});

Deno.test("serveStatic() answers 404 for a folder without index, with or without a slash, and a file with a slash", async () => {
  for (
    const path of [
      "/noindex/",
      "/noindex",
      "/.well-known",
      "/index.html/",
      "/docs/guide.html/",
      "/with%20space.txt/",
      "/empty.txt/",
    ]
  ) {
    const response = await fetchStatic(path);
    assertEquals(response.status, 404, path);
    assertEquals(await response.text(), decoder.decode(await fixture("404.html")), path);
  }
});

Deno.test("serveStatic() answers 400 for paths that are not plain names", async () => {
  for (
    const path of ["/%zz", "/a%00", "/a%2Fb", "/a%5Cb", "/%C0%AF", "/%FF", "/%0d%0aSet-Cookie:x"]
  ) {
    const response = await fetchStatic(path);
    assertEquals(response.status, 400, path);
    assertEquals(response.headers.get("content-type"), HTML, path);
    const body = await response.text();
    assertStringIncludes(body, "400 Bad Request", path);
    assert(!body.includes("Set-Cookie"), path);
  }
});

Deno.test("serveStatic() answers OPTIONS with 204 and Allow", async () => {
  for (const path of ["/", "/index.html", "/missing"]) {
    const response = await fetchStatic(path, { method: "OPTIONS" });
    assertEquals(response.status, 204);
    assertEquals(response.headers.get("allow"), "GET, HEAD, OPTIONS");
    assertEquals(response.body, null);
  }
  assertEquals(STATIC_ALLOW, "GET, HEAD, OPTIONS");
});

Deno.test("serveStatic() answers other methods with 405 and Allow", async () => {
  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    const response = await fetchStatic("/index.html", { method });
    assertEquals(response.status, 405, method);
    assertEquals(response.headers.get("allow"), STATIC_ALLOW, method);
    assertStringIncludes(await response.text(), "405", method);
  }
});

Deno.test("serveStatic() answers 304 for a matching If-None-Match or If-Modified-Since", async () => {
  const first = await fetchStatic("/style.css");
  await first.body?.cancel();
  const etag = first.headers.get("etag") ?? "";
  const lastModified = first.headers.get("last-modified") ?? "";
  const cases: [string, Record<string, string>][] = [
    ["GET", { "if-none-match": etag }],
    ["GET", { "if-none-match": `W/${etag}` }],
    ["GET", { "if-none-match": `"nope", ${etag}` }],
    ["GET", { "if-none-match": "*" }],
    ["GET", { "if-modified-since": lastModified }],
    ["HEAD", { "if-none-match": etag }],
  ];
  for (const [method, headers] of cases) {
    const response = await fetchStatic("/style.css", { method, headers });
    assertEquals(response.status, 304, JSON.stringify(headers));
    assertEquals(response.body, null);
    assertEquals(response.headers.get("etag"), etag);
    assertEquals(response.headers.get("last-modified"), lastModified);
  }
  // A different tag, or a date before the modification, gets the file.
  const misses: Record<string, string>[] = [
    { "if-none-match": '"nope"' },
    { "if-modified-since": "Thu, 01 Jan 1970 00:00:00 GMT" },
  ];
  for (const headers of misses) {
    const response = await fetchStatic("/style.css", { headers });
    assertEquals(response.status, 200, JSON.stringify(headers));
    assertEquals(await bytesOf(response), await fixture("style.css"));
  }
});

Deno.test("serveStatic() answers 412 for a failed If-Match or If-Unmodified-Since", async () => {
  const first = await fetchStatic("/style.css");
  await first.body?.cancel();
  const etag = first.headers.get("etag") ?? "";
  const failures: Record<string, string>[] = [
    { "if-match": '"nope"' },
    { "if-match": `W/${etag}` },
    { "if-unmodified-since": "Thu, 01 Jan 1970 00:00:00 GMT" },
  ];
  for (const headers of failures) {
    const response = await fetchStatic("/style.css", { headers });
    assertEquals(response.status, 412, JSON.stringify(headers));
    assertStringIncludes(await response.text(), "412");
  }
  const passed = await fetchStatic("/style.css", { headers: { "if-match": etag } });
  assertEquals(passed.status, 200);
  assertEquals(await bytesOf(passed), await fixture("style.css"));
});

Deno.test("serveStatic() answers Range: bytes=0-1 with 206 and two bytes", async () => {
  const file = await fixture("index.html");
  const response = await fetchStatic("/index.html", { headers: { range: "bytes=0-1" } });
  assertEquals(response.status, 206);
  assertEquals(response.headers.get("content-range"), `bytes 0-1/${file.length}`);
  assertEquals(response.headers.get("content-length"), "2");
  assertEquals(response.headers.get("content-type"), HTML);
  assertEquals(await bytesOf(response), file.subarray(0, 2));
});

Deno.test("serveStatic() answers single ranges of a large file byte for byte", async () => {
  const data = dataBytes();
  await withTempDir({ "data.bin": data }, async (root) => {
    const handler = serveStatic(root);
    const size = data.length;
    const cases: [string, number, number][] = [
      ["bytes=0-1", 0, 1],
      ["bytes=-5", size - 5, size - 1],
      ["bytes=1000-", 1000, size - 1],
      ["bytes=65530-200000", 65530, 200000],
      ["bytes=307000-999999", 307000, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const response = await handler(request("/data.bin", { headers: { range } }));
      assertEquals(response.status, 206, range);
      assertEquals(response.headers.get("content-range"), `bytes ${start}-${end}/${size}`, range);
      assertEquals(response.headers.get("content-length"), String(end - start + 1), range);
      assertEquals(await bytesOf(response), data.subarray(start, end + 1), range);
    }
  });
});

Deno.test("serveStatic() answers an unsatisfiable range with 416", async () => {
  const size = (await fixture("index.html")).length;
  for (const range of [`bytes=${size}-`, "bytes=99999-100000", "bytes=-0"]) {
    const response = await fetchStatic("/index.html", { headers: { range } });
    assertEquals(response.status, 416, range);
    assertEquals(response.headers.get("content-range"), `bytes */${size}`, range);
    await response.body?.cancel();
  }
  const empty = await fetchStatic("/empty.txt", { headers: { range: "bytes=0-" } });
  assertEquals(empty.status, 416);
  assertEquals(empty.headers.get("content-range"), "bytes */0");
  await empty.body?.cancel();
});

Deno.test("serveStatic() ignores an invalid Range and sends the whole file", async () => {
  for (const range of ["bytes=5-2", "items=0-1", "bytes=x", "bytes=0-0,0-0"]) {
    const response = await fetchStatic("/index.html", { headers: { range } });
    assertEquals(response.status, 200, range);
    assertEquals(response.headers.get("content-range"), null, range);
    assertEquals(await bytesOf(response), await fixture("index.html"), range);
  }
});

/** Splits a multipart/byteranges body into its parts, checking its framing. */
function parseByteranges(body: Uint8Array, boundary: string) {
  const text = binary(body);
  const parts: { type: string | null; range: string | null; data: Uint8Array }[] = [];
  let at = 0;
  const expect = (literal: string) => {
    assertEquals(text.slice(at, at + literal.length), literal, `at ${at}`);
    at += literal.length;
  };
  expect(`--${boundary}\r\n`);
  for (;;) {
    const headEnd = text.indexOf("\r\n\r\n", at);
    assert(headEnd !== -1, "part head ends");
    const fields = new Map<string, string>();
    for (const line of text.slice(at, headEnd).split("\r\n")) {
      const colon = line.indexOf(":");
      fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    at = headEnd + 4;
    const range = fields.get("content-range") ?? null;
    const match = /^bytes (\d+)-(\d+)\/\d+$/.exec(range ?? "");
    assert(match !== null, `content-range ${range}`);
    const length = Number(match[2]) - Number(match[1]) + 1;
    parts.push({
      type: fields.get("content-type") ?? null,
      range,
      data: body.slice(at, at + length),
    });
    at += length;
    expect(`\r\n--${boundary}`);
    if (text.slice(at, at + 4) === "--\r\n") {
      at += 4;
      break;
    }
    expect("\r\n");
  }
  assertEquals(at, body.length, "nothing after the closing delimiter");
  return parts;
}

Deno.test("serveStatic() answers several ranges with multipart/byteranges in the order asked", async () => {
  const data = dataBytes();
  await withTempDir({ "data.bin": data }, async (root) => {
    const size = data.length;
    const response = await serveStatic(root)(
      request("/data.bin", { headers: { range: "bytes=-3, 100000-170000,0-1" } }),
    );
    assertEquals(response.status, 206);
    assertEquals(response.headers.get("content-range"), null);
    const type = response.headers.get("content-type") ?? "";
    const boundary = /^multipart\/byteranges; boundary=([0-9A-Za-z]+)$/.exec(type)?.[1];
    assert(boundary !== undefined, type);
    const body = await bytesOf(response);
    assertEquals(response.headers.get("content-length"), String(body.length));
    const parts = parseByteranges(body, boundary);
    // Parts come in the order asked, which here means seeking backwards.
    const expected: [number, number][] = [[size - 3, size - 1], [100000, 170000], [0, 1]];
    assertEquals(parts.length, expected.length);
    for (let i = 0; i < expected.length; i++) {
      const [start, end] = expected[i];
      assertEquals(parts[i].type, "application/octet-stream");
      assertEquals(parts[i].range, `bytes ${start}-${end}/${size}`);
      assertEquals(parts[i].data, data.subarray(start, end + 1));
    }
  });
});

Deno.test("serveStatic() sends ranges only when If-Range matches", async () => {
  const file = await fixture("index.html");
  const first = await fetchStatic("/index.html");
  await first.body?.cancel();
  const etag = first.headers.get("etag") ?? "";
  const lastModified = first.headers.get("last-modified") ?? "";
  const cases: [string, number][] = [
    [etag, 206],
    [lastModified, 206],
    ['"stale"', 200],
    [`W/${etag}`, 200],
    ["Thu, 01 Jan 1970 00:00:00 GMT", 200],
  ];
  for (const [ifRange, status] of cases) {
    const response = await fetchStatic("/index.html", {
      headers: { range: "bytes=0-1", "if-range": ifRange },
    });
    assertEquals(response.status, status, ifRange);
    assertEquals(await bytesOf(response), status === 206 ? file.subarray(0, 2) : file, ifRange);
  }
});

Deno.test("serveStatic() ignores Range for HEAD", async () => {
  const size = (await fixture("index.html")).length;
  const response = await fetchStatic("/index.html", {
    method: "HEAD",
    headers: { range: "bytes=0-1" },
  });
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-length"), String(size));
  assertEquals(response.headers.get("content-range"), null);
  assertEquals(response.body, null);
});

Deno.test("serveStatic() sends a large file byte for byte", async () => {
  const data = dataBytes();
  await withTempDir({ "data.bin": data }, async (root) => {
    const response = await serveStatic(root)(request("/data.bin"));
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("content-type"), "application/octet-stream");
    assertEquals(response.headers.get("content-length"), String(DATA_SIZE));
    const body = await bytesOf(response);
    assertEquals(body.length, DATA_SIZE);
    assertEquals(body, data);
  });
});

Deno.test("serveStatic() never serves a file next to the root", async () => {
  const secret = "TOP-SECRET-NEXT-TO-ROOT";
  const files = { "secret.txt": secret, "root/index.html": "home", "root/docs/index.html": "docs" };
  await withTempDir(files, async (dir) => {
    const handler = serveStatic(join(dir, "root"));
    const paths = [
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/..%2fsecret.txt",
      "/%2e%2e%2fsecret.txt",
      "/docs/../../secret.txt",
      "/docs/%2e%2e/%2e%2e/secret.txt",
      "/..%5csecret.txt",
      "/..\\secret.txt",
      "//../secret.txt",
      "/.%2e/secret.txt",
      "/%252e%252e/secret.txt",
    ];
    for (const path of paths) {
      const response = await handler(request(path));
      assert(response.status === 400 || response.status === 404, `${path}: ${response.status}`);
      assert(!(await response.text()).includes(secret), path);
    }
  });
});

Deno.test("serveStatic() follows symlinks only to files inside the root", async () => {
  const files = {
    "outside.txt": "OUTSIDE",
    "outdir/x.txt": "OUTSIDE-DIR",
    "root/inner.txt": "INNER",
    "root/index.html": "home",
  };
  await withTempDir(files, async (dir) => {
    const root = join(dir, "root");
    await Deno.symlink(join(dir, "outside.txt"), join(root, "out.txt"));
    await Deno.symlink("../outside.txt", join(root, "relative-out.txt"));
    await Deno.symlink(join(dir, "outdir"), join(root, "outdir"));
    await Deno.symlink(join(root, "inner.txt"), join(root, "in.txt"));
    await Deno.symlink("inner.txt", join(root, "relative-in.txt"));
    const handler = serveStatic(root);
    for (const path of ["/out.txt", "/relative-out.txt", "/outdir/x.txt", "/outdir/", "/outdir"]) {
      const response = await handler(request(path));
      assertEquals(response.status, 404, path);
      assert(!(await response.text()).includes("OUTSIDE"), path);
    }
    for (const path of ["/in.txt", "/relative-in.txt"]) {
      const response = await handler(request(path));
      assertEquals(response.status, 200, path);
      assertEquals(await response.text(), "INNER", path);
    }
  });
});

Deno.test("serveStatic() serves a root that is itself a symlink", async () => {
  await withTempDir({ "real/index.html": "home" }, async (dir) => {
    await Deno.symlink(join(dir, "real"), join(dir, "link"));
    const response = await serveStatic(join(dir, "link"))(request("/"));
    assertEquals(response.status, 200);
    assertEquals(await response.text(), "home");
  });
});

Deno.test("serveStatic() answers 500 without details when a file cannot be opened", async () => {
  const logger = recordingLogger();
  const fs: FileSystem = {
    ...denoFileSystem,
    open: () => Promise.reject(new Error("EIO: input/output error")),
  };
  const response = await serveStatic(ROOT, { fs, logger })(request("/style.css"));
  assertEquals(response.status, 500);
  assertEquals(response.headers.get("content-type"), HTML);
  const body = await response.text();
  assertStringIncludes(body, "500 Internal Server Error");
  for (const secret of ["EIO", "input/output", "style.css", ROOT]) {
    assert(!body.includes(secret), secret);
  }
  assertEquals(logger.errors.length, 1);
  assertEquals((logger.errors[0][1] as Error).message, "EIO: input/output error");
});

Deno.test("serveStatic() recovers when resolving the root fails once", async () => {
  const logger = recordingLogger();
  let failures = 1;
  const fs: FileSystem = {
    ...denoFileSystem,
    realPath: (path) =>
      failures-- > 0
        ? Promise.reject(new Error("EMFILE: too many open files"))
        : denoFileSystem.realPath(path),
  };
  const handler = serveStatic(ROOT, { fs, logger });
  const failed = await handler(request("/style.css"));
  assertEquals(failed.status, 500);
  await failed.body?.cancel();
  const recovered = await handler(request("/style.css"));
  assertEquals(recovered.status, 200);
  assertEquals(new Uint8Array(await recovered.arrayBuffer()), await fixture("style.css"));
  assertEquals(logger.errors.length, 1);
});

Deno.test("serveStatic() answers 404 when a file vanishes before it is opened", async () => {
  const logger = recordingLogger();
  const fs: FileSystem = {
    ...denoFileSystem,
    open: (path) =>
      path.endsWith("style.css")
        ? Promise.reject(new Deno.errors.NotFound("gone"))
        : denoFileSystem.open(path),
  };
  const response = await serveStatic(ROOT, { fs, logger })(request("/style.css"));
  assertEquals(response.status, 404);
  assertEquals(await response.text(), decoder.decode(await fixture("404.html")));
  assertEquals(logger.errors.length, 0);
});

Deno.test("serveStatic() errors the body of a file truncated after stat", async () => {
  let closed = 0;
  const truncated: FileHandle = {
    // Reports 1000 bytes but ends after 10.
    read: (() => {
      let served = false;
      return (p: Uint8Array) => {
        if (served) return Promise.resolve(null);
        served = true;
        p.fill(0x61, 0, 10);
        return Promise.resolve(10);
      };
    })(),
    seek: (offset) => Promise.resolve(offset),
    stat: (): Promise<FileStat> =>
      Promise.resolve({
        isFile: true,
        isDirectory: false,
        size: 1000,
        mtime: new Date(0),
        ino: null,
        ctime: null,
      }),
    close: () => {
      closed++;
    },
  };
  const fs: FileSystem = { ...denoFileSystem, open: () => Promise.resolve(truncated) };
  const response = await serveStatic(ROOT, { fs })(request("/style.css"));
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-length"), "1000");
  await assertRejects(() => response.arrayBuffer());
  assertEquals(closed, 1);
});

Deno.test("serveStatic() closes every file it opens", async () => {
  const fs = countingFileSystem();
  // Without the cache, so that every request opens the file.
  const handler = serveStatic(ROOT, { fs, cache: false });
  const etag = contentTag(await fixture("style.css"));
  const cases: [string, RequestInit][] = [
    ["/style.css", {}],
    ["/style.css", { method: "HEAD" }],
    ["/style.css", { headers: { "if-none-match": etag } }],
    ["/style.css", { headers: { "if-match": '"nope"' } }],
    ["/style.css", { headers: { range: "bytes=999-" } }],
    ["/style.css", { headers: { range: "bytes=0-1,4-5" } }],
    ["/empty.txt", {}],
    ["/missing", {}],
    ["/missing", { method: "HEAD" }],
  ];
  for (const [path, init] of cases) {
    const response = await handler(request(path, init));
    await response.arrayBuffer();
    assertEquals(fs.closed, fs.opened, `${path} ${JSON.stringify(init)}`);
  }
  assert(fs.opened >= cases.length);
  // A body that is cancelled half-way releases its file too.
  const cancelled = await handler(request("/style.css"));
  await cancelled.body?.cancel();
  assertEquals(fs.closed, fs.opened);
});

Deno.test("staticLookup() answers files and reports every other request as a miss", async () => {
  const lookup = staticLookup(ROOT);
  const file = await lookup(request("/style.css"));
  assert(file instanceof Response);
  assertEquals(await file.text(), decoder.decode(await fixture("style.css")));
  const redirect = await lookup(request("/docs"));
  assert(redirect instanceof Response);
  assertEquals(redirect.status, 301);
  const misses: [string, RequestInit, number][] = [
    ["/missing", {}, 404],
    ["/noindex/", {}, 404],
    ["/.env", {}, 404],
    ["/index.html", { method: "POST", body: "x" }, 405],
    ["/index.html", { method: "OPTIONS" }, 405],
    ["/%zz", {}, 400],
  ];
  for (const [path, init, status] of misses) {
    const result = await lookup(request(path, init));
    assert(!(result instanceof Response), path);
    assertEquals(result.status, status, path);
  }
});

Deno.test("staticSite() returns a lookup, a handler and the cache they share", async () => {
  const site = staticSite(ROOT);
  assertEquals(Object.keys(site).sort(), [
    "cache",
    "close",
    "find",
    "handler",
    "lookup",
    "missPage",
    "negotiate",
    "page",
    "settled",
  ]);
  assert(site.cache !== null);
  const looked = await site.lookup(request("/style.css"));
  assert(looked instanceof Response);
  await looked.body?.cancel();
  const handled = await site.handler(request("/style.css"));
  assertEquals(await handled.text(), decoder.decode(await fixture("style.css")));
  assertEquals(site.cache.size, 1, "one entry, filled by the lookup and used by the handler");
});

Deno.test("serveStatic() sends the not-found page as a 404 without validators, cached or not", async () => {
  const page = await fixture("404.html");
  const etag = contentTag(page);
  for (const cache of [undefined, false] as const) {
    const handler = serveStatic(ROOT, { cache });
    // Preconditions and ranges are about the missing resource, not the page.
    const cases: RequestInit[] = [
      {},
      {},
      { headers: { "if-none-match": "*" } },
      { headers: { "if-none-match": etag } },
      { headers: { "if-match": '"nope"' } },
      { headers: { range: "bytes=0-1" } },
    ];
    for (const init of cases) {
      const what = `cache ${cache} ${JSON.stringify(init)}`;
      const response = await handler(request("/missing.html", init));
      assertEquals(response.status, 404, what);
      assertEquals(response.headers.get("content-type"), HTML, what);
      assertEquals(response.headers.get("content-length"), String(page.length), what);
      for (const name of ["etag", "last-modified", "accept-ranges", "content-range"]) {
        assertEquals(response.headers.get(name), null, `${what} ${name}`);
      }
      assertEquals(await bytesOf(response), page, what);
    }
  }
});

Deno.test("serveStatic() answers HEAD having already closed the file", async () => {
  const data = dataBytes();
  await withTempDir({ "data.bin": data, "404.html": "<p>no</p>" }, async (root) => {
    const fs = countingFileSystem();
    const handler = serveStatic(root, { fs, cache: false });
    for (const path of ["/data.bin", "/missing"]) {
      const response = await handler(request(path, { method: "HEAD" }));
      assertEquals(response.body, null, path);
      assert(fs.opened > 0, path);
      assertEquals(fs.closed, fs.opened, `${path}: closed before the response is consumed`);
    }
    const looked = await staticLookup(root, { fs, cache: false })(
      request("/data.bin", { method: "HEAD" }),
    );
    assert(looked instanceof Response);
    assertEquals(looked.body, null);
    assertEquals(looked.headers.get("content-length"), String(data.length));
    assertEquals(fs.closed, fs.opened);
  });
});

Deno.test("serveStatic() answers a file-system failure through the one mapping", async () => {
  const cases: [string, unknown, number][] = [
    ["permission denied", new Deno.errors.PermissionDenied("EACCES"), 403],
    ["too many open files", Object.assign(new Error("EMFILE"), { code: "EMFILE" }), 503],
    ["input/output error", new Error("EIO"), 500],
    ["not found", new Deno.errors.NotFound("gone"), 404],
  ];
  for (const [what, error, status] of cases) {
    const logger = recordingLogger();
    const fs: FileSystem = { ...denoFileSystem, open: () => Promise.reject(error) };
    const response = await serveStatic(ROOT, { fs, logger, cache: false })(request("/style.css"));
    assertEquals(response.status, status, what);
    assertEquals(response.headers.get("retry-after"), status === 503 ? "1" : null, what);
    assertEquals(logger.errors.length, status === 500 ? 1 : 0, what);
    await response.body?.cancel();
  }
});

import { assert, assertEquals } from "../_deps.ts";
import { canonicalPath, type ResolvedPath, resolvePath } from "../../lib/static/resolve.ts";

/** The status a refusal is answered with: 400 for "bad", 404 for "missing". */
function statusOf(resolved: () => ResolvedPath): number {
  const path = resolved();
  assert(path.kind !== "file", `refused, not ${JSON.stringify(path)}`);
  return path.kind === "bad" ? 400 : 404;
}

/** The segments and directory flag of a path that names a file. */
function fileOf(path: ResolvedPath): { segments: readonly string[]; directory: boolean } {
  assert(path.kind === "file", `a file, not ${JSON.stringify(path)}`);
  return { segments: path.segments, directory: path.directory };
}

Deno.test("resolvePath() decodes segments and applies dot segments", () => {
  const cases: [string, string[], boolean][] = [
    ["/", [], true],
    ["/index.html", ["index.html"], false],
    ["/docs/", ["docs"], true],
    ["/docs", ["docs"], false],
    ["/docs/a%20b.html", ["docs", "a b.html"], false],
    ["/caf%C3%A9.txt", ["café.txt"], false],
    ["/hash%23name.txt", ["hash#name.txt"], false],
    ["/a/../b", ["b"], false],
    ["/a/./b", ["a", "b"], false],
    ["/a/%2e%2e/b", ["b"], false],
    ["/a/.%2E/b", ["b"], false],
    ["/a/%2e/b", ["a", "b"], false],
    ["/a/b/..", ["a"], true],
    ["/a/b/%2e%2e", ["a"], true],
    ["/a/.", ["a"], true],
    ["/a/..", [], true],
    ["//etc/passwd", ["etc", "passwd"], false],
    ["///a//b///", ["a", "b"], true],
    // Decoded once: a double-encoded dot segment is the literal name "%2e%2e".
    ["/%252e%252e", ["%2e%2e"], false],
    ["/%252e%252e/x", ["%2e%2e", "x"], false],
    ["/%25", ["%"], false],
  ];
  for (const [pathname, segments, directory] of cases) {
    assertEquals(fileOf(resolvePath(pathname)), { segments, directory }, pathname);
  }
});

Deno.test("resolvePath() never yields an absolute or empty segment", () => {
  for (const pathname of ["//etc/passwd", "/./../..//x", "/a//../b", "/%2e/%2e%2e/b"]) {
    const path = resolvePath(pathname);
    if (path.kind !== "file") continue;
    for (const segment of path.segments) {
      assert(segment !== "" && segment !== "." && segment !== "..", pathname);
      assert(!segment.includes("/") && !segment.includes("\\"), pathname);
    }
  }
});

Deno.test("resolvePath() refuses malformed percent-encoding with 400", () => {
  for (const pathname of ["/%zz", "/%4", "/a%", "/%", "/%g0", "/x%2", "/%%41"]) {
    assertEquals(statusOf(() => resolvePath(pathname)), 400, pathname);
  }
});

Deno.test("resolvePath() refuses encoded slash, backslash and NUL with 400", () => {
  for (
    const pathname of [
      "/a%2Fb",
      "/a%2fb",
      "/..%2fsecret",
      "/%2e%2e%2fsecret",
      "/a%5Cb",
      "/a%5cb",
      "/a%00",
    ]
  ) {
    assertEquals(statusOf(() => resolvePath(pathname)), 400, pathname);
  }
});

Deno.test("resolvePath() refuses a raw backslash with 404", () => {
  for (const pathname of ["/a\\b", "/..\\secret", "/\\..\\secret", "/a/b\\"]) {
    assertEquals(statusOf(() => resolvePath(pathname)), 404, JSON.stringify(pathname));
  }
});

Deno.test("resolvePath() refuses control characters with 400", () => {
  for (
    const pathname of [
      "/a\x00b",
      "/a\tb",
      "/a\nb",
      "/a\x7fb",
      "/%0d%0a",
      "/%09",
      "/%7F",
    ]
  ) {
    assertEquals(statusOf(() => resolvePath(pathname)), 400, JSON.stringify(pathname));
  }
});

Deno.test("resolvePath() refuses invalid UTF-8 with 400", () => {
  for (const pathname of ["/%C0%AF", "/%FF", "/%C3", "/%E2%82", "/%ED%A0%80", "/a%80b"]) {
    assertEquals(statusOf(() => resolvePath(pathname)), 400, pathname);
  }
});

Deno.test("resolvePath() refuses a path not starting with / with 400", () => {
  for (const pathname of ["", "index.html", "*"]) {
    assertEquals(statusOf(() => resolvePath(pathname)), 400, JSON.stringify(pathname));
  }
});

Deno.test("resolvePath() answers 404 for a path climbing above the root", () => {
  for (
    const pathname of [
      "/..",
      "/../",
      "/../etc/passwd",
      "/%2e%2e",
      "/%2e%2e/",
      "/.%2e/x",
      "/a/../../b",
      "/docs/../../secret",
    ]
  ) {
    assertEquals(statusOf(() => resolvePath(pathname)), 404, pathname);
  }
});

Deno.test("resolvePath() hides dotfiles and dot-directories with 404", () => {
  for (
    const pathname of [
      "/.env",
      "/%2eenv",
      "/.git/config",
      "/docs/.hidden",
      "/a/.b/c",
      "/.well-known/.hidden",
      "/..well-known/x",
      "/x/.well-known/y",
    ]
  ) {
    assertEquals(statusOf(() => resolvePath(pathname)), 404, pathname);
  }
});

Deno.test("resolvePath() allows .well-known as the first segment", () => {
  assertEquals(fileOf(resolvePath("/.well-known/security.txt")), {
    segments: [".well-known", "security.txt"],
    directory: false,
  });
  assertEquals(fileOf(resolvePath("/.well-known/")), {
    segments: [".well-known"],
    directory: true,
  });
  // A hidden name that a dot segment removes is never looked at.
  assertEquals(fileOf(resolvePath("/.git/../index.html")).segments, ["index.html"]);
});

Deno.test("resolvePath() serves dotfiles when asked to", () => {
  assertEquals(fileOf(resolvePath("/.env", { dotfiles: true })).segments, [".env"]);
  assertEquals(fileOf(resolvePath("/.git/config", { dotfiles: true })).segments, [
    ".git",
    "config",
  ]);
  // Dot segments still are not names.
  assertEquals(statusOf(() => resolvePath("/..", { dotfiles: true })), 404);
});

Deno.test("canonicalPath() encodes segments and starts with a single /", () => {
  const cases: [string[], boolean, string][] = [
    [[], true, "/"],
    [[], false, "/"],
    [["docs"], true, "/docs/"],
    [["docs", "guide.html"], false, "/docs/guide.html"],
    [["with space.txt"], false, "/with%20space.txt"],
    [["hash#name.txt"], false, "/hash%23name.txt"],
    [["café.txt"], false, "/caf%C3%A9.txt"],
    [["a?b", "%2e%2e"], true, "/a%3Fb/%252e%252e/"],
  ];
  for (const [segments, directory, expected] of cases) {
    assertEquals(canonicalPath(segments, directory), expected);
  }
});

Deno.test("canonicalPath() round-trips through resolvePath()", () => {
  for (
    const pathname of [
      "/docs/",
      "/with%20space.txt",
      "/caf%C3%A9.txt",
      "/%252e%252e/x",
      "//etc/passwd",
    ]
  ) {
    const { segments, directory } = fileOf(resolvePath(pathname));
    const canonical = canonicalPath(segments, directory);
    assert(!canonical.startsWith("//"), canonical);
    assertEquals(fileOf(resolvePath(canonical)), { segments, directory }, pathname);
  }
});

Deno.test("resolvePath() returns its decision as a value with a public message", () => {
  const cases: [string, ResolvedPath][] = [
    ["/a/b", { kind: "file", segments: ["a", "b"], directory: false }],
    ["/..", { kind: "missing" }],
    ["/.env", { kind: "missing" }],
    ["/a\\b", { kind: "missing" }],
    ["/%zz", { kind: "bad", message: "Invalid percent-encoding in path" }],
    ["/a%2Fb", { kind: "bad", message: "Encoded slash or backslash in path" }],
    ["/%0a", { kind: "bad", message: "Control character in path" }],
    ["/%FF", { kind: "bad", message: "Path is not valid UTF-8" }],
    ["x", { kind: "bad", message: "Path must start with /" }],
  ];
  for (const [pathname, expected] of cases) {
    assertEquals(resolvePath(pathname), expected, JSON.stringify(pathname));
  }
});

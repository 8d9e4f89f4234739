import { assert, assertEquals, assertThrows } from "../_deps.ts";
import {
  bindQuery,
  checkTarget,
  compilePattern,
  decodeSegment,
  fillTarget,
  targetNames,
} from "../../lib/site/pattern.ts";
import { RuleError } from "../../lib/site/types.ts";

type Params = Record<string, string> | null;

/** The RuleError `fn` throws. */
function refusal(fn: () => unknown): RuleError {
  const error = assertThrows(fn, RuleError);
  assert(error instanceof RuleError);
  return error;
}

/** Each pattern with request paths and what it captures from them (null: no match). */
const MATCHES: [string, [string, Params][]][] = [
  ["/", [["/", {}], ["/a", null], ["//", {}]]],
  ["/about", [
    ["/about", {}],
    ["/about/", {}],
    ["/About", null],
    ["/about/x", null],
    ["/abou", null],
    ["/aboutx", null],
    ["/%61bout", {}],
    ["/%61bout/", {}],
    ["/about//", null],
    ["/", null],
    ["about", null],
  ]],
  ["/about/", [["/about", {}], ["/about/", {}]]],
  ["/café", [["/caf%C3%A9", {}], ["/caf%c3%a9", {}], ["/cafe", null], ["/caf%E9", null]]],
  ["/caf%C3%A9", [["/caf%C3%A9", {}], ["/café", {}]]],
  ["/100%25", [["/100%25", {}], ["/100%", null], ["/100%2", null], ["/100%zz", null]]],
  ["/a%2Fb", [["/a%2Fb", {}], ["/a%2fb", {}], ["/a/b", null]]],
  ["/a/b", [["/a/b", {}], ["/a%2Fb", null], ["/a//b", null], ["/a/b/", {}]]],
  ["/users/:id", [
    ["/users/7", { id: "7" }],
    ["/users/7/", { id: "7" }],
    ["/users/a%20b", { id: "a%20b" }],
    ["/users/a%2Fb", { id: "a%2Fb" }],
    ["/users/%zz", { id: "%zz" }],
    ["/users/", null],
    ["/users", null],
    ["/users//", null],
    ["/users/7/posts", null],
  ]],
  ["/:lang/docs/:page", [
    ["/en/docs/intro", { lang: "en", page: "intro" }],
    ["/en/docs/", null],
    ["//docs/intro", null],
  ]],
  ["/blog/*", [
    ["/blog", { splat: "" }],
    ["/blog/", { splat: "" }],
    ["/blog/a", { splat: "a" }],
    ["/blog/a/b", { splat: "a/b" }],
    ["/blog/a/b/", { splat: "a/b/" }],
    ["/blog/a%2Fb", { splat: "a%2Fb" }],
    ["/blog//x", { splat: "/x" }],
    ["/blogger", null],
    ["/Blog/a", null],
    ["/%62log/a", { splat: "a" }],
  ]],
  ["/*", [["/", { splat: "" }], ["/x", { splat: "x" }], ["/x/y/", { splat: "x/y/" }]]],
  ["/u/:id/*", [
    ["/u/1", { id: "1", splat: "" }],
    ["/u/1/a/b", { id: "1", splat: "a/b" }],
    ["/u", null],
  ]],
  ["/:__proto__", [["/x", Object.fromEntries([["__proto__", "x"]])]]],
];

Deno.test("compilePattern() matches request paths segment by segment", () => {
  for (const [source, cases] of MATCHES) {
    const pattern = compilePattern(source, "test");
    for (const [pathname, expected] of cases) {
      const got = pattern.match(pathname);
      assertEquals(got === null ? null : { ...got }, expected, `${source} ${pathname}`);
    }
  }
});

Deno.test("compilePattern() gives the names in order and the first literal segment", () => {
  const cases: [string, string[], string | null][] = [
    ["/", [], ""],
    ["/about", [], "about"],
    ["/%61bout/x", [], "about"],
    ["/café", [], "café"],
    ["/u/:id/*", ["id", "splat"], "u"],
    ["/:lang/:page", ["lang", "page"], null],
    ["/*", ["splat"], null],
  ];
  for (const [source, names, first] of cases) {
    const pattern = compilePattern(source, "test");
    assertEquals([pattern.source, pattern.names, pattern.firstLiteral], [source, names, first]);
  }
});

Deno.test("compilePattern() gives the first match in a table of patterns", () => {
  const table = ["/blog/feed", "/blog/:slug", "/blog/*", "/*"].map((p) => compilePattern(p, "t"));
  const first = (path: string) => table.findIndex((p) => p.match(path) !== null);
  assertEquals(first("/blog/feed"), 0);
  assertEquals(first("/blog/feed/"), 0);
  assertEquals(first("/blog/hello"), 1);
  assertEquals(first("/blog/2024/hello"), 2);
  assertEquals(first("/blog"), 2);
  assertEquals(first("/about"), 3);
});

Deno.test("compilePattern() refuses what it cannot use, with where and what is expected", () => {
  const cases: [string, string][] = [
    ["", 'expected a path pattern starting with /, not ""'],
    ["blog/*", 'expected a path pattern starting with /, not "blog/*"'],
    [
      "https://example.com/*",
      'expected a path pattern starting with /, not "https://example.com/*"',
    ],
    ["/" + "a".repeat(1024), "expected a path pattern of at most 1024 characters"],
    ["/search?q=1", "expected a path pattern without ?; query parameters are conditions"],
    ["/page#top", "expected a path pattern without #"],
    ["/a b", "expected a path pattern without spaces or control characters"],
    ["/a\tb", "expected a path pattern without spaces or control characters"],
    ["/a\x00", "expected a path pattern without spaces or control characters"],
    ["/a\x7f", "expected a path pattern without spaces or control characters"],
    ["/a\u0085", "expected a path pattern without spaces or control characters"],
    ["/a//b", "expected a path pattern without empty segments (//)"],
    ["//", "expected a path pattern without empty segments (//)"],
    ["/*/a", "expected * only as the whole last segment, as in /blog/*"],
    ["/blog*", "expected * only as the whole last segment, as in /blog/*"],
    ["/a/*.html", "expected * only as the whole last segment, as in /blog/*"],
    [
      "/:",
      'expected a placeholder name of letters, digits and _ not starting with a digit, not ":"',
    ],
    [
      "/:1st",
      'expected a placeholder name of letters, digits and _ not starting with a digit, not ":1st"',
    ],
    [
      "/:a-b",
      'expected a placeholder name of letters, digits and _ not starting with a digit, not ":a-b"',
    ],
    ["/:splat", "expected another name than :splat, which * binds"],
    ["/:id/:id", "expected each placeholder once; :id appears twice"],
    ["/100%", "expected % only in escapes of UTF-8 such as %20 or %C3%A9"],
    ["/%zz", "expected % only in escapes of UTF-8 such as %20 or %C3%A9"],
    ["/%E9", "expected % only in escapes of UTF-8 such as %20 or %C3%A9"],
    ["/a/../b", "expected a path pattern without . or .. segments"],
    ["/./a", "expected a path pattern without . or .. segments"],
    ["/%2e%2e/a", "expected a path pattern without . or .. segments"],
  ];
  for (const [source, expected] of cases) {
    const error = assertThrows(() => compilePattern(source, "_redirects:4"), RuleError);
    assertEquals(error.message, `_redirects:4: ${expected}`, source);
  }
  assertEquals(compilePattern("/" + "a".repeat(1023), "t").source.length, 1024);
});

Deno.test("decodeSegment() decodes UTF-8 escapes and refuses invalid ones", () => {
  assertEquals(decodeSegment("plain"), "plain");
  assertEquals(decodeSegment("a%20b"), "a b");
  assertEquals(decodeSegment("a%2Fb"), "a/b");
  assertEquals(decodeSegment("%"), null);
  assertEquals(decodeSegment("%C3"), null);
  assertEquals(decodeSegment("%FF"), null);
});

Deno.test("fillTarget() fills :name and :splat tokens and leaves the rest", () => {
  const params = { id: "7", splat: "a/b", lang: "en" };
  const cases: [string, string][] = [
    ["/posts/:id", "/posts/7"],
    ["/posts/:id.html", "/posts/7.html"],
    ["/posts/:id/", "/posts/7/"],
    ["/:lang/:splat", "/en/a/b"],
    ["/posts/:identity", "/posts/:identity"],
    ["/posts/:unknown/:id", "/posts/:unknown/7"],
    ["/time/12:30", "/time/12:30"],
    ["/a:", "/a:"],
    ["/search?q=:id&l=:lang", "/search?q=7&l=en"],
    ["https://example.com:8080/:lang/:splat", "https://example.com:8080/en/a/b"],
    ["https://user:id@example.com/:id", "https://user:id@example.com/7"],
    ["https://example.com", "https://example.com"],
    ["/plain", "/plain"],
  ];
  for (const [to, expected] of cases) assertEquals(fillTarget(to, params), expected, to);
});

Deno.test("targetNames() lists the names a target uses, once each, not in a URL's host", () => {
  assertEquals(targetNames("/:a/:b/:a/:splat"), ["a", "b", "splat"]);
  assertEquals(targetNames("https://x.com:8080/:lang"), ["lang"]);
  assertEquals(targetNames("https://u:pw@x.com?id=:id"), ["id"]);
  assertEquals(targetNames("/time/12:30/:_x1"), ["_x1"]);
  assertEquals(targetNames("/plain"), []);
});

Deno.test("checkTarget() accepts paths and http(s) URLs whose names are bound", () => {
  for (
    const to of [
      "/",
      "/new/:id",
      "/new/:splat?from=:id#top",
      "https://example.com/:splat",
      "HTTP://example.com:8080",
      "/café",
    ]
  ) {
    checkTarget(to, ["id", "splat"], "t");
  }
});

Deno.test("checkTarget() refuses other targets and unbound names", () => {
  const cases: [string, string][] = [
    ["new", 'expected a target path starting with / or an http:// or https:// URL, not "new"'],
    [
      "//evil.example",
      'expected a target path starting with / or an http:// or https:// URL, not "//evil.example"',
    ],
    [
      "ftp://x.com/",
      'expected a target path starting with / or an http:// or https:// URL, not "ftp://x.com/"',
    ],
    ["", 'expected a target path starting with / or an http:// or https:// URL, not ""'],
    [
      "https:///path",
      'expected an http:// or https:// URL with an ASCII host, not "https:///path"',
    ],
    [
      "https://exämple.com/",
      'expected an http:// or https:// URL with an ASCII host, not "https://exämple.com/"',
    ],
    ["/a b", "expected a target without spaces, control characters or \\"],
    ["/\\evil.example", "expected a target without spaces, control characters or \\"],
    ["/a\ud800", "expected a target without spaces, control characters or \\"],
    ["/" + "a".repeat(2048), "expected a target of at most 2048 characters"],
    ["/new/:slug", ":slug in the target is not bound by the path or the query"],
    ["https://x.com/:splat", ":splat in the target is not bound by the path or the query"],
  ];
  for (const [to, expected] of cases) {
    const error = assertThrows(() => checkTarget(to, ["id"], "_redirects:9"), RuleError);
    assertEquals(error.message, `_redirects:9: ${expected}`, to);
  }
});

Deno.test("bindQuery() adds the names query conditions bind and refuses bad conditions", () => {
  assertEquals(bindQuery({ id: ":id", lang: "en", p: ":page" }, ["splat"], () => "t"), [
    "splat",
    "id",
    "page",
  ]);
  const NAME = "expected :name with letters, digits and _ not starting with a digit (not :splat)";
  const cases: [Record<string, string>, string][] = [
    [{ "": "x" }, "expected a parameter name without spaces, &, = or #"],
    [{ "a&b": "x" }, "expected a parameter name without spaces, &, = or #"],
    [{ "a b": "x" }, "expected a parameter name without spaces, &, = or #"],
    [{ a: "" }, "expected a non-empty value without spaces, & or #, or a :name"],
    [{ a: "x&y" }, "expected a non-empty value without spaces, & or #, or a :name"],
    [
      { a: ":" },
      `${NAME}, not ":"`,
    ],
    [
      { a: ":9" },
      `${NAME}, not ":9"`,
    ],
    [
      { a: ":splat" },
      `${NAME}, not ":splat"`,
    ],
    [{ a: ":id" }, "expected each :name once; :id is bound twice"],
    [{ a: ":x", b: ":x" }, "expected each :name once; :x is bound twice"],
  ];
  for (const [query, expected] of cases) {
    const error = refusal(() => bindQuery(query, ["id"], (key) => `rules[0].query.${key}`));
    assertEquals(error.expected, expected, JSON.stringify(query));
    assertEquals(error.where, `rules[0].query.${Object.keys(query).at(-1)}`);
  }
});

import { assert, assertEquals, assertThrows } from "../_deps.ts";
import { checkFieldName, checkFieldValue, parseHeadersFile } from "../../lib/site/headers_file.ts";
import { type HeaderRule, RuleError } from "../../lib/site/types.ts";

/** The RuleError `fn` throws. */
function refusal(fn: () => unknown): RuleError {
  const error = assertThrows(fn, RuleError);
  assert(error instanceof RuleError);
  return error;
}

function rule(
  line: number,
  path: string,
  set: Record<string, string>,
  remove: string[] = [],
): HeaderRule {
  return { path, set, add: {}, remove, origin: `_headers:${line}` };
}

const SITE = `# Security for every page
/*
  X-Frame-Options: DENY
  X-Content-Type-Options: nosniff
  Referrer-Policy: strict-origin-when-cross-origin
  Permissions-Policy: camera=(), microphone=()

# Fingerprinted files never change
/assets/*
  Cache-Control: public, max-age=31536000, immutable
  ! X-Robots-Tag

/fonts/*
\tAccess-Control-Allow-Origin: *
\tCache-Control: max-age=604800

/feed.xml
  Content-Type: application/rss+xml; charset=utf-8

/docs/:version/*
  Link: </docs/style.css>; rel=preload; as=style
  Link: </docs/app.js>; rel=preload; as=script
  X-Docs-Version: generated

/drafts/*
  # private, and not to be indexed
  X-Robots-Tag: noindex
  Cache-Control:
  !Server

/empty-block

/café/*
  Content-Language:   fr   
`;

Deno.test("parseHeadersFile() reads a realistic file in order", () => {
  assertEquals(parseHeadersFile(SITE), [
    rule(2, "/*", {
      "x-frame-options": "DENY",
      "x-content-type-options": "nosniff",
      "referrer-policy": "strict-origin-when-cross-origin",
      "permissions-policy": "camera=(), microphone=()",
    }),
    rule(9, "/assets/*", { "cache-control": "public, max-age=31536000, immutable" }, [
      "x-robots-tag",
    ]),
    rule(13, "/fonts/*", {
      "access-control-allow-origin": "*",
      "cache-control": "max-age=604800",
    }),
    rule(17, "/feed.xml", { "content-type": "application/rss+xml; charset=utf-8" }),
    rule(20, "/docs/:version/*", {
      link: "</docs/style.css>; rel=preload; as=style, </docs/app.js>; rel=preload; as=script",
      "x-docs-version": "generated",
    }),
    rule(25, "/drafts/*", { "x-robots-tag": "noindex", "cache-control": "" }, ["server"]),
    rule(33, "/café/*", { "content-language": "fr" }),
  ]);
});

Deno.test("parseHeadersFile() names the file and reads CRLF, a BOM and repeated paths", () => {
  const text = "\uFEFF/a\r\n  X-A: 1\r\n/a\r\n  X-A: 2\r\n  ! X-B\r\n  ! x-b\r\n";
  assertEquals(parseHeadersFile(text, "dist/_headers"), [
    { path: "/a", set: { "x-a": "1" }, add: {}, remove: [], origin: "dist/_headers:1" },
    { path: "/a", set: { "x-a": "2" }, add: {}, remove: ["x-b"], origin: "dist/_headers:3" },
  ]);
  assertEquals(parseHeadersFile(""), []);
  assertEquals(parseHeadersFile("# only a comment\n/lonely\n\n"), []);
});

Deno.test("parseHeadersFile() refuses every line it cannot use, with its line", () => {
  const cases: [string, string][] = [
    ["  X-A: 1", "expected a path such as /* before the first field"],
    ["/a\n  X-A 1", 'expected Name: value or ! Name, not "X-A 1"'],
    [
      "/a\n  X A: 1",
      "expected a field name of letters, digits and !#$%&'*+-.^_`|~ such as X-Frame-Options, " +
      'not "X A"',
    ],
    [
      "/a\n  X-A : 1",
      "expected a field name of letters, digits and !#$%&'*+-.^_`|~ such as X-Frame-Options, " +
      'not "X-A "',
    ],
    [
      "/a\n  : 1",
      "expected a field name of letters, digits and !#$%&'*+-.^_`|~ such as X-Frame-Options, " +
      'not ""',
    ],
    [
      "/a\n  !",
      "expected a field name of letters, digits and !#$%&'*+-.^_`|~ such as X-Frame-Options, " +
      'not ""',
    ],
    [
      "/a\n  Ünicode: 1",
      "expected a field name of letters, digits and !#$%&'*+-.^_`|~ such as X-Frame-Options, " +
      'not "Ünicode"',
    ],
    [
      "/a\n  X-A: one\x00two",
      "expected a field value without control characters or characters above U+00FF",
    ],
    [
      "/a\n  X-A: \u2603",
      "expected a field value without control characters or characters above U+00FF",
    ],
    [
      "/a\n  Content-Length: 5",
      "expected another field than content-length, which the server sets",
    ],
    [
      "/a\n  ! Transfer-Encoding",
      "expected another field than transfer-encoding, which the server sets",
    ],
    [
      "/a\n  Set-Cookie: a=1\n  Set-Cookie: b=2",
      "expected Set-Cookie once under a path; cookies cannot be joined",
    ],
    ["blog/*", 'expected a path pattern starting with /, not "blog/*"'],
    ["/a b", "expected a path pattern without spaces or control characters"],
    [
      "https://example.com/*",
      'expected a path pattern starting with /, not "https://example.com/*"',
    ],
  ];
  for (const [block, expected] of cases) {
    const error = refusal(() => parseHeadersFile(`# head\n${block}\n/ok\n  X-Ok: 1\n`));
    const line = 1 + block.split("\n").length;
    assertEquals(error.message, `_headers:${line}: ${expected}`, block);
  }
});

Deno.test("checkFieldName() lower-cases tokens; checkFieldValue() allows tab and Latin-1", () => {
  assertEquals(checkFieldName("X-Frame-Options", "t"), "x-frame-options");
  assertEquals(checkFieldName("!#$%&'*+-.^_`|~09", "t"), "!#$%&'*+-.^_`|~09");
  checkFieldValue("a\tb ÿ", "t");
  checkFieldValue("", "t");
  for (const name of ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"]) {
    assertThrows(() => checkFieldName(name, "t"), RuleError, "which the server sets");
  }
  assertThrows(() => checkFieldValue("a\rb", "t"), RuleError);
  assertThrows(() => checkFieldValue("a\nb", "t"), RuleError);
  assertThrows(() => checkFieldValue("\x7f", "t"), RuleError);
});

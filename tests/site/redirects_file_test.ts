import { assert, assertEquals, assertThrows } from "../_deps.ts";
import {
  MAX_REDIRECTS_LINE_BYTES,
  parseRedirectsFile,
  REDIRECTS_UNSUPPORTED,
} from "../../lib/site/redirects_file.ts";
import { type RouteRule, RuleError } from "../../lib/site/types.ts";

/** The RuleError `fn` throws. */
function refusal(fn: () => unknown): RuleError {
  const error = assertThrows(fn, RuleError);
  assert(error instanceof RuleError);
  return error;
}

function rule(
  line: number,
  fields: Partial<RouteRule> & Pick<RouteRule, "path" | "to">,
): RouteRule {
  return { query: {}, status: 301, force: false, origin: `_redirects:${line}`, ...fields };
}

const SITE = `# Redirects for the shop, moved from the old host
/home              /
/blog/*            /news/:splat
/articles/:year/:slug   /news/:year/:slug   302

# Query parameters pick the product
/store id=:id      /products/:id        301
/store  ref=mail  id=:id   /products/:id?from=mail  308
/catalog page=2    /catalog/2           307

# Rewrites: the single-page app and a not-found page
/app/*             /app/index.html      200
/docs/*            /docs/404.html       404
/legacy            /legacy.html         200!
/assets/v1/*       /assets/:splat       301!  # old fingerprints

# Elsewhere
/twitter           https://twitter.example/shop   302
/chat/:room        https://chat.example/r/:room?via=site   303
\t/tabs\t\t/tab-separated\t302
/café              /cafe                 301

/us/*              /en-us/:splat        302  Country=us
/shop/*            https://shop.example/:splat  200
/gone              /                    410
/beta/*            /beta-home           302  Role=tester Cookie=beta
http://old.example/*   https://new.example/:splat   301!
/fr/*              /fr-fr/:splat        302  Language=fr
`;

Deno.test("parseRedirectsFile() reads a realistic file in order", () => {
  const { routes, unsupported } = parseRedirectsFile(SITE);
  assertEquals(routes, [
    rule(2, { path: "/home", to: "/" }),
    rule(3, { path: "/blog/*", to: "/news/:splat" }),
    rule(4, { path: "/articles/:year/:slug", to: "/news/:year/:slug", status: 302 }),
    rule(7, { path: "/store", query: { id: ":id" }, to: "/products/:id" }),
    rule(8, {
      path: "/store",
      query: { ref: "mail", id: ":id" },
      to: "/products/:id?from=mail",
      status: 308,
    }),
    rule(9, { path: "/catalog", query: { page: "2" }, to: "/catalog/2", status: 307 }),
    rule(12, { path: "/app/*", to: "/app/index.html", status: 200 }),
    rule(13, { path: "/docs/*", to: "/docs/404.html", status: 404 }),
    rule(14, { path: "/legacy", to: "/legacy.html", status: 200, force: true }),
    rule(15, { path: "/assets/v1/*", to: "/assets/:splat", force: true }),
    rule(18, { path: "/twitter", to: "https://twitter.example/shop", status: 302 }),
    rule(19, { path: "/chat/:room", to: "https://chat.example/r/:room?via=site", status: 303 }),
    rule(20, { path: "/tabs", to: "/tab-separated", status: 302 }),
    rule(21, { path: "/café", to: "/cafe" }),
  ]);
  assertEquals(unsupported, [
    "_redirects:23: Country= conditions are not supported; the rule is skipped",
    "_redirects:24: rewrites to another site (proxying) are not supported; the rule is skipped",
    "_redirects:25: status 410 is not supported; the rule is skipped",
    "_redirects:26: Role= conditions are not supported; the rule is skipped",
    "_redirects:27: rules for a whole host (a full URL as the path) are not supported; " +
    "the rule is skipped",
    "_redirects:28: Language= conditions are not supported; the rule is skipped",
  ]);
});

Deno.test("parseRedirectsFile() names the file; ignores CRLF, a BOM, blank lines, comments", () => {
  const text =
    "\uFEFF# comment\r\n\r\n   # indented comment\r\n/a /b 302 # why\r\n \t \r\n/c /d#top\r\n";
  const { routes, unsupported } = parseRedirectsFile(text, "public/_redirects");
  assertEquals(routes, [
    { ...rule(4, { path: "/a", to: "/b", status: 302 }), origin: "public/_redirects:4" },
    { ...rule(6, { path: "/c", to: "/d#top" }), origin: "public/_redirects:6" },
  ]);
  assertEquals(unsupported, []);
  assertEquals(parseRedirectsFile(""), { routes: [], unsupported: [] });
});

Deno.test("parseRedirectsFile() accepts every status it serves, with and without !", () => {
  for (const status of [200, 301, 302, 303, 307, 308, 404]) {
    for (const bang of ["", "!"]) {
      const { routes } = parseRedirectsFile(`/a /b ${status}${bang}`);
      assertEquals([routes[0].status, routes[0].force], [status, bang === "!"]);
    }
  }
});

Deno.test("parseRedirectsFile() skips statuses HTTP defines that it does not serve", () => {
  for (const status of [100, 204, 304, 403, 410, 451, 500, 503]) {
    assertEquals(parseRedirectsFile(`/a /b ${status}!`), {
      routes: [],
      unsupported: [`_redirects:1: status ${status} is not supported; the rule is skipped`],
    });
  }
});

Deno.test("parseRedirectsFile() gives one message per skipped line, the first reason", () => {
  const { unsupported } = parseRedirectsFile("/a https://x.example/ 200 Country=de Language=de\n");
  assertEquals(unsupported, [
    "_redirects:1: Country= conditions are not supported; the rule is skipped",
  ]);
  assertEquals(
    parseRedirectsFile("/a /b 302 country=de").unsupported,
    ["_redirects:1: Country= conditions are not supported; the rule is skipped"],
  );
});

Deno.test("parseRedirectsFile() refuses every rule it cannot use, with its line", () => {
  const STATUSES = "expected 200, 301, 302, 303, 307, 308 or 404";
  const TARGET = "expected a target path starting with / or an http:// or https:// URL";
  const CONDITIONS =
    "expected only Country=, Language=, Role= or Cookie= conditions after the status";
  const cases: [string, string][] = [
    ["/lonely", "expected a target path or URL after the path"],
    ["/store id=:id", "expected a target path or URL after the path"],
    [
      "/a new-page",
      `${TARGET}, not "new-page"`,
    ],
    ["/a 301", `${TARGET}, not "301"`],
    [
      "/a //evil.example",
      `${TARGET}, not "//evil.example"`,
    ],
    [
      "/a ftp://files.example/",
      `${TARGET}, not "ftp://files.example/"`,
    ],
    ["/a /b moved", `${STATUSES}, not "moved"`],
    ["/a /b 999", `${STATUSES}, not "999"`],
    ["/a /b 30", `${STATUSES}, not "30"`],
    ["/a /b 299", `${STATUSES}, not "299"`],
    ["/a /b 600", `${STATUSES}, not "600"`],
    ["/a /b 3010", `${STATUSES}, not "3010"`],
    ["/a /b !", `${STATUSES}, not "!"`],
    ["/a /b 301!!", `${STATUSES}, not "301!!"`],
    [
      "/a /b 301 extra",
      `${CONDITIONS}, not "extra"`,
    ],
    [
      "/a /b 301 Colour=red",
      `${CONDITIONS}, not "Colour=red"`,
    ],
    [
      "/a /b 301 constructor=x",
      `${CONDITIONS}, not "constructor=x"`,
    ],
    [
      "/a /b 410 extra",
      `${CONDITIONS}, not "extra"`,
    ],
    ["/a?x=1 /b", "expected a path pattern without ?; query parameters are conditions"],
    ["blog /b", 'expected a path pattern starting with /, not "blog"'],
    ["/a/*/b /b", "expected * only as the whole last segment, as in /blog/*"],
    ["/posts/:id /p/:slug", ":slug in the target is not bound by the path or the query"],
    ["/posts/* /p/:id", ":id in the target is not bound by the path or the query"],
    [
      "/shop/* https://shop.example/:id 200",
      ":id in the target is not bound by the path or the query",
    ],
    ["/store =5 /b", 'expected a query condition key=value, not "=5"'],
    ["/store id=1 id=2 /b", 'expected each query parameter once; "id" appears twice'],
    ["/store id= /b", "expected a non-empty value without spaces, & or #, or a :name"],
    ["/store/:id id=:id /b", "expected each :name once; :id is bound twice"],
    ["/a /b\\c", "expected a target without spaces, control characters or \\"],
  ];
  for (const [line, expected] of cases) {
    const error = refusal(() => parseRedirectsFile(`# first\n\n${line}\n/ok /fine\n`));
    assertEquals(error.message, `_redirects:3: ${expected}`, line);
  }
});

Deno.test("parseRedirectsFile() refuses lines longer than 2048 bytes, counting UTF-8", () => {
  const fits = `/a /${"b".repeat(MAX_REDIRECTS_LINE_BYTES - 4)}`;
  assertEquals(parseRedirectsFile(fits).routes.length, 1);
  const long = `/a /${"é".repeat(1023)}`; // 2050 bytes of UTF-8 in 1027 characters
  assertEquals(
    refusal(() => parseRedirectsFile(`\n${long}`)).message,
    "_redirects:2: expected a line of at most 2048 bytes",
  );
});

Deno.test("REDIRECTS_UNSUPPORTED lists what is skipped", () => {
  const text = REDIRECTS_UNSUPPORTED.join("\n");
  for (const word of ["Country=", "Language=", "Role=", "Cookie=", "proxying", "410", "full URL"]) {
    assert(text.includes(word), word);
  }
});

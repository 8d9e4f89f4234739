import { assertEquals } from "../_deps.ts";
import { parseHeadersFile } from "../../lib/site/headers_file.ts";
import { parseRedirectsFile } from "../../lib/site/redirects_file.ts";
import { compileRules, type RouteMatch, type RuleTable } from "../../lib/site/rule_table.ts";
import { rulesFromJson } from "../../lib/site/rules_json.ts";
import type { HeaderRule, RouteRule } from "../../lib/site/types.ts";

function routes(text: string): RuleTable {
  return compileRules({ headers: [], routes: parseRedirectsFile(text).routes });
}

/** The route's answer without the rule, for short expectations. */
function answer(table: RuleTable, pathname: string, search = "", forced = false) {
  const match = table.route(pathname, search, forced);
  if (match === null) return null;
  const { rule: _, ...rest } = match;
  return rest;
}

/** A redirect's location, or null for a rewrite or no match. */
function location(table: RuleTable, pathname: string, search = "", forced = false) {
  const match = table.route(pathname, search, forced);
  return match?.kind === "redirect" ? match.location : null;
}

Deno.test("compileRules() of no rules is empty and touches nothing", () => {
  const table = compileRules({ headers: [], routes: [] });
  assertEquals(table.empty, true);
  assertEquals(table.touches("/"), false);
  assertEquals(table.touches("/anything"), false);
  assertEquals(table.route("/x", "", false), null);
  const fields = new Headers({ a: "1" });
  table.applyHeaders("/x", fields);
  assertEquals([...fields], [["a", "1"]]);
});

Deno.test("RuleTable.route() redirects with placeholders and keeps or replaces the query", () => {
  const table = routes(`
/old/*                  /new/:splat
/posts/:year/:slug      /blog/:year/:slug.html   302
/search                 /find?engine=site        307
/jump                   /page#section            308
/go/:place              https://maps.example/:place   303
`);
  assertEquals(table.empty, false);
  assertEquals(answer(table, "/old/a/b", "?x=1"), {
    kind: "redirect",
    status: 301,
    location: "/new/a/b?x=1",
  });
  assertEquals(answer(table, "/old"), { kind: "redirect", status: 301, location: "/new/" });
  assertEquals(answer(table, "/posts/2024/hello"), {
    kind: "redirect",
    status: 302,
    location: "/blog/2024/hello.html",
  });
  assertEquals(answer(table, "/search", "?q=deno"), {
    kind: "redirect",
    status: 307,
    location: "/find?engine=site",
  });
  assertEquals(answer(table, "/jump", "?a=1"), {
    kind: "redirect",
    status: 308,
    location: "/page?a=1#section",
  });
  assertEquals(answer(table, "/go/caf%C3%A9", "?z=9"), {
    kind: "redirect",
    status: 303,
    location: "https://maps.example/caf%C3%A9?z=9",
  });
  assertEquals(answer(table, "/elsewhere"), null);
});

Deno.test("RuleTable.route() binds placeholders from query conditions and drops the query", () => {
  const table = routes(`
/store  id=:id  lang=en   /en/products/:id
/store  id=:id            /products/:id       301
/store  id=:id            /unreachable/:id    302
/store                    /shop               302
/s/:term                  /find?q=:term       302
`);
  assertEquals(answer(table, "/store", "?lang=en&id=42"), {
    kind: "redirect",
    status: 301,
    location: "/en/products/42",
  });
  assertEquals(answer(table, "/store", "?id=42&lang=fr&x=1"), {
    kind: "redirect",
    status: 301,
    location: "/products/42",
  });
  // The first of a repeated parameter counts; an empty value binds nothing; names are
  // case-sensitive; a rule without conditions keeps the query.
  assertEquals(answer(table, "/store", "?id=7&id=8")?.kind, "redirect");
  assertEquals(table.route("/store", "?id=7&id=8", false)?.rule.origin, "_redirects:3");
  assertEquals(answer(table, "/store", "?id="), {
    kind: "redirect",
    status: 302,
    location: "/shop?id=",
  });
  assertEquals(answer(table, "/store", "?ID=1"), {
    kind: "redirect",
    status: 302,
    location: "/shop?ID=1",
  });
  assertEquals(answer(table, "/store", "?l%61ng=en&id=5")?.kind, "redirect");
  assertEquals(table.route("/store", "?l%61ng=en&id=5", false)?.rule.origin, "_redirects:2");
  assertEquals(answer(table, "/store"), { kind: "redirect", status: 302, location: "/shop" });
  // A bound value cannot end the target's query or start another parameter.
  assertEquals(answer(table, "/s/a&b=c#d"), {
    kind: "redirect",
    status: 302,
    location: "/find?q=a%26b=c%23d",
  });
});

Deno.test("RuleTable.route() compares exact query values after decoding", () => {
  const table = routes("/p  q=a+b  /spaced  302\n/p  q=café  /accent  302\n");
  for (const search of ["?q=a+b", "?q=a%20b", "?q=a b"]) {
    assertEquals(location(table, "/p", search), "/spaced", search);
  }
  assertEquals(location(table, "/p", "?q=caf%C3%A9"), "/accent");
  assertEquals(answer(table, "/p", "?q=caf%E9"), null);
  assertEquals(answer(table, "/p", "?q=ab"), null);
});

Deno.test("RuleTable.route() answers forced and unforced rules separately, in order", () => {
  const table = routes(`
/a   /forced-a    302!
/a   /plain-a     302
/b   /plain-b     302
/b   /forced-b    302!
`);
  assertEquals(location(table, "/a", "", true), "/forced-a");
  assertEquals(location(table, "/a", "", false), "/plain-a");
  assertEquals(location(table, "/b", "", true), "/forced-b");
  assertEquals(location(table, "/b", "", false), "/plain-b");
  assertEquals(answer(table, "/c", "", true), null);
});

Deno.test("RuleTable.route() rewrites with 200 and 404, keeping or replacing the query", () => {
  const table = routes(`
/app/*            /app/index.html       200
/docs/:page       /docs/pages/:page.html?v=2   200!
/help/*           /help/missing.html#x  404
/caf%C3%A9        /menü.html            200
`);
  assertEquals(answer(table, "/app/settings/profile", "?tab=2"), {
    kind: "rewrite",
    status: 200,
    path: "/app/index.html",
    search: "?tab=2",
  });
  assertEquals(answer(table, "/app"), {
    kind: "rewrite",
    status: 200,
    path: "/app/index.html",
    search: "",
  });
  assertEquals(answer(table, "/docs/intro", "?x=1", true), {
    kind: "rewrite",
    status: 200,
    path: "/docs/pages/intro.html",
    search: "?v=2",
  });
  assertEquals(answer(table, "/docs/intro", "?x=1", false), null);
  assertEquals(answer(table, "/help/a", "?q=1"), {
    kind: "rewrite",
    status: 404,
    path: "/help/missing.html",
    search: "?q=1",
  });
  assertEquals(answer(table, "/café"), {
    kind: "rewrite",
    status: 200,
    path: "/men%C3%BC.html",
    search: "",
  });
  const rule = table.route("/app/x", "", false)?.rule;
  assertEquals([rule?.origin, rule?.to], ["_redirects:2", "/app/index.html"]);
});

Deno.test("RuleTable.route() never makes a target that leaves the site", () => {
  const table = routes(`
/r/*      /:splat        302
/p/:x     /to/:x         302
/q  u=:u  /:u            302
`);
  // A splat that starts with "/" would otherwise give "//evil.example/".
  assertEquals(location(table, "/r//evil.example/", ""), "/evil.example/");
  assertEquals(location(table, "/r/%2Fevil.example"), "/%2Fevil.example");
  // Query values are raw text: "?", "#" and "\\" are escaped in a path.
  assertEquals(location(table, "/q", "?u=/evil.example"), "/evil.example");
  assertEquals(location(table, "/q", "?u=\\evil.example"), "/%5Cevil.example");
  assertEquals(location(table, "/q", "?u=a?b"), "/a%3Fb");
});

Deno.test("RuleTable.applyHeaders() sets, appends and removes, rule by rule in order", () => {
  const table = compileRules({
    headers: [
      ...parseHeadersFile(`
/*
  X-Frame-Options: DENY
  Cache-Control: no-cache
/assets/*
  Cache-Control: max-age=31536000, immutable
  ! X-Powered-By
`),
      ...rulesFromJson([
        { path: "/assets/:file", headers: { add: { Vary: "Accept", Link: "</a>" } } },
        { path: "/assets/private.js", headers: { remove: ["Cache-Control"] } },
      ], "portico.json: rules").headers,
    ],
    routes: [],
  });
  const apply = (pathname: string) => {
    const fields = new Headers({ "x-powered-by": "app", vary: "Accept-Encoding" });
    table.applyHeaders(pathname, fields);
    return Object.fromEntries(fields);
  };
  assertEquals(apply("/index.html"), {
    "cache-control": "no-cache",
    vary: "Accept-Encoding",
    "x-frame-options": "DENY",
    "x-powered-by": "app",
  });
  assertEquals(apply("/assets/app.js"), {
    "cache-control": "max-age=31536000, immutable",
    link: "</a>",
    vary: "Accept-Encoding, Accept",
    "x-frame-options": "DENY",
  });
  assertEquals(apply("/assets/private.js"), {
    link: "</a>",
    vary: "Accept-Encoding, Accept",
    "x-frame-options": "DENY",
  });
  assertEquals(apply("/assets/deep/file.js")["link"], undefined);
});

Deno.test("RuleTable.applyHeaders() removes before it sets within one rule", () => {
  const rule: HeaderRule = {
    path: "/x",
    set: { "x-a": "new" },
    add: { "x-b": "more" },
    remove: ["x-a", "x-b"],
    origin: "test",
  };
  const fields = new Headers({ "x-a": "old", "x-b": "old" });
  compileRules({ headers: [rule], routes: [] }).applyHeaders("/x/", fields);
  assertEquals(Object.fromEntries(fields), { "x-a": "new", "x-b": "more" });
});

Deno.test("RuleTable.touches() is true only where a rule's first segment allows", () => {
  const table = compileRules({
    headers: parseHeadersFile("/assets/*\n  X-A: 1\n/\n  X-Home: 1\n"),
    routes: parseRedirectsFile("/blog/:slug /posts/:slug\n/caf%C3%A9 /cafe\n").routes,
  });
  const cases: [string, boolean][] = [
    ["/assets/app.js", true],
    ["/assets", true],
    ["/blog/x", true],
    ["/blog", true], // the first segment alone decides; matching is route()'s job
    ["/%62log/x", true],
    ["/caf%C3%A9", true],
    ["/café", true],
    ["/", true],
    ["/index.html", false],
    ["/blogs/x", false],
    ["/Assets/app.js", false],
    ["/%zz/x", false],
    ["/x/assets", false],
  ];
  for (const [pathname, expected] of cases) {
    assertEquals(table.touches(pathname), expected, pathname);
  }
  const dynamic = routes("/:lang/about /about\n");
  assertEquals([dynamic.touches("/en/about"), dynamic.touches("/anything")], [true, true]);
  assertEquals(routes("/* /index.html 200\n").touches("/x/y"), true);
});

Deno.test("compileRules() takes rules from every source without throwing", () => {
  const all: RouteRule[] = [
    ...rulesFromJson([{ path: "/j/:id", redirect: "/k/:id", query: { v: ":v" } }], "rules").routes,
    ...parseRedirectsFile("/r/* https://x.example/:splat 302!\n/s/* /t/:splat 404\n").routes,
  ];
  const table = compileRules({ headers: [], routes: all });
  const match: RouteMatch | null = table.route("/j/1", "?v=2", false);
  assertEquals(match?.kind === "redirect" ? match.location : null, "/k/1");
  assertEquals(location(table, "/r/a", "", true), "https://x.example/a");
});

import { assert, assertEquals, assertThrows } from "../_deps.ts";
import {
  CORS_SCHEMA,
  corsFromJson,
  type CorsPolicy,
  corsPolicy,
  type MatchedCorsRule,
} from "../../lib/site/cors.ts";
import { type CorsRule, RuleError } from "../../lib/site/types.ts";

const WHERE = "portico.json: cors";
const APP = "https://app.example.com";
const OTHER = "https://evil.example.net";

/** A rule for `path` with the defaults, and `fields` on top. */
function rule(fields: Readonly<Record<string, unknown>>): CorsRule {
  return corsFromJson([{ path: "/api/*", origins: [APP], ...fields }], WHERE)[0];
}

/** A matcher for `/prefix/*` patterns and exact paths, enough for these tests. */
function matched(cors: CorsRule): MatchedCorsRule {
  const prefix = cors.path.endsWith("/*") ? cors.path.slice(0, -1) : null;
  return {
    rule: cors,
    matches: (pathname) => prefix === null ? pathname === cors.path : pathname.startsWith(prefix),
  };
}

function policyOf(...rules: CorsRule[]): CorsPolicy {
  return corsPolicy(rules.map(matched));
}

function preflightRequest(fields: Readonly<Record<string, string>>, method = "OPTIONS"): Request {
  return new Request("http://localhost/api/items", { method, headers: fields });
}

/** The response fields, sorted by name, as plain pairs. */
function fieldsOf(headers: Headers): [string, string][] {
  return [...headers];
}

Deno.test("corsFromJson() fills in the defaults and normalises origins, methods and names", () => {
  const rules = corsFromJson([
    { path: "/api/*", origins: ["HTTPS://App.Example.COM:443", "http://localhost:8080"] },
    {
      path: "/open",
      origins: "*",
      methods: ["put", "DELETE", "put"],
      headers: "*",
      expose: ["X-Total", "ETag"],
      maxAge: 0,
    },
    {
      path: "/auth",
      origins: ["http://a.example:80"],
      headers: ["Content-Type"],
      credentials: true,
    },
  ], WHERE);
  assertEquals(rules, [
    {
      path: "/api/*",
      origins: [APP, "http://localhost:8080"],
      methods: ["GET", "HEAD", "POST"],
      headers: [],
      expose: [],
      credentials: false,
      maxAge: null,
      origin: `${WHERE}[0]`,
    },
    {
      path: "/open",
      origins: "*",
      methods: ["PUT", "DELETE"],
      headers: "*",
      expose: ["x-total", "etag"],
      credentials: false,
      maxAge: 0,
      origin: `${WHERE}[1]`,
    },
    {
      path: "/auth",
      origins: ["http://a.example"],
      methods: ["GET", "HEAD", "POST"],
      headers: ["content-type"],
      expose: [],
      credentials: true,
      maxAge: null,
      origin: `${WHERE}[2]`,
    },
  ]);
  assertEquals(corsFromJson([], WHERE), []);
  assertEquals(rule({ maxAge: null, origins: ["Tauri://LocalHost:1420"] }).origins, [
    "tauri://localhost:1420",
  ]);
  assertEquals(rule({ origins: ["http://[::1]:3000"] }).origins, ["http://[::1]:3000"]);
});

const ORIGIN_MESSAGE =
  "expected an origin such as https://example.com (scheme, host and optional port, no path)";
const HEADER_MESSAGE = "expected a field name such as content-type (an HTTP token)";

/** Values that are refused, with the full message of each. */
const REFUSED: readonly (readonly [value: unknown, message: string])[] = [
  [[null], `${WHERE}[0]: expected an object with "path" and "origins"`],
  [
    [{ path: "/api/*", origins: "*" }, null],
    `${WHERE}[1]: expected an object with "path" and "origins"`,
  ],
  [["/api/*"], `${WHERE}[0]: expected an object with "path" and "origins"`],
  [[[]], `${WHERE}[0]: expected an object with "path" and "origins"`],
  [
    [{ path: "/a", origins: "*", method: ["GET"] }],
    `${WHERE}[0].method: unknown field; expected one of path, origins, methods, headers, expose, ` +
    "credentials, maxAge",
  ],
  [
    [{ path: "/a", origins: "*", "max-age": 5 }],
    `${WHERE}[0]["max-age"]: unknown field; expected one of path, origins, methods, headers, ` +
    "expose, credentials, maxAge",
  ],
  [[{ origins: "*" }], `${WHERE}[0].path: expected a path pattern starting with "/"`],
  [
    [{ path: "api/*", origins: "*" }],
    `${WHERE}[0].path: expected a path pattern starting with "/"`,
  ],
  [[{ path: 3, origins: "*" }], `${WHERE}[0].path: expected a path pattern starting with "/"`],
  [[{ path: "/a" }], `${WHERE}[0].origins: expected a list of origins or "*"`],
  [[{ path: "/a", origins: APP }], `${WHERE}[0].origins: expected a list of origins or "*"`],
  [[{ path: "/a", origins: ["*"] }], `${WHERE}[0].origins[0]: ${ORIGIN_MESSAGE}`],
  [
    [{ path: "/a", origins: [] }],
    `${WHERE}[0].origins: expected at least one origin, or "*" for any`,
  ],
  [[{ path: "/a", origins: [APP, `${APP}/`] }], `${WHERE}[0].origins[1]: ${ORIGIN_MESSAGE}`],
  [[{ path: "/a", origins: [`${APP}/app`] }], `${WHERE}[0].origins[0]: ${ORIGIN_MESSAGE}`],
  [[{ path: "/a", origins: [`${APP}?x=1`] }], `${WHERE}[0].origins[0]: ${ORIGIN_MESSAGE}`],
  [[{ path: "/a", origins: [`${APP}#top`] }], `${WHERE}[0].origins[0]: ${ORIGIN_MESSAGE}`],
  [
    [{ path: "/a", origins: ["https://user@app.example.com"] }],
    `${WHERE}[0].origins[0]: ${ORIGIN_MESSAGE}`,
  ],
  [[{ path: "/a", origins: ["app.example.com"] }], `${WHERE}[0].origins[0]: ${ORIGIN_MESSAGE}`],
  [[{ path: "/a", origins: ["null"] }], `${WHERE}[0].origins[0]: ${ORIGIN_MESSAGE}`],
  [
    [{ path: "/a", origins: ["https://exa mple.com"] }],
    `${WHERE}[0].origins[0]: ${ORIGIN_MESSAGE}`,
  ],
  [
    [{ path: "/a", origins: ["https://app.example.com:99999"] }],
    `${WHERE}[0].origins[0]: ${ORIGIN_MESSAGE}`,
  ],
  [[{ path: "/a", origins: [42] }], `${WHERE}[0].origins[0]: ${ORIGIN_MESSAGE}`],
  [
    [{ path: "/a", origins: "*", methods: "GET" }],
    `${WHERE}[0].methods: expected a list of methods such as ["GET", "POST"]`,
  ],
  [
    [{ path: "/a", origins: "*", methods: [] }],
    `${WHERE}[0].methods: expected at least one method`,
  ],
  [
    [{ path: "/a", origins: "*", methods: ["GET", "GET POST"] }],
    `${WHERE}[0].methods[1]: expected a method such as GET or PUT (an HTTP token)`,
  ],
  [
    [{ path: "/a", origins: "*", methods: ["*"] }],
    `${WHERE}[0].methods[0]: expected a method such as GET or PUT (an HTTP token)`,
  ],
  [
    [{ path: "/a", origins: "*", headers: "content-type" }],
    `${WHERE}[0].headers: expected a list of request field names or "*"`,
  ],
  [
    [{ path: "/a", origins: "*", headers: ["x-a", "x:b"] }],
    `${WHERE}[0].headers[1]: ${HEADER_MESSAGE}`,
  ],
  [[{ path: "/a", origins: "*", headers: ["*"] }], `${WHERE}[0].headers[0]: ${HEADER_MESSAGE}`],
  [[{ path: "/a", origins: "*", headers: [""] }], `${WHERE}[0].headers[0]: ${HEADER_MESSAGE}`],
  [
    [{ path: "/a", origins: "*", expose: "x-total" }],
    `${WHERE}[0].expose: expected a list of response field names`,
  ],
  [[{ path: "/a", origins: "*", expose: ["x total"] }], `${WHERE}[0].expose[0]: ${HEADER_MESSAGE}`],
  [
    [{ path: "/a", origins: "*", credentials: "yes" }],
    `${WHERE}[0].credentials: expected true or false`,
  ],
  [
    [{ path: "/a", origins: "*", credentials: true }],
    `${WHERE}[0].credentials: cannot be true when origins is "*" (browsers refuse it); list the ` +
    "origins",
  ],
  ...[-1, 86401, 1.5, "600", true].map((maxAge) =>
    [
      [{ path: "/a", origins: "*", maxAge }],
      `${WHERE}[0].maxAge: expected a whole number of seconds from 0 to 86400, or null`,
    ] as const
  ),
];

Deno.test("corsFromJson() refuses every unusable value, naming its JSON path", () => {
  for (const [value, message] of REFUSED) {
    const error = assertThrows(() => corsFromJson(value, WHERE), RuleError);
    assertEquals(error.message, message, JSON.stringify(value));
  }
  const notList = assertThrows(() => corsFromJson({ path: "/a", origins: "*" }, WHERE), RuleError);
  assertEquals(notList.message.startsWith(`${WHERE}: expected an array of CORS rules`), true);
});

Deno.test("CORS_SCHEMA describes exactly the fields corsFromJson() accepts, with its defaults", () => {
  const items = CORS_SCHEMA.items as {
    properties: Record<string, { description: string; default?: unknown }>;
    required: string[];
    additionalProperties: boolean;
  };
  assertEquals(CORS_SCHEMA.$schema, "https://json-schema.org/draft/2020-12/schema");
  assertEquals(CORS_SCHEMA.type, "array");
  assertEquals(items.additionalProperties, false);
  assertEquals(items.required, ["path", "origins"]);
  const full = { path: "/a", origins: [APP] };
  const defaults = corsFromJson([full], WHERE)[0] as unknown as Record<string, unknown>;
  for (const [name, property] of Object.entries(items.properties)) {
    assert(property.description.length > 0, name);
    if ("default" in property) assertEquals(property.default, defaults[name], name);
    // Every documented field is accepted by the parser.
    corsFromJson([{ ...full, [name]: defaults[name] ?? full[name as keyof typeof full] }], WHERE);
  }
  assertEquals(
    Object.keys(items.properties).sort(),
    Object.keys(defaults).filter((key) => key !== "origin").sort(),
  );
});

Deno.test('corsPolicy() refuses a hand-made rule with origins "*" and credentials', () => {
  const open = rule({ origins: "*" });
  const error = assertThrows(() => policyOf({ ...open, credentials: true }), RuleError);
  assertEquals(
    error.message,
    `${WHERE}[0].credentials: cannot be true when origins is "*" (browsers refuse it); list the ` +
      "origins",
  );
});

const PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/** Preflight cases: the rule's fields, the request's fields, the answer's fields. */
const PREFLIGHTS: readonly (readonly [
  name: string,
  fields: Readonly<Record<string, unknown>>,
  request: Readonly<Record<string, string>>,
  answer: readonly [string, string][],
])[] = [
  [
    "allowed origin",
    { headers: ["content-type", "x-api-key"] },
    {
      origin: APP,
      "access-control-request-method": "POST",
      "access-control-request-headers": "Content-Type, x-api-key",
    },
    [
      ["access-control-allow-headers", "content-type, x-api-key"],
      ["access-control-allow-methods", "GET, HEAD, POST"],
      ["access-control-allow-origin", APP],
      ["vary", PREFLIGHT_VARY],
    ],
  ],
  [
    "disallowed origin",
    {},
    { origin: OTHER, "access-control-request-method": "POST" },
    [["vary", PREFLIGHT_VARY]],
  ],
  [
    "origin differing only by a default port the browser would not send",
    {},
    { origin: `${APP}:443`, "access-control-request-method": "GET" },
    [["vary", PREFLIGHT_VARY]],
  ],
  [
    "disallowed method",
    { methods: ["GET", "PUT"] },
    { origin: APP, "access-control-request-method": "DELETE" },
    [["vary", PREFLIGHT_VARY]],
  ],
  [
    "method in another case",
    { methods: ["PATCH"] },
    { origin: APP, "access-control-request-method": "patch" },
    [["vary", PREFLIGHT_VARY]],
  ],
  [
    "disallowed request field",
    { headers: ["content-type"] },
    {
      origin: APP,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type,authorization",
    },
    [["vary", PREFLIGHT_VARY]],
  ],
  [
    "request field that is not a token",
    { headers: "*" },
    {
      origin: APP,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type, x(y)",
    },
    [["vary", PREFLIGHT_VARY]],
  ],
  [
    "wildcard origins and fields",
    { origins: "*", headers: "*", methods: ["PUT"] },
    {
      origin: OTHER,
      "access-control-request-method": "PUT",
      "access-control-request-headers": "x-b,X-A,,x-b",
    },
    [
      ["access-control-allow-headers", "x-b, x-a"],
      ["access-control-allow-methods", "PUT"],
      ["access-control-allow-origin", "*"],
      ["vary", PREFLIGHT_VARY],
    ],
  ],
  [
    "wildcard fields with nothing asked",
    { origins: "*", headers: "*" },
    { origin: OTHER, "access-control-request-method": "GET" },
    [
      ["access-control-allow-methods", "GET, HEAD, POST"],
      ["access-control-allow-origin", "*"],
      ["vary", PREFLIGHT_VARY],
    ],
  ],
  [
    "credentials, with wildcard fields echoed",
    { credentials: true, headers: "*", methods: ["DELETE"] },
    {
      origin: APP,
      "access-control-request-method": "DELETE",
      "access-control-request-headers": "authorization",
    },
    [
      ["access-control-allow-credentials", "true"],
      ["access-control-allow-headers", "authorization"],
      ["access-control-allow-methods", "DELETE"],
      ["access-control-allow-origin", APP],
      ["vary", PREFLIGHT_VARY],
    ],
  ],
  [
    "max age",
    { maxAge: 600 },
    { origin: APP, "access-control-request-method": "GET" },
    [
      ["access-control-allow-methods", "GET, HEAD, POST"],
      ["access-control-allow-origin", APP],
      ["access-control-max-age", "600"],
      ["vary", PREFLIGHT_VARY],
    ],
  ],
  [
    "max age zero",
    { maxAge: 0 },
    { origin: APP, "access-control-request-method": "GET" },
    [
      ["access-control-allow-methods", "GET, HEAD, POST"],
      ["access-control-allow-origin", APP],
      ["access-control-max-age", "0"],
      ["vary", PREFLIGHT_VARY],
    ],
  ],
];

Deno.test("corsPolicy() answers preflights with 204 and the Allow fields only when all is allowed", async () => {
  for (const [name, fields, request, answer] of PREFLIGHTS) {
    const response = policyOf(rule(fields)).preflight(preflightRequest(request), "/api/items");
    assert(response !== null, name);
    assertEquals(response.status, 204, name);
    assertEquals(fieldsOf(response.headers), answer, name);
    assertEquals(await response.text(), "", name);
  }
});

Deno.test("corsPolicy() leaves other requests and unmatched paths to the caller", () => {
  const policy = policyOf(rule({ origins: "*" }));
  const full = { origin: APP, "access-control-request-method": "POST" };
  assertEquals(policy.preflight(preflightRequest(full), "/elsewhere"), null);
  assertEquals(policy.preflight(preflightRequest({ origin: APP }), "/api/items"), null);
  assertEquals(
    policy.preflight(preflightRequest({ "access-control-request-method": "POST" }), "/api/items"),
    null,
  );
  assertEquals(policy.preflight(preflightRequest(full, "POST"), "/api/items"), null);
  assert(policy.preflight(preflightRequest(full), "/api/items") !== null);
});

Deno.test("corsPolicy() uses the first rule whose path matches", () => {
  const policy = policyOf(
    rule({ path: "/api/private", origins: [APP] }),
    rule({ path: "/api/*", origins: "*" }),
  );
  const request = preflightRequest({ origin: OTHER, "access-control-request-method": "GET" });
  const strict = policy.preflight(request, "/api/private");
  assertEquals(strict?.headers.get("access-control-allow-origin"), null);
  const open = policy.preflight(request, "/api/public");
  assertEquals(open?.headers.get("access-control-allow-origin"), "*");
});

Deno.test("corsPolicy() calls matchers as methods of the objects given", () => {
  const matcher = {
    rule: rule({ origins: "*" }),
    prefix: "/api/",
    matches(pathname: string): boolean {
      return pathname.startsWith(this.prefix);
    },
  };
  const request = preflightRequest({ origin: APP, "access-control-request-method": "GET" });
  assert(corsPolicy([matcher]).preflight(request, "/api/x") !== null);
});

/** Actual-response cases: the rule, the request's Origin, the response's Vary, what is added. */
const APPLIED: readonly (readonly [
  name: string,
  fields: Readonly<Record<string, unknown>>,
  origin: string | null,
  vary: string | null,
  answer: readonly [string, string][],
])[] = [
  [
    "listed origin",
    { expose: ["x-total", "etag"] },
    APP,
    null,
    [
      ["access-control-allow-origin", APP],
      ["access-control-expose-headers", "x-total, etag"],
      ["vary", "Origin"],
    ],
  ],
  ["origin not listed", {}, OTHER, null, [["vary", "Origin"]]],
  ["no Origin, list of origins", {}, null, null, [["vary", "Origin"]]],
  ["no Origin, any origin", { origins: "*" }, null, null, []],
  ["any origin", { origins: "*" }, OTHER, null, [["access-control-allow-origin", "*"]]],
  [
    "credentials",
    { credentials: true },
    APP,
    null,
    [
      ["access-control-allow-credentials", "true"],
      ["access-control-allow-origin", APP],
      ["vary", "Origin"],
    ],
  ],
  [
    "Vary merged",
    {},
    APP,
    "Accept-Encoding",
    [["access-control-allow-origin", APP], ["vary", "Accept-Encoding, Origin"]],
  ],
  [
    "Vary naming Origin already",
    {},
    APP,
    "accept-encoding, origin",
    [["access-control-allow-origin", APP], ["vary", "accept-encoding, origin"]],
  ],
  ["Vary: * kept", {}, APP, "*", [["access-control-allow-origin", APP], ["vary", "*"]]],
  ["Vary: * kept without Origin", {}, null, "Accept, *", [["vary", "Accept, *"]]],
];

Deno.test("corsPolicy() apply() adds the CORS fields for allowed origins and merges Vary", () => {
  for (const [name, fields, origin, vary, answer] of APPLIED) {
    const request = new Request("http://localhost/api/items", {
      headers: origin === null ? {} : { origin },
    });
    const headers = new Headers(vary === null ? {} : { vary });
    policyOf(rule(fields)).apply(request, "/api/items", headers);
    assertEquals(fieldsOf(headers), answer, name);
  }
});

Deno.test("corsPolicy() apply() adds nothing to paths no rule matches", () => {
  const headers = new Headers({ "content-type": "text/plain" });
  const request = new Request("http://localhost/page", { headers: { origin: APP } });
  policyOf(rule({})).apply(request, "/page", headers);
  assertEquals(fieldsOf(headers), [["content-type", "text/plain"]]);
});

Deno.test("corsPolicy() of no rules is empty and does nothing", () => {
  const policy = corsPolicy([]);
  assertEquals(policy.empty, true);
  assertEquals(policyOf(rule({})).empty, false);
  const request = preflightRequest({ origin: APP, "access-control-request-method": "GET" });
  assertEquals(policy.preflight(request, "/api/items"), null);
  const headers = new Headers();
  policy.apply(request, "/api/items", headers);
  assertEquals(fieldsOf(headers), []);
});

import { assert, assertEquals, assertThrows } from "../_deps.ts";
import { REWRITE_STATUSES, RULES_SCHEMA, rulesFromJson } from "../../lib/site/rules_json.ts";
import { REDIRECT_STATUSES, RuleError } from "../../lib/site/types.ts";

const WHERE = "portico.json: rules";

/** The RuleError `fn` throws. */
function refusal(fn: () => unknown): RuleError {
  const error = assertThrows(fn, RuleError);
  assert(error instanceof RuleError);
  return error;
}

const RULES = [
  {
    path: "/assets/*",
    headers: {
      set: { "Cache-Control": "public, max-age=31536000, immutable" },
      add: { Vary: "Accept" },
      remove: ["X-Powered-By"],
    },
  },
  { path: "/old/:id", redirect: "/new/:id", status: 308, force: true, query: { lang: ":lang" } },
  { path: "/docs", redirect: "https://docs.example/" },
  { path: "/app/*", rewrite: "/app/index.html" },
  { path: "/missing/*", rewrite: "/404.html", status: 404, force: false, query: { v: "2" } },
  { path: "/", headers: {} },
];

Deno.test("rulesFromJson() reads every kind of rule with its defaults", () => {
  assertEquals(rulesFromJson(RULES, WHERE), {
    headers: [
      {
        path: "/assets/*",
        set: { "cache-control": "public, max-age=31536000, immutable" },
        add: { vary: "Accept" },
        remove: ["x-powered-by"],
        origin: "portico.json: rules[0]",
      },
      { path: "/", set: {}, add: {}, remove: [], origin: "portico.json: rules[5]" },
    ],
    routes: [
      {
        path: "/old/:id",
        query: { lang: ":lang" },
        to: "/new/:id",
        status: 308,
        force: true,
        origin: "portico.json: rules[1]",
      },
      {
        path: "/docs",
        query: {},
        to: "https://docs.example/",
        status: 301,
        force: false,
        origin: "portico.json: rules[2]",
      },
      {
        path: "/app/*",
        query: {},
        to: "/app/index.html",
        status: 200,
        force: false,
        origin: "portico.json: rules[3]",
      },
      {
        path: "/missing/*",
        query: { v: "2" },
        to: "/404.html",
        status: 404,
        force: false,
        origin: "portico.json: rules[4]",
      },
    ],
  });
  assertEquals(rulesFromJson([], WHERE), { headers: [], routes: [] });
});

/**
 * Invalid rules (put after a valid one, so they are rules[1]), the message
 * for each, and whether the mistake is beyond what a schema says.
 */
const REFUSED: [unknown, string, "beyond schema"?][] = [
  [null, "rules[1]: expected an object with a path and headers, redirect or rewrite"],
  [["/a"], "rules[1]: expected an object with a path and headers, redirect or rewrite"],
  [{ path: "/a" }, "rules[1]: no action; expected exactly one of headers, redirect or rewrite"],
  [
    { path: "/a", redirect: "/b", rewrite: "/c" },
    "rules[1]: more than one action; expected exactly one of headers, redirect or rewrite",
  ],
  [
    { path: "/a", redirect: "/b", foo: 1 },
    'rules[1]: unknown key "foo"; expected path, redirect, status, force, query',
  ],
  [
    { path: "/a", rewrite: "/b", to: "/c" },
    'rules[1]: unknown key "to"; expected path, rewrite, status, force, query',
  ],
  [
    { path: "/a", headers: {}, status: 301 },
    'rules[1]: unknown key "status"; expected path, headers',
  ],
  [{ redirect: "/b" }, "rules[1].path: expected a string"],
  [{ path: 5, redirect: "/b" }, "rules[1].path: expected a string"],
  [
    { path: "a", redirect: "/b" },
    'rules[1].path: expected a path pattern starting with /, not "a"',
  ],
  [
    { path: "/a/*/b", redirect: "/b" },
    "rules[1].path: expected * only as the whole last segment, as in /blog/*",
    "beyond schema",
  ],
  [{ path: "/a", redirect: 5 }, "rules[1].redirect: expected a string"],
  [
    { path: "/a", redirect: "b" },
    'rules[1].redirect: expected a target path starting with / or an http:// or https:// URL, not "b"',
    "beyond schema",
  ],
  [
    { path: "/a", redirect: "/b/:id" },
    "rules[1].redirect: :id in the target is not bound by the path or the query",
    "beyond schema",
  ],
  [
    { path: "/a", redirect: "/b", status: 300 },
    "rules[1].status: expected 301, 302, 303, 307 or 308",
  ],
  [
    { path: "/a", redirect: "/b", status: 200 },
    "rules[1].status: expected 301, 302, 303, 307 or 308",
  ],
  [
    { path: "/a", redirect: "/b", status: "301" },
    "rules[1].status: expected 301, 302, 303, 307 or 308",
  ],
  [{ path: "/a", rewrite: "/b", status: 301 }, "rules[1].status: expected 200 or 404"],
  [{ path: "/a", redirect: "/b", force: "yes" }, "rules[1].force: expected true or false"],
  [{ path: "/a", rewrite: "/b", force: null }, "rules[1].force: expected true or false"],
  [
    { path: "/a", redirect: "/b", query: [] },
    'rules[1].query: expected an object such as {"id": ":id"}',
  ],
  [{ path: "/a", redirect: "/b", query: { id: 1 } }, "rules[1].query.id: expected a string"],
  [
    { path: "/a", redirect: "/b", query: { id: "x y" } },
    "rules[1].query.id: expected a non-empty value without spaces, & or #, or a :name",
    "beyond schema",
  ],
  [
    { path: "/a/:id", redirect: "/b", query: { id: ":id" } },
    "rules[1].query.id: expected each :name once; :id is bound twice",
    "beyond schema",
  ],
  [
    { path: "/a", rewrite: "https://other.example/" },
    "rules[1].rewrite: expected a path starting with /; rewriting to another site is not supported",
  ],
  [{ path: "/a", headers: [] }, "rules[1].headers: expected an object with set, add or remove"],
  [
    { path: "/a", headers: { put: {} } },
    'rules[1].headers: unknown key "put"; expected set, add, remove',
  ],
  [
    { path: "/a", headers: { set: "x" } },
    'rules[1].headers.set: expected an object such as {"X-Frame-Options": "DENY"}',
  ],
  [
    { path: "/a", headers: { set: { "Bad Name": "x" } } },
    "rules[1].headers.set: expected a field name of letters, digits and !#$%&'*+-.^_`|~ such as " +
    'X-Frame-Options, not "Bad Name"',
  ],
  [
    { path: "/a", headers: { set: { "X-A": "1", "x-a": "2" } } },
    "rules[1].headers.set: expected each field once; x-a appears twice",
    "beyond schema",
  ],
  [{ path: "/a", headers: { add: { "X-A": 1 } } }, "rules[1].headers.add.X-A: expected a string"],
  [
    { path: "/a", headers: { add: { "X-A": "a\nb" } } },
    "rules[1].headers.add.X-A: expected a field value without control characters or characters " +
    "above U+00FF",
    "beyond schema",
  ],
  [
    { path: "/a", headers: { set: { "Content-Length": "1" } } },
    "rules[1].headers.set: expected another field than content-length, which the server sets",
    "beyond schema",
  ],
  [
    { path: "/a", headers: { remove: "X-A" } },
    'rules[1].headers.remove: expected an array of field names such as ["X-Powered-By"]',
  ],
  [{ path: "/a", headers: { remove: [7] } }, "rules[1].headers.remove[0]: expected a string"],
  [
    { path: "/a", headers: { remove: ["ok", "no way"] } },
    "rules[1].headers.remove[1]: expected a field name of letters, digits and !#$%&'*+-.^_`|~ such " +
    'as X-Frame-Options, not "no way"',
  ],
];

Deno.test("rulesFromJson() refuses every mistake at its JSON path", () => {
  assertEquals(
    refusal(() => rulesFromJson({}, WHERE)).message,
    `${WHERE}: expected an array of rules`,
  );
  for (const [rule, expected] of REFUSED) {
    const error = refusal(() => rulesFromJson([{ path: "/ok", redirect: "/fine" }, rule], WHERE));
    assertEquals(error.message, `portico.json: ${expected}`, JSON.stringify(rule));
  }
});

// A checker for the keywords RULES_SCHEMA uses, and only those: a keyword it
// does not know fails the test, so the schema cannot outgrow it unnoticed.
type Schema = Readonly<Record<string, unknown>>;
const ANNOTATIONS = new Set(["description", "default"]);

function valid(schema: Schema, value: unknown): boolean {
  return Object.entries(schema).every(([keyword, arg]) =>
    keywordHolds(keyword, arg, schema, value)
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const TYPES: Record<string, (value: unknown) => boolean> = {
  array: Array.isArray,
  object: isObject,
  string: (value) => typeof value === "string",
  boolean: (value) => typeof value === "boolean",
};

function keywordHolds(keyword: string, arg: unknown, schema: Schema, value: unknown): boolean {
  if (ANNOTATIONS.has(keyword)) return true;
  switch (keyword) {
    case "type":
      return TYPES[arg as string](value);
    case "enum":
      return (arg as unknown[]).includes(value);
    case "pattern":
      return typeof value !== "string" || new RegExp(arg as string, "u").test(value);
    case "maxLength":
      return typeof value !== "string" || value.length <= (arg as number);
    case "items":
      return !Array.isArray(value) || value.every((item) => valid(arg as Schema, item));
    case "oneOf":
      return (arg as Schema[]).filter((s) => valid(s, value)).length === 1;
    case "required":
      return !isObject(value) || (arg as string[]).every((key) => Object.hasOwn(value, key));
    case "properties":
      return !isObject(value) || Object.entries(arg as Record<string, Schema>)
        .every(([key, s]) => !Object.hasOwn(value, key) || valid(s, value[key]));
    case "propertyNames":
      return !isObject(value) || Object.keys(value).every((key) => valid(arg as Schema, key));
    case "additionalProperties": {
      if (!isObject(value)) return true;
      const known = Object.keys((schema.properties ?? {}) as Schema);
      const extra = Object.keys(value).filter((key) => !known.includes(key));
      if (arg === false) return extra.length === 0;
      return extra.every((key) => valid(arg as Schema, value[key]));
    }
  }
  throw new Error(`the test's checker does not know the keyword ${keyword}`);
}

function accepted(rule: unknown): boolean {
  try {
    rulesFromJson([rule], WHERE);
    return true;
  } catch (error) {
    if (error instanceof RuleError) return false;
    throw error;
  }
}

Deno.test("RULES_SCHEMA accepts and refuses what rulesFromJson() does", () => {
  assert(valid(RULES_SCHEMA, RULES));
  assert(!valid(RULES_SCHEMA, {}));
  // Patterns, targets, bindings and field values are checked beyond the schema.
  const seen = REFUSED.filter(([, , beyond]) => beyond === undefined).map(([rule]) => rule);
  assertEquals(seen.length, REFUSED.length - 8);
  for (const rule of seen) assertEquals(valid(RULES_SCHEMA, [rule]), false, JSON.stringify(rule));
  for (const rule of [...RULES, { path: "/a", redirect: "/b", status: 303 }]) {
    assertEquals([valid(RULES_SCHEMA, [rule]), accepted(rule)], [true, true], JSON.stringify(rule));
  }
});

Deno.test("RULES_SCHEMA lists the statuses and keys rulesFromJson() accepts", () => {
  const [headers, redirect, rewrite] = ((RULES_SCHEMA.items as Schema).oneOf as Schema[]).map((s) =>
    s.properties as Record<string, Schema>
  );
  assertEquals(redirect.status.enum, [...REDIRECT_STATUSES]);
  assertEquals(rewrite.status.enum, [...REWRITE_STATUSES]);
  const keysOf = (properties: Record<string, Schema>) => Object.keys(properties);
  assertEquals(keysOf(headers), ["path", "headers"]);
  assertEquals(keysOf(redirect), ["path", "redirect", "status", "force", "query"]);
  assertEquals(keysOf(rewrite), ["path", "rewrite", "status", "force", "query"]);
  for (const status of [...REDIRECT_STATUSES, ...REWRITE_STATUSES, 300, 410]) {
    const asRedirect = { path: "/a", redirect: "/b", status };
    const asRewrite = { path: "/a", rewrite: "/b", status };
    assertEquals(valid(RULES_SCHEMA, [asRedirect]), accepted(asRedirect), String(status));
    assertEquals(valid(RULES_SCHEMA, [asRewrite]), accepted(asRewrite), String(status));
  }
  assertEquals(JSON.parse(JSON.stringify(RULES_SCHEMA)), RULES_SCHEMA);
});

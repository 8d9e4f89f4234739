/**
 * Cross-origin resource sharing: reading the `cors` rules of the
 * configuration file, and answering preflights and decorating responses for
 * the paths they match (Fetch standard §3.2, "CORS protocol").
 *
 * ## Rules
 *
 * Each rule names a path pattern, the origins allowed (or `"*"`), the
 * methods and request fields a preflight allows, the response fields a page
 * may read, whether credentials are allowed and how long a preflight may be
 * cached. The first rule whose path matches decides; the others are not
 * consulted, even when the first one refuses the origin.
 *
 * ## Comparisons
 *
 * Browsers send `Origin` serialised (lower case, no default port), so the
 * configured origins are normalised the same way and compared exactly.
 * Methods are compared case-sensitively, as browsers compare
 * `Access-Control-Allow-Methods` (so `fetch(url, { method: "patch" })`
 * needs a `patch` that the upper-cased configuration cannot name; browsers
 * upper-case only DELETE, GET, HEAD, OPTIONS, POST and PUT themselves).
 * Request field names are compared without regard to case.
 *
 * ## Why refusals are 204 without the Allow fields
 *
 * The browser, not the server, enforces CORS: a preflight answered without
 * `Access-Control-Allow-Origin` (or without the method or a field in the
 * Allow lists) makes the browser block the request. An error status would
 * say nothing more and would only show up as a network error in the page.
 *
 * @module
 */

import { type CorsRule, RuleError } from "./types.ts";

/** A rule with its path pattern compiled by the caller. */
export interface MatchedCorsRule {
  /** The rule. */
  readonly rule: CorsRule;
  /** Whether the rule's path pattern matches a request path. */
  matches(pathname: string): boolean;
}

/** What the CORS rules of a site do to requests. */
export interface CorsPolicy {
  /** True when there are no rules: nothing is ever added. */
  readonly empty: boolean;
  /**
   * The answer to a CORS preflight (`OPTIONS` with `Origin` and
   * `Access-Control-Request-Method`) for a path a rule matches, or null for
   * any other request.
   */
  preflight(request: Request, pathname: string): Response | null;
  /** Adds the CORS fields (and `Vary: Origin`) to the fields of an actual response. */
  apply(request: Request, pathname: string, headers: Headers): void;
}

/** The fields a rule may have, in the order the messages list them. */
const FIELDS = [
  "path",
  "origins",
  "methods",
  "headers",
  "expose",
  "credentials",
  "maxAge",
] as const;

/** The methods a preflight allows when a rule names none. */
const DEFAULT_METHODS: readonly string[] = Object.freeze(["GET", "HEAD", "POST"]);

/** The longest `maxAge`: a day (Firefox caps preflights at a day, Chromium at two hours). */
const MAX_AGE_LIMIT = 86400;

/** A token (RFC 9110 §5.6.2): one or more tchar. */
const TOKEN_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const TOKEN = new RegExp(TOKEN_PATTERN);

/**
 * An origin as written in the configuration: a scheme, `://` and an
 * authority without user information, path, query or fragment.
 */
const ORIGIN_PATTERN = "^[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\\\\\\s]+$";
const ORIGIN = new RegExp(ORIGIN_PATTERN);

/** What each refusal expects, by the value that was wrong. */
const EXPECTED = {
  list: 'expected an array of CORS rules such as [{ "path": "/api/*", "origins": "*" }]',
  rule: 'expected an object with "path" and "origins"',
  unknown: `unknown field; expected one of ${FIELDS.join(", ")}`,
  path: 'expected a path pattern starting with "/"',
  origins: 'expected a list of origins or "*"',
  noOrigins: 'expected at least one origin, or "*" for any',
  origin:
    "expected an origin such as https://example.com (scheme, host and optional port, no path)",
  methods: 'expected a list of methods such as ["GET", "POST"]',
  noMethods: "expected at least one method",
  method: "expected a method such as GET or PUT (an HTTP token)",
  headers: 'expected a list of request field names or "*"',
  expose: "expected a list of response field names",
  header: "expected a field name such as content-type (an HTTP token)",
  credentials: "expected true or false",
  maxAge: `expected a whole number of seconds from 0 to ${MAX_AGE_LIMIT}, or null`,
  anyWithCredentials: 'cannot be true when origins is "*" (browsers refuse it); list the origins',
} as const;

/** The `Vary` of every preflight answer: each of these fields changes it. */
const PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/**
 * A JSON Schema (draft 2020-12) for the `cors` value of the configuration
 * file, for editors. {@linkcode corsFromJson} checks the same things and
 * more (origins are parsed, not only matched).
 *
 * @example
 * ```ts
 * const schema = { properties: { cors: CORS_SCHEMA } };
 * ```
 */
export const CORS_SCHEMA: Readonly<Record<string, unknown>> = Object.freeze({
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "CORS rules",
  description: "Cross-origin resource sharing by path; the first rule whose path matches applies.",
  type: "array",
  items: {
    type: "object",
    required: ["path", "origins"],
    additionalProperties: false,
    properties: {
      path: {
        description: "The path pattern the rule applies to (/api/*, /users/:id, /exact).",
        type: "string",
        pattern: "^/",
      },
      origins: {
        description: 'The origins allowed (https://app.example.com, no path), or "*" for any.',
        oneOf: [
          { const: "*" },
          {
            type: "array",
            minItems: 1,
            items: { type: "string", pattern: ORIGIN_PATTERN },
          },
        ],
      },
      methods: {
        description: "The methods a preflight allows; upper-cased.",
        type: "array",
        minItems: 1,
        items: { type: "string", pattern: TOKEN_PATTERN, not: { const: "*" } },
        default: [...DEFAULT_METHODS],
      },
      headers: {
        description: 'The request fields a preflight allows, or "*" for whatever is asked.',
        oneOf: [
          { const: "*" },
          { type: "array", items: { type: "string", pattern: TOKEN_PATTERN, not: { const: "*" } } },
        ],
        default: [],
      },
      expose: {
        description: "The response fields a page may read (Access-Control-Expose-Headers).",
        type: "array",
        items: { type: "string", pattern: TOKEN_PATTERN, not: { const: "*" } },
        default: [],
      },
      credentials: {
        description: 'Whether cookies and other credentials are allowed; never with origins "*".',
        type: "boolean",
        default: false,
      },
      maxAge: {
        description: "How long a browser may cache a preflight, in seconds; null leaves it to it.",
        type: ["integer", "null"],
        minimum: 0,
        maximum: MAX_AGE_LIMIT,
        default: null,
      },
    },
    if: { properties: { origins: { const: "*" } }, required: ["origins"] },
    then: { properties: { credentials: { const: false } } },
  },
});

/**
 * Reads the `cors` value of a configuration file: validates every rule,
 * fills in the defaults (methods GET, HEAD, POST; no request or exposed
 * fields; no credentials; no max age) and normalises origins (lower case,
 * no default port), methods (upper case) and field names (lower case).
 *
 * @param value The parsed JSON value.
 * @param where Where it was written, for messages (`portico.json: cors`).
 * @returns The rules, in order, each with its `origin` set to `where[i]`.
 * @throws {RuleError} When a value cannot be used, naming its JSON path.
 *
 * @example
 * ```ts
 * const [rule] = corsFromJson(
 *   [{ path: "/api/*", origins: ["https://App.example.com:443"] }],
 *   "portico.json: cors",
 * );
 * rule.origins; // ["https://app.example.com"]
 * rule.methods; // ["GET", "HEAD", "POST"]
 * ```
 */
export function corsFromJson(value: unknown, where: string): CorsRule[] {
  if (!Array.isArray(value)) throw new RuleError(where, EXPECTED.list);
  return value.map((item, i) => _rule(item, `${where}[${i}]`));
}

/**
 * The policy of a list of rules, checked once: a rule allowing credentials
 * for every origin is refused here too, however it was made.
 *
 * @param rules The rules, in order, with their compiled path patterns.
 * @returns The policy; the first rule whose path matches decides.
 * @throws {RuleError} When a rule has origins `"*"` and credentials.
 *
 * @example
 * ```ts
 * const [rule] = corsFromJson([{ path: "/api/*", origins: "*" }], "portico.json: cors");
 * const policy = corsPolicy([{ rule, matches: (p) => p.startsWith("/api/") }]);
 * const request = new Request("http://localhost/api/items", {
 *   method: "OPTIONS",
 *   headers: { origin: "https://app.example.com", "access-control-request-method": "POST" },
 * });
 * policy.preflight(request, "/api/items")?.headers.get("access-control-allow-origin"); // "*"
 * ```
 */
export function corsPolicy(rules: readonly MatchedCorsRule[]): CorsPolicy {
  return new _Policy(rules.map(_compiled));
}

/** A rule ready for requests: sets for lookups, field values joined once. */
interface _Compiled {
  /** The rule and its matcher, as given (called as a method, so it keeps its `this`). */
  readonly matched: MatchedCorsRule;
  /** The allowed origins, or null for any. */
  readonly origins: ReadonlySet<string> | null;
  /** Whether `Access-Control-Allow-Origin` is `*` rather than the request's origin. */
  readonly star: boolean;
  readonly methods: ReadonlySet<string>;
  readonly allowMethods: string;
  /** The allowed request fields, or null to allow (and echo) whatever is asked. */
  readonly headers: ReadonlySet<string> | null;
  readonly allowHeaders: string;
  readonly expose: string;
  readonly credentials: boolean;
  readonly maxAge: string | null;
  /** Whether the answer depends on `Origin`, so caches must key on it. */
  readonly varyOrigin: boolean;
}

/** The {@linkcode CorsPolicy} of compiled rules. */
class _Policy implements CorsPolicy {
  readonly empty: boolean;
  readonly #rules: readonly _Compiled[];

  constructor(rules: readonly _Compiled[]) {
    this.#rules = rules;
    this.empty = rules.length === 0;
  }

  preflight(request: Request, pathname: string): Response | null {
    if (this.empty || request.method !== "OPTIONS") return null;
    const origin = request.headers.get("origin");
    const method = request.headers.get("access-control-request-method");
    if (origin === null || method === null) return null;
    const rule = this.#find(pathname);
    if (rule === undefined) return null;
    // Framing is the connection's: a 204 carries no Content-Length (RFC 9110 §8.6).
    const headers = new Headers({ vary: PREFLIGHT_VARY });
    const requested = _requestedFields(request.headers.get("access-control-request-headers"));
    if (
      _originAllowed(rule, origin) && rule.methods.has(method) && requested !== null &&
      _fieldsAllowed(rule, requested)
    ) {
      _setPreflightAllows(rule, origin, requested, headers);
    }
    return new Response(null, { status: 204, headers });
  }

  apply(request: Request, pathname: string, headers: Headers): void {
    if (this.empty) return;
    const rule = this.#find(pathname);
    if (rule === undefined) return;
    if (rule.varyOrigin) _addVary(headers, "Origin");
    const origin = request.headers.get("origin");
    if (origin === null || !_originAllowed(rule, origin)) return;
    headers.set("access-control-allow-origin", rule.star ? "*" : origin);
    if (rule.credentials) headers.set("access-control-allow-credentials", "true");
    if (rule.expose !== "") headers.set("access-control-expose-headers", rule.expose);
  }

  #find(pathname: string): _Compiled | undefined {
    return this.#rules.find((rule) => rule.matched.matches(pathname));
  }
}

/** The Allow fields of a preflight that passed every check. */
function _setPreflightAllows(
  rule: _Compiled,
  origin: string,
  requested: readonly string[],
  headers: Headers,
): void {
  headers.set("access-control-allow-origin", rule.star ? "*" : origin);
  headers.set("access-control-allow-methods", rule.allowMethods);
  const allowHeaders = rule.headers === null ? requested.join(", ") : rule.allowHeaders;
  if (allowHeaders !== "") headers.set("access-control-allow-headers", allowHeaders);
  if (rule.credentials) headers.set("access-control-allow-credentials", "true");
  if (rule.maxAge !== null) headers.set("access-control-max-age", rule.maxAge);
}

function _originAllowed(rule: _Compiled, origin: string): boolean {
  return rule.origins === null || rule.origins.has(origin);
}

function _fieldsAllowed(rule: _Compiled, requested: readonly string[]): boolean {
  const allowed = rule.headers;
  return allowed === null || requested.every((name) => allowed.has(name));
}

/**
 * The field names of `Access-Control-Request-Headers`, lower-cased, or null
 * when one is not a token (nothing unchecked is ever echoed back).
 */
function _requestedFields(value: string | null): string[] | null {
  if (value === null) return [];
  const names: string[] = [];
  for (const member of value.split(",")) {
    const name = member.trim().toLowerCase();
    if (name === "") continue; // Empty list elements are allowed (RFC 9110 §5.6.1.2).
    if (!TOKEN.test(name)) return null;
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** Adds `name` to `Vary` unless it is listed already or `Vary` is `*` (RFC 9110 §12.5.5). */
function _addVary(headers: Headers, name: string): void {
  const vary = headers.get("vary");
  if (vary === null || vary.trim() === "") {
    headers.set("vary", name);
    return;
  }
  const lower = name.toLowerCase();
  for (const member of vary.split(",")) {
    const listed = member.trim().toLowerCase();
    if (listed === "*" || listed === lower) return;
  }
  headers.set("vary", `${vary}, ${name}`);
}

function _compiled(matched: MatchedCorsRule): _Compiled {
  const rule = matched.rule;
  const any = rule.origins === "*";
  if (any && rule.credentials) {
    throw new RuleError(`${rule.origin}.credentials`, EXPECTED.anyWithCredentials);
  }
  return {
    matched,
    origins: any ? null : new Set(rule.origins),
    star: any,
    methods: new Set(rule.methods),
    allowMethods: rule.methods.join(", "),
    headers: rule.headers === "*" ? null : new Set(rule.headers),
    allowHeaders: rule.headers === "*" ? "" : rule.headers.join(", "),
    expose: rule.expose.join(", "),
    credentials: rule.credentials,
    maxAge: rule.maxAge === null ? null : String(rule.maxAge),
    varyOrigin: !any || rule.credentials,
  };
}

/** One element of the `cors` array, validated, with its defaults. */
function _rule(item: unknown, at: string): CorsRule {
  if (typeof item !== "object" || item === null || Array.isArray(item)) {
    throw new RuleError(at, EXPECTED.rule);
  }
  const fields = item as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(fields)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      throw new RuleError(_member(at, key), EXPECTED.unknown);
    }
  }
  const origins = _origins(fields.origins, `${at}.origins`);
  const credentials = _credentials(fields.credentials, `${at}.credentials`);
  if (origins === "*" && credentials) {
    throw new RuleError(`${at}.credentials`, EXPECTED.anyWithCredentials);
  }
  return {
    path: _path(fields.path, `${at}.path`),
    origins,
    methods: _methods(fields.methods, `${at}.methods`),
    headers: fields.headers === "*" ? "*" : _fieldNames(fields.headers, `${at}.headers`, "headers"),
    expose: _fieldNames(fields.expose, `${at}.expose`, "expose"),
    credentials,
    maxAge: _maxAge(fields.maxAge, `${at}.maxAge`),
    origin: at,
  };
}

/** The JSON path of a member: `.name`, or `["odd name"]` when it is not an identifier. */
function _member(at: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`;
}

function _path(value: unknown, at: string): string {
  if (typeof value !== "string" || !value.startsWith("/")) throw new RuleError(at, EXPECTED.path);
  return value;
}

function _origins(value: unknown, at: string): readonly string[] | "*" {
  if (value === "*") return "*";
  if (!Array.isArray(value)) throw new RuleError(at, EXPECTED.origins);
  if (value.length === 0) throw new RuleError(at, EXPECTED.noOrigins);
  return _unique(value.map((origin, i) => _origin(origin, `${at}[${i}]`)));
}

/** An origin serialised as browsers send it: lower case, no default port. */
function _origin(value: unknown, at: string): string {
  if (typeof value !== "string" || !ORIGIN.test(value)) throw new RuleError(at, EXPECTED.origin);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RuleError(at, EXPECTED.origin);
  }
  if (url.host === "") throw new RuleError(at, EXPECTED.origin);
  // URL drops 80 and 443 for http(s) and lower-cases their hosts; other schemes keep theirs.
  return `${url.protocol}//${url.host}`.toLowerCase();
}

function _methods(value: unknown, at: string): readonly string[] {
  if (value === undefined) return DEFAULT_METHODS;
  if (!Array.isArray(value)) throw new RuleError(at, EXPECTED.methods);
  if (value.length === 0) throw new RuleError(at, EXPECTED.noMethods);
  return _unique(value.map((method, i) => {
    if (!_isToken(method)) throw new RuleError(`${at}[${i}]`, EXPECTED.method);
    return method.toUpperCase();
  }));
}

function _fieldNames(value: unknown, at: string, kind: "headers" | "expose"): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new RuleError(at, EXPECTED[kind]);
  return _unique(value.map((name, i) => {
    if (!_isToken(name)) throw new RuleError(`${at}[${i}]`, EXPECTED.header);
    return name.toLowerCase();
  }));
}

function _credentials(value: unknown, at: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw new RuleError(at, EXPECTED.credentials);
  return value;
}

function _maxAge(value: unknown, at: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_AGE_LIMIT) {
    throw new RuleError(at, EXPECTED.maxAge);
  }
  return value;
}

/** Whether a configured name is a token other than `*` (which lists nothing). */
function _isToken(value: unknown): value is string {
  return typeof value === "string" && value !== "*" && TOKEN.test(value);
}

function _unique(values: readonly string[]): readonly string[] {
  return [...new Set(values)];
}

/**
 * The `rules` of the configuration file: header rules, redirects and
 * rewrites as JSON, checked into plain {@linkcode HeaderRule}s and
 * {@linkcode RouteRule}s; and the JSON Schema that describes exactly what is
 * accepted. Every mistake names the JSON path of the value at fault.
 *
 * @module
 */

import { checkFieldName, checkFieldValue } from "./headers_file.ts";
import { bindQuery, checkTarget, compilePattern, MAX_PATTERN_LENGTH } from "./pattern.ts";
import {
  type HeaderRule,
  REDIRECT_STATUSES,
  type RedirectStatus,
  type RouteRule,
  RuleError,
} from "./types.ts";

/** The statuses a rewrite may have: 200, or 404 for a not-found page. */
export const REWRITE_STATUSES = [200, 404] as const;

/** The rules of the configuration file, by kind, each in the order written. */
export interface JsonRules {
  /** Header rules. */
  readonly headers: HeaderRule[];
  /** Redirects and rewrites. */
  readonly routes: RouteRule[];
}

/** The keys each kind of rule may have; the first key after `path` names the kind. */
const KEYS = {
  headers: ["path", "headers"],
  redirect: ["path", "redirect", "status", "force", "query"],
  rewrite: ["path", "rewrite", "status", "force", "query"],
} as const;

type Kind = keyof typeof KEYS;
type JsonObject = Readonly<Record<string, unknown>>;

const KINDS = Object.keys(KEYS) as Kind[];
const HEADER_KEYS = ["set", "add", "remove"] as const;

/**
 * Checks the configuration file's `rules` array.
 *
 * @param value The parsed JSON value.
 * @param where Where it was written (`portico.json: rules`).
 * @returns The header rules and the routes, each with its origin (`portico.json: rules[3]`).
 * @throws {RuleError} For the first value that cannot be used, at its JSON path.
 *
 * @example
 * ```ts
 * const { routes } = rulesFromJson(
 *   [{ path: "/old/:id", redirect: "/new/:id", status: 308 }],
 *   "portico.json: rules",
 * );
 * routes[0].status; // 308
 * ```
 */
export function rulesFromJson(value: unknown, where: string): JsonRules {
  if (!Array.isArray(value)) throw new RuleError(where, "expected an array of rules");
  const headers: HeaderRule[] = [];
  const routes: RouteRule[] = [];
  value.forEach((item: unknown, i) => {
    const at = `${where}[${i}]`;
    const rule = objectAt(
      item,
      at,
      "expected an object with a path and headers, redirect or rewrite",
    );
    const kind = kindOf(rule, at);
    checkKeys(rule, KEYS[kind], at);
    const pattern = compilePattern(stringAt(rule.path, `${at}.path`), `${at}.path`);
    if (kind === "headers") headers.push(headerRule(rule, at));
    else routes.push(routeRule(rule, kind, pattern.names, at));
  });
  return { headers, routes };
}

function kindOf(rule: JsonObject, at: string): Kind {
  const kinds = KINDS.filter((kind) => Object.hasOwn(rule, kind));
  if (kinds.length !== 1) {
    const problem = kinds.length === 0 ? "no" : "more than one";
    throw new RuleError(
      at,
      `${problem} action; expected exactly one of headers, redirect or rewrite`,
    );
  }
  return kinds[0];
}

function checkKeys(object: JsonObject, allowed: readonly string[], at: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new RuleError(at, `unknown key ${JSON.stringify(key)}; expected ${allowed.join(", ")}`);
    }
  }
}

function headerRule(rule: JsonObject, at: string): HeaderRule {
  const fields = objectAt(
    rule.headers,
    `${at}.headers`,
    "expected an object with set, add or remove",
  );
  checkKeys(fields, HEADER_KEYS, `${at}.headers`);
  const remove = fields.remove === undefined ? [] : arrayAt(fields.remove, `${at}.headers.remove`);
  return {
    path: rule.path as string,
    set: fieldValues(fields.set, `${at}.headers.set`),
    add: fieldValues(fields.add, `${at}.headers.add`),
    remove: remove.map((name, j) => {
      const where = `${at}.headers.remove[${j}]`;
      return checkFieldName(stringAt(name, where), where);
    }),
    origin: at,
  };
}

/** A `set` or `add` object: field names (any case, each field once) to string values. */
function fieldValues(value: unknown, at: string): Record<string, string> {
  if (value === undefined) return {};
  const object = objectAt(value, at, 'expected an object such as {"X-Frame-Options": "DENY"}');
  const fields = new Map<string, string>();
  for (const [name, fieldValue] of Object.entries(object)) {
    const lower = checkFieldName(name, at);
    if (fields.has(lower)) {
      throw new RuleError(at, `expected each field once; ${lower} appears twice`);
    }
    const text = stringAt(fieldValue, `${at}.${name}`);
    checkFieldValue(text, `${at}.${name}`);
    fields.set(lower, text);
  }
  return Object.fromEntries(fields);
}

function routeRule(
  rule: JsonObject,
  kind: "redirect" | "rewrite",
  pathNames: readonly string[],
  at: string,
): RouteRule {
  const query = queryAt(rule.query, `${at}.query`);
  const bound = bindQuery(query, pathNames, (key) => `${at}.query.${key}`);
  const to = stringAt(rule[kind], `${at}.${kind}`);
  checkTarget(to, bound, `${at}.${kind}`);
  if (kind === "rewrite" && !to.startsWith("/")) {
    throw new RuleError(
      `${at}.rewrite`,
      "expected a path starting with /; rewriting to another site is not supported",
    );
  }
  const force = rule.force === undefined ? false : rule.force;
  if (typeof force !== "boolean") throw new RuleError(`${at}.force`, "expected true or false");
  const status = statusAt(rule.status, kind, `${at}.status`);
  return { path: rule.path as string, query, to, status, force, origin: at };
}

function statusAt(value: unknown, kind: "redirect" | "rewrite", at: string): RouteRule["status"] {
  const allowed: readonly number[] = kind === "redirect" ? REDIRECT_STATUSES : REWRITE_STATUSES;
  if (value === undefined) return kind === "redirect" ? 301 : 200;
  if (typeof value !== "number" || !allowed.includes(value)) {
    throw new RuleError(at, `expected ${allowed.slice(0, -1).join(", ")} or ${allowed.at(-1)}`);
  }
  return value as RedirectStatus | 200 | 404;
}

function queryAt(value: unknown, at: string): Record<string, string> {
  if (value === undefined) return {};
  const object = objectAt(value, at, 'expected an object such as {"id": ":id"}');
  const query = new Map<string, string>();
  for (const [key, text] of Object.entries(object)) query.set(key, stringAt(text, `${at}.${key}`));
  return Object.fromEntries(query);
}

function objectAt(value: unknown, at: string, expected: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RuleError(at, expected);
  }
  return value as JsonObject;
}

function arrayAt(value: unknown, at: string): readonly unknown[] {
  if (!Array.isArray(value)) {
    throw new RuleError(at, 'expected an array of field names such as ["X-Powered-By"]');
  }
  return value;
}

function stringAt(value: unknown, at: string): string {
  if (typeof value !== "string") throw new RuleError(at, "expected a string");
  return value;
}

const TOKEN_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const PATH_SCHEMA = {
  type: "string",
  pattern: "^/",
  maxLength: MAX_PATTERN_LENGTH,
  description:
    "The paths the rule applies to: /exact, /users/:id (one segment), /blog/* (the rest, " +
    "as :splat). Trailing slashes do not matter.",
} as const;
function fieldsSchema(description: string): Readonly<Record<string, unknown>> {
  return {
    type: "object",
    description,
    propertyNames: { pattern: TOKEN_PATTERN },
    additionalProperties: { type: "string" },
  };
}
const QUERY_SCHEMA = {
  type: "object",
  description: 'Query parameters the request must have: ":name" binds the value, any other value ' +
    "must be equal.",
  additionalProperties: { type: "string" },
} as const;
const FORCE_SCHEMA = {
  type: "boolean",
  default: false,
  description: "Apply even when a file exists at the path.",
} as const;

/**
 * A JSON Schema (draft 2020-12) for the `rules` array: it accepts what
 * {@linkcode rulesFromJson} accepts, as far as a schema can say (patterns and
 * targets are checked further by Portico). It has no `$schema` or `$ref`, so
 * it can be placed inside the configuration file's schema as it is.
 */
export const RULES_SCHEMA: Readonly<Record<string, unknown>> = Object.freeze({
  type: "array",
  description: "Header rules, redirects and rewrites; routes apply in order, the first match wins.",
  items: {
    oneOf: [
      {
        type: "object",
        description: "Response fields for the paths the pattern matches.",
        required: [...KEYS.headers],
        additionalProperties: false,
        properties: {
          path: PATH_SCHEMA,
          headers: {
            type: "object",
            description: "The fields: removed, then set, then added to, in that order.",
            additionalProperties: false,
            properties: {
              set: fieldsSchema("Fields set, replacing what the response had."),
              add: fieldsSchema("Values appended to fields."),
              remove: {
                type: "array",
                description: "Fields removed.",
                items: { type: "string", pattern: TOKEN_PATTERN },
              },
            },
          },
        },
      },
      {
        type: "object",
        description:
          "A redirect: the client is sent to the target, with :name and :splat filled in.",
        required: ["path", "redirect"],
        additionalProperties: false,
        properties: {
          path: PATH_SCHEMA,
          redirect: {
            type: "string",
            description: "A path starting with / or an http:// or https:// URL.",
          },
          status: {
            enum: [...REDIRECT_STATUSES],
            default: 301,
            description: "301 or 308 for a permanent move, 302, 303 or 307 for a temporary one.",
          },
          force: FORCE_SCHEMA,
          query: QUERY_SCHEMA,
        },
      },
      {
        type: "object",
        description: "A rewrite: the target path is served in place of the path.",
        required: ["path", "rewrite"],
        additionalProperties: false,
        properties: {
          path: PATH_SCHEMA,
          rewrite: { type: "string", pattern: "^/", description: "A path starting with /." },
          status: {
            enum: [...REWRITE_STATUSES],
            default: 200,
            description: "200, or 404 to serve the target as a not-found page.",
          },
          force: FORCE_SCHEMA,
          query: QUERY_SCHEMA,
        },
      },
    ],
  },
});

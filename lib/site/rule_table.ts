/**
 * A site's header rules and routes compiled for serving: which rules a
 * request path could touch (asked for every request, so it is a set lookup),
 * the first route that applies, and the header rules applied to a response.
 * Pure; the rules were checked when they were read.
 *
 * @module
 */

import { compilePattern, decodeSegment, fillTarget, type PathPattern } from "./pattern.ts";
import type { HeaderRule, RedirectStatus, RouteRule } from "./types.ts";

/** What a route makes of a request. */
export type RouteMatch =
  /** Send the client elsewhere. */
  | {
    readonly kind: "redirect";
    readonly status: RedirectStatus;
    /** The filled target, with the request's query when the rule keeps it. */
    readonly location: string;
    readonly rule: RouteRule;
  }
  /** Serve another path in this one's place. */
  | {
    readonly kind: "rewrite";
    readonly status: 200 | 404;
    /** The filled target path (percent-encoded). */
    readonly path: string;
    /** The target's query if it has one, else the request's (`""` or `"?a=1"`). */
    readonly search: string;
    readonly rule: RouteRule;
  };

/** A site's rules, compiled. */
export interface RuleTable {
  /** Whether there are no rules at all. */
  readonly empty: boolean;
  /**
   * Whether any rule could match a raw request path: a set lookup of its
   * first segment, true for every path when a pattern starts with a
   * placeholder or `*`.
   *
   * @param pathname The raw request path.
   * @returns False when no rule can match it.
   */
  touches(pathname: string): boolean;
  /**
   * The first route, in order, that matches the path and query and whose
   * `force` is `forced`.
   *
   * @param pathname The raw request path.
   * @param search The raw query (`""` or `"?a=1"`).
   * @param forced Whether to look at forced routes (before files) or the others (for a miss).
   * @returns What the route makes of the request, or null.
   */
  route(pathname: string, search: string, forced: boolean): RouteMatch | null;
  /**
   * Applies every matching header rule, in order: each removes, then sets,
   * then appends to fields.
   *
   * @param pathname The raw request path.
   * @param headers The response's fields; they must be mutable.
   */
  applyHeaders(pathname: string, headers: Headers): void;
}

/** A query condition: a parameter (decoded) that must equal a value (decoded) or binds a name. */
interface Condition {
  readonly key: string;
  readonly bind: string | null;
  readonly value: string;
}

/** A target split once: path (scheme and host included), query (`?...`, or null) and fragment. */
interface Target {
  readonly path: string;
  readonly query: string | null;
  readonly fragment: string;
  readonly absolute: boolean;
}

interface CompiledRoute {
  readonly rule: RouteRule;
  readonly pattern: PathPattern;
  readonly conditions: readonly Condition[];
  readonly target: Target;
}

interface CompiledHeaderRule {
  readonly rule: HeaderRule;
  readonly pattern: PathPattern;
}

/** Characters a captured value may not carry into each part of a target as they are. */
const ESCAPED_IN_PATH = /[?#\\]/g;
const ESCAPED_IN_QUERY = /[&#]/g;

/**
 * Compiles checked rules (from the configuration file, `_headers` and
 * `_redirects`) for serving.
 *
 * @param rules The header rules and routes, each in the order they apply.
 * @returns The table.
 *
 * @example
 * ```ts
 * const old = { path: "/old/*", query: {}, to: "/new/:splat", status: 301, force: false };
 * const table = compileRules({ headers: [], routes: [{ ...old, origin: "_redirects:1" }] });
 * table.touches("/old/a"); // true
 * table.route("/old/a", "?x=1", false); // { kind: "redirect", location: "/new/a?x=1", ... }
 * ```
 */
export function compileRules(
  rules: { readonly headers: readonly HeaderRule[]; readonly routes: readonly RouteRule[] },
): RuleTable {
  const routes = rules.routes.map((rule) => ({
    rule,
    pattern: compilePattern(rule.path, rule.origin),
    conditions: Object.entries(rule.query).map(([key, value]) => condition(key, value)),
    target: splitTarget(rule.to),
  }));
  const headers = rules.headers.map((rule) => ({
    rule,
    pattern: compilePattern(rule.path, rule.origin),
  }));
  return new CompiledRuleTable(routes, headers);
}

class CompiledRuleTable implements RuleTable {
  readonly empty: boolean;
  /** Whether some pattern starts with a placeholder or `*`, so that every path is touched. */
  readonly #anyFirst: boolean;
  readonly #forced: FirstSegmentIndex<CompiledRoute>;
  readonly #unforced: FirstSegmentIndex<CompiledRoute>;
  readonly #headers: FirstSegmentIndex<CompiledHeaderRule>;

  constructor(routes: readonly CompiledRoute[], headers: readonly CompiledHeaderRule[]) {
    const patterns = [...routes, ...headers].map((r) => r.pattern);
    this.empty = patterns.length === 0;
    this.#anyFirst = patterns.some((p) => p.firstLiteral === null);
    this.#forced = new FirstSegmentIndex(routes.filter((r) => r.rule.force));
    this.#unforced = new FirstSegmentIndex(routes.filter((r) => !r.rule.force));
    this.#headers = new FirstSegmentIndex(headers);
  }

  touches(pathname: string): boolean {
    if (this.#anyFirst) return true;
    if (this.empty) return false;
    const first = firstSegment(pathname);
    return this.#forced.has(first) || this.#unforced.has(first) || this.#headers.has(first);
  }

  route(pathname: string, search: string, forced: boolean): RouteMatch | null {
    const index = forced ? this.#forced : this.#unforced;
    let query: ReadonlyMap<string, string> | null = null;
    for (const route of index.candidates(firstSegment(pathname))) {
      const params = route.pattern.match(pathname);
      if (params === null) continue;
      if (route.conditions.length === 0) return routeMatch(route, params, search);
      query ??= parseQuery(search);
      const bound = bindConditions(route.conditions, query, params);
      if (bound !== null) return routeMatch(route, bound, search);
    }
    return null;
  }

  applyHeaders(pathname: string, headers: Headers): void {
    for (const { rule, pattern } of this.#headers.candidates(firstSegment(pathname))) {
      if (pattern.match(pathname) === null) continue;
      for (const name of rule.remove) headers.delete(name);
      for (const [name, value] of Object.entries(rule.set)) headers.set(name, value);
      for (const [name, value] of Object.entries(rule.add)) headers.append(name, value);
    }
  }
}

/**
 * Rules grouped by the first segment a path must have for them to match:
 * each group holds, in rule order, the rules that need that segment and the
 * rules that take any.
 */
class FirstSegmentIndex<T extends { readonly pattern: PathPattern }> {
  readonly #groups = new Map<string, T[]>();
  readonly #anyFirst: T[] = [];

  constructor(rules: readonly T[]) {
    for (const rule of rules) {
      const first = rule.pattern.firstLiteral;
      if (first === null) {
        this.#anyFirst.push(rule);
        for (const group of this.#groups.values()) group.push(rule);
        continue;
      }
      let group = this.#groups.get(first);
      if (group === undefined) this.#groups.set(first, group = [...this.#anyFirst]);
      group.push(rule);
    }
  }

  /** Whether some rule could match a path with this first segment (null: undecodable). */
  has(first: string | null): boolean {
    return this.#anyFirst.length > 0 || (first !== null && this.#groups.has(first));
  }

  /** The rules that could match a path with this first segment, in order. */
  candidates(first: string | null): readonly T[] {
    return (first === null ? undefined : this.#groups.get(first)) ?? this.#anyFirst;
  }
}

/** The decoded first segment of a raw path (`""` for `/`), or null when it cannot be decoded. */
function firstSegment(pathname: string): string | null {
  const slash = pathname.indexOf("/", 1);
  return decodeSegment(pathname.slice(1, slash === -1 ? pathname.length : slash));
}

function condition(key: string, value: string): Condition {
  const bind = value.startsWith(":") ? value.slice(1) : null;
  return { key: decodeQueryPart(key) ?? key, bind, value: decodeQueryPart(value) ?? value };
}

/** A query part decoded as a form does (`+` is a space), or null when an escape is invalid. */
function decodeQueryPart(raw: string): string | null {
  return decodeSegment(raw.replaceAll("+", " "));
}

/** The request's parameters: decoded name to raw value, the first of each name. */
function parseQuery(search: string): ReadonlyMap<string, string> {
  const params = new Map<string, string>();
  if (search.length <= 1) return params;
  for (const part of search.slice(1).split("&")) {
    const eq = part.indexOf("=");
    const key = decodeQueryPart(eq === -1 ? part : part.slice(0, eq));
    if (key !== null && !params.has(key)) params.set(key, eq === -1 ? "" : part.slice(eq + 1));
  }
  return params;
}

/** The path's values and the query's bindings, or null when a condition fails. */
function bindConditions(
  conditions: readonly Condition[],
  query: ReadonlyMap<string, string>,
  params: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> | null {
  const bound: Record<string, string> = Object.assign(Object.create(null), params);
  for (const { key, bind, value } of conditions) {
    const raw = query.get(key);
    if (raw === undefined) return null;
    if (bind === null) {
      if (decodeQueryPart(raw) !== value) return null;
    } else {
      if (raw === "") return null;
      bound[bind] = raw;
    }
  }
  return bound;
}

/** Splits a target into its parts, its non-ASCII characters percent-encoded as UTF-8. */
function splitTarget(to: string): Target {
  const encoded = to.replace(/[\u0080-\u{10ffff}]/gu, (c) => encodeURIComponent(c));
  const hash = encoded.indexOf("#");
  const beforeHash = hash === -1 ? encoded : encoded.slice(0, hash);
  const question = beforeHash.indexOf("?");
  return {
    path: question === -1 ? beforeHash : beforeHash.slice(0, question),
    query: question === -1 ? null : beforeHash.slice(question),
    fragment: hash === -1 ? "" : encoded.slice(hash),
    absolute: !encoded.startsWith("/"),
  };
}

/** A route's answer for a request, its target filled with the values. */
function routeMatch(
  route: CompiledRoute,
  params: Readonly<Record<string, string>>,
  search: string,
): RouteMatch {
  const { rule, target } = route;
  let path = fillTarget(target.path, escaped(params, ESCAPED_IN_PATH));
  // A value starting with `/` must not make `//host`, which a browser reads as another site.
  if (!target.absolute) path = path.replace(/^\/{2,}/, "/");
  const query = target.query === null
    ? null
    : fillTarget(target.query, escaped(params, ESCAPED_IN_QUERY));
  if (rule.status === 200 || rule.status === 404) {
    return { kind: "rewrite", status: rule.status, path, search: query ?? search, rule };
  }
  // The request's query is kept unless the rule names a query or matched on one.
  const kept = query ?? (route.conditions.length === 0 ? search : "");
  return { kind: "redirect", status: rule.status, location: path + kept + target.fragment, rule };
}

/** The values with the characters that would end their part of a target percent-encoded. */
function escaped(
  params: Readonly<Record<string, string>>,
  characters: RegExp,
): Readonly<Record<string, string>> {
  let out: Record<string, string> | null = null;
  for (const [name, value] of Object.entries(params)) {
    const text = value.replace(characters, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    if (text === value) continue;
    out ??= Object.assign(Object.create(null), params) as Record<string, string>;
    out[name] = text;
  }
  return out ?? params;
}

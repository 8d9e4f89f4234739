/**
 * The path patterns and targets that site rules are written with:
 * `/exact`, `/users/:id`, `/blog/*`, and targets such as `/posts/:id` or
 * `https://example.com/:splat` that receive what a pattern captured. Pure;
 * every mistake in a pattern or target is a {@linkcode RuleError}.
 *
 * @module
 */

import { RuleError } from "./types.ts";

/** The longest path pattern accepted, in characters. */
export const MAX_PATTERN_LENGTH = 1024;

/** The longest target accepted, in characters. */
export const MAX_TARGET_LENGTH = 2048;

/** The name `*` binds. */
export const SPLAT = "splat";

/** A compiled path pattern. */
export interface PathPattern {
  /** The pattern as written. */
  readonly source: string;
  /** The names it binds, in order (`splat` last when it ends in `*`). */
  readonly names: readonly string[];
  /**
   * The percent-decoded first segment when it is literal (`""` for the
   * pattern `/`), or null when a placeholder or `*` comes first: a request
   * whose first segment differs cannot match.
   */
  readonly firstLiteral: string | null;
  /**
   * Matches a raw request path (still percent-encoded, starting with `/`).
   *
   * @param pathname The request's path.
   * @returns The captured values (raw text) by name, or null.
   */
  match(pathname: string): Readonly<Record<string, string>> | null;
}

/** One segment of a pattern: decoded literal text, or a placeholder's name. */
type Segment = { readonly literal: string } | { readonly name: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
// Whitespace of any kind, and the controls (C0, DEL and C1).
const SPACE_OR_CONTROL = /[\s\p{Cc}]/u;
const ABSOLUTE = /^https?:\/\//i;

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

class CompiledPattern implements PathPattern {
  readonly names: readonly string[];
  readonly firstLiteral: string | null;

  constructor(
    readonly source: string,
    private readonly segments: readonly Segment[],
    private readonly splat: boolean,
  ) {
    const names = segments.flatMap((s) => "name" in s ? [s.name] : []);
    if (splat) names.push(SPLAT);
    this.names = names;
    const first = segments[0];
    if (first === undefined) this.firstLiteral = splat ? null : "";
    else this.firstLiteral = "literal" in first ? first.literal : null;
  }

  match(pathname: string): Readonly<Record<string, string>> | null {
    if (pathname.charCodeAt(0) !== 0x2f) return null;
    // One trailing slash is ignored, so `/about` and `/about/` are one path.
    const end = pathname.length > 1 && pathname.endsWith("/")
      ? pathname.length - 1
      : pathname.length;
    let pos = end === 1 ? 2 : 1; // "/" has no segments at all
    let params: Record<string, string> | null = null;
    for (const segment of this.segments) {
      if (pos > end) return null;
      let next = pathname.indexOf("/", pos);
      if (next === -1 || next > end) next = end;
      const raw = pathname.slice(pos, next);
      if ("literal" in segment) {
        if (!literalMatches(raw, segment.literal)) return null;
      } else {
        if (raw === "") return null;
        (params ??= emptyParams())[segment.name] = raw;
      }
      pos = next + 1;
    }
    if (this.splat) {
      (params ??= emptyParams())[SPLAT] = pos > end ? "" : pathname.slice(pos);
    } else if (pos <= end) return null;
    return params ?? NO_PARAMS;
  }
}

/**
 * Compiles a path pattern. Segments are literal text (compared after
 * percent-decoding), `:name` placeholders (one non-empty segment each), and
 * a final `*` that binds `splat` to the rest of the path (possibly empty).
 *
 * @param path The pattern (`/blog/:year/*`).
 * @param where Where it was written, for the error.
 * @returns The compiled pattern.
 * @throws {RuleError} When the pattern cannot be used.
 *
 * @example
 * ```ts
 * const pattern = compilePattern("/users/:id/*", "portico.json: rules[0].path");
 * pattern.match("/users/7/posts/1"); // { id: "7", splat: "posts/1" }
 * pattern.match("/users"); // null
 * ```
 */
export function compilePattern(path: string, where: string): PathPattern {
  checkPatternText(path, where);
  // A trailing slash is the same path without it.
  const body = path.endsWith("/") ? path.slice(1, -1) : path.slice(1);
  const parts = path === "/" ? [] : body.split("/");
  const splat = parts[parts.length - 1] === "*";
  if (splat) parts.pop();
  const segments: Segment[] = [];
  for (const part of parts) segments.push(compileSegment(part, segments, where));
  return new CompiledPattern(path, segments, splat);
}

function checkPatternText(path: string, where: string): void {
  if (path.length > MAX_PATTERN_LENGTH) {
    throw new RuleError(
      where,
      `expected a path pattern of at most ${MAX_PATTERN_LENGTH} characters`,
    );
  }
  if (!path.startsWith("/")) {
    throw new RuleError(
      where,
      `expected a path pattern starting with /, not ${JSON.stringify(path)}`,
    );
  }
  if (path.includes("?")) {
    throw new RuleError(
      where,
      "expected a path pattern without ?; query parameters are conditions",
    );
  }
  if (path.includes("#")) throw new RuleError(where, "expected a path pattern without #");
  if (SPACE_OR_CONTROL.test(path)) {
    throw new RuleError(where, "expected a path pattern without spaces or control characters");
  }
}

function compileSegment(part: string, before: readonly Segment[], where: string): Segment {
  if (part === "") {
    throw new RuleError(where, "expected a path pattern without empty segments (//)");
  }
  if (part.includes("*")) {
    throw new RuleError(where, "expected * only as the whole last segment, as in /blog/*");
  }
  if (part.startsWith(":")) {
    const name = part.slice(1);
    if (!NAME.test(name)) {
      throw new RuleError(
        where,
        `expected a placeholder name of letters, digits and _ not starting with a digit, not ${
          JSON.stringify(part)
        }`,
      );
    }
    if (name === SPLAT) {
      throw new RuleError(where, "expected another name than :splat, which * binds");
    }
    if (before.some((s) => "name" in s && s.name === name)) {
      throw new RuleError(where, `expected each placeholder once; :${name} appears twice`);
    }
    return { name };
  }
  const literal = decodeSegment(part);
  if (literal === null) {
    throw new RuleError(where, "expected % only in escapes of UTF-8 such as %20 or %C3%A9");
  }
  if (literal === "." || literal === "..") {
    throw new RuleError(where, "expected a path pattern without . or .. segments");
  }
  return { literal };
}

/** A record without a prototype, so that a placeholder named `__proto__` is one like any other. */
function emptyParams(): Record<string, string> {
  return Object.create(null);
}

/** Whether a raw request segment equals a decoded literal once it is decoded. */
function literalMatches(raw: string, literal: string): boolean {
  // An invalid escape never matches, even one that reads like the literal's text.
  if (!raw.includes("%")) return raw === literal;
  return decodeSegment(raw) === literal;
}

/**
 * Percent-decodes one path segment, or null when an escape is invalid or the
 * bytes are not UTF-8.
 *
 * @param raw The segment as sent.
 * @returns The decoded text, or null.
 *
 * @example
 * ```ts
 * decodeSegment("caf%C3%A9"); // "café"
 * decodeSegment("100%"); // null
 * ```
 */
export function decodeSegment(raw: string): string | null {
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** Where placeholders may start in a target: after the scheme and host of an absolute URL. */
function placeholderStart(to: string): number {
  if (!ABSOLUTE.test(to)) return 0;
  const hostStart = to.indexOf("//") + 2;
  for (let i = hostStart; i < to.length; i++) {
    const c = to[i];
    if (c === "/" || c === "?" || c === "#") return i;
  }
  return to.length;
}

/** Calls `visit` with every placeholder token of a target: its position and name. */
function eachPlaceholder(to: string, visit: (at: number, name: string) => void): void {
  for (let i = placeholderStart(to); i < to.length - 1; i++) {
    if (to[i] !== ":" || !NAME_START.test(to[i + 1])) continue;
    let end = i + 2;
    while (end < to.length && NAME_CHAR.test(to[end])) end++;
    visit(i, to.slice(i + 1, end));
    i = end - 1;
  }
}

/**
 * The placeholder names a target uses, each once, in order of first use.
 *
 * @param to The target (`/posts/:year/:splat`).
 * @returns The names.
 *
 * @example
 * ```ts
 * targetNames("https://example.com:8080/:lang/:splat"); // ["lang", "splat"]
 * ```
 */
export function targetNames(to: string): string[] {
  const names: string[] = [];
  eachPlaceholder(to, (_, name) => {
    if (!names.includes(name)) names.push(name);
  });
  return names;
}

/**
 * Fills a target's `:name` tokens (a `:` and a name, ended by any character
 * that cannot be in a name) with captured values; a token whose name has no
 * value stays as written. The scheme and host of an absolute URL are never
 * filled (`:8080` is a port).
 *
 * @param to The target.
 * @param params Values by name.
 * @returns The filled target.
 *
 * @example
 * ```ts
 * fillTarget("/posts/:id.html", { id: "7" }); // "/posts/7.html"
 * fillTarget("/archive/:splat", { splat: "2020/a" }); // "/archive/2020/a"
 * ```
 */
export function fillTarget(to: string, params: Readonly<Record<string, string>>): string {
  let out = "";
  let copied = 0;
  eachPlaceholder(to, (at, name) => {
    if (!Object.hasOwn(params, name)) return;
    out += to.slice(copied, at) + params[name];
    copied = at + 1 + name.length;
  });
  return copied === 0 ? to : out + to.slice(copied);
}

/**
 * Checks a rule's target: a path starting with a single `/`, or an absolute
 * `http://` or `https://` URL with an ASCII host; no spaces, control
 * characters or backslashes (a browser reads `/\host` as another host); and
 * only placeholders that are bound.
 *
 * @param to The target.
 * @param bound The names the path pattern and query conditions bind.
 * @param where Where the target was written, for the error.
 * @throws {RuleError} When the target cannot be used.
 *
 * @example
 * ```ts
 * checkTarget("/posts/:id", ["id"], "_redirects:3"); // fine
 * checkTarget("/posts/:slug", ["id"], "_redirects:3"); // throws: :slug is not bound
 * ```
 */
export function checkTarget(to: string, bound: readonly string[], where: string): void {
  if (to.length > MAX_TARGET_LENGTH) {
    throw new RuleError(where, `expected a target of at most ${MAX_TARGET_LENGTH} characters`);
  }
  // A lone surrogate could not be percent-encoded as UTF-8.
  if (SPACE_OR_CONTROL.test(to) || to.includes("\\") || !to.isWellFormed()) {
    throw new RuleError(where, "expected a target without spaces, control characters or \\");
  }
  if (ABSOLUTE.test(to)) {
    const host = to.slice(to.indexOf("//") + 2, placeholderStart(to));
    if (host === "" || !/^[\x21-\x7e]+$/.test(host)) {
      throw new RuleError(
        where,
        `expected an http:// or https:// URL with an ASCII host, not ${JSON.stringify(to)}`,
      );
    }
  } else if (!to.startsWith("/") || to.startsWith("//")) {
    throw new RuleError(
      where,
      `expected a target path starting with / or an http:// or https:// URL, not ${
        JSON.stringify(to)
      }`,
    );
  }
  for (const name of targetNames(to)) {
    if (!bound.includes(name)) {
      throw new RuleError(where, `:${name} in the target is not bound by the path or the query`);
    }
  }
}

/**
 * Checks a rule's query conditions (`{ id: ":id", lang: "en" }`): names and
 * exact values without spaces, control characters, `&`, `=` (in names) or
 * `#`; `:name` values bind a placeholder that neither the path nor another
 * condition binds.
 *
 * @param query The conditions by parameter name.
 * @param pathNames The names the path pattern binds.
 * @param whereOf Where the condition for a parameter was written, for the error.
 * @returns Every name bound: the path's, then the query's.
 * @throws {RuleError} When a condition cannot be used.
 *
 * @example
 * ```ts
 * bindQuery({ id: ":id" }, [], (key) => `rules[0].query.${key}`); // ["id"]
 * ```
 */
export function bindQuery(
  query: Readonly<Record<string, string>>,
  pathNames: readonly string[],
  whereOf: (key: string) => string,
): string[] {
  const names = [...pathNames];
  for (const [key, value] of Object.entries(query)) {
    const where = whereOf(key);
    if (key === "" || /[&=#]/.test(key) || SPACE_OR_CONTROL.test(key)) {
      throw new RuleError(where, "expected a parameter name without spaces, &, = or #");
    }
    if (!value.startsWith(":")) {
      if (value === "" || /[&#]/.test(value) || SPACE_OR_CONTROL.test(value)) {
        throw new RuleError(where, "expected a non-empty value without spaces, & or #, or a :name");
      }
      continue;
    }
    const name = value.slice(1);
    if (!NAME.test(name) || name === SPLAT) {
      throw new RuleError(
        where,
        `expected :name with letters, digits and _ not starting with a digit (not :splat), not ${
          JSON.stringify(value)
        }`,
      );
    }
    if (names.includes(name)) {
      throw new RuleError(where, `expected each :name once; :${name} is bound twice`);
    }
    names.push(name);
  }
  return names;
}

/**
 * The `_redirects` file, in the format Netlify and Cloudflare Pages read:
 * one rule a line, `FROM [key=value ...] TO [STATUS[!]] [conditions ...]`.
 * What Portico cannot do (country and language conditions, proxying, other
 * statuses) is reported and the rule skipped; what no server could use is
 * refused with the line it is on.
 *
 * @module
 */

import { STATUS_TEXT } from "../http/status.ts";
import { bindQuery, checkTarget, compilePattern, targetNames } from "./pattern.ts";
import { REDIRECT_STATUSES, type RouteRule, RuleError } from "./types.ts";

/** A `_redirects` file read: the rules kept, and one message per rule skipped. */
export interface RedirectsFile {
  /** The rules, in file order. */
  readonly routes: RouteRule[];
  /** Why each unsupported rule was skipped (`_redirects:12: ...; the rule is skipped`). */
  readonly unsupported: string[];
}

/** What the `_redirects` format allows that Portico does not do; such rules are skipped. */
export const REDIRECTS_UNSUPPORTED: readonly string[] = Object.freeze([
  "Country=, Language=, Role= and Cookie= conditions",
  "rewrites (200 or 404) to another site, that is proxying",
  "statuses HTTP defines other than 200, 301, 302, 303, 307, 308 and 404 (such as 410 or 451)",
  "rules for a whole host, written with a full URL as the path",
]);

/** The longest line accepted, in bytes of UTF-8. */
export const MAX_REDIRECTS_LINE_BYTES = 2048;

/** The statuses a `_redirects` rule may have. */
const STATUSES: readonly number[] = [200, ...REDIRECT_STATUSES, 404].sort((a, b) => a - b);
const STATUS_EXPECTED = `expected ${STATUSES.slice(0, -1).join(", ")} or ${STATUSES.at(-1)}`;
const DEFAULT_STATUS = 301;
/**
 * The statuses HTTP defines (RFC 9110 §15) and 451 (RFC 7725): a rule with
 * one that is not served is skipped; any other number is a mistake.
 */
const DEFINED_STATUSES: ReadonlySet<number> = new Set([
  ...Object.keys(STATUS_TEXT).map(Number),
  451,
]);

/** Conditions that select by visitor; Portico knows nothing about visitors. */
const VISITOR_CONDITIONS: ReadonlyMap<string, string> = new Map(
  ["Country", "Language", "Role", "Cookie"].map((name) => [name.toLowerCase(), name]),
);

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const STATUS_TOKEN = /^([0-9]{3})(!?)$/;

/** A line read: a rule, or the reason it is skipped. */
type LineResult = { readonly rule: RouteRule } | { readonly skip: string };

/**
 * Reads a `_redirects` file. Blank lines and `#` comments (whole lines, or
 * after a space) are ignored.
 *
 * @param text The file's text.
 * @param file Its name in messages.
 * @returns The rules and the messages for skipped ones.
 * @throws {RuleError} `${file}:${line}` and what is expected, for a rule that cannot be used.
 *
 * @example
 * ```ts
 * const { routes } = parseRedirectsFile("/old/* /new/:splat 302\n/app/* /app/index.html 200\n");
 * routes[0].status; // 302
 * routes[1].to; // "/app/index.html"
 * ```
 */
export function parseRedirectsFile(text: string, file = "_redirects"): RedirectsFile {
  const routes: RouteRule[] = [];
  const unsupported: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const where = `${file}:${i + 1}`;
    const fields = lineFields(lines[i], where);
    if (fields.length === 0) continue;
    const result = parseLine(fields, where);
    if ("rule" in result) routes.push(result.rule);
    else unsupported.push(`${where}: ${result.skip}; the rule is skipped`);
  }
  return { routes, unsupported };
}

/** The fields of a line up to its comment. */
function lineFields(line: string, where: string): string[] {
  if (line.length * 3 > MAX_REDIRECTS_LINE_BYTES) {
    if (new TextEncoder().encode(line).length > MAX_REDIRECTS_LINE_BYTES) {
      throw new RuleError(where, `expected a line of at most ${MAX_REDIRECTS_LINE_BYTES} bytes`);
    }
  }
  const fields = line.split(/[ \t]+/).filter((f) => f !== "");
  const comment = fields.findIndex((f) => f.startsWith("#"));
  return comment === -1 ? fields : fields.slice(0, comment);
}

/** One rule from its fields: FROM, query conditions, TO, status, conditions. */
function parseLine(fields: readonly string[], where: string): LineResult {
  const [from] = fields;
  const hostRule = SCHEME.test(from);
  const pattern = hostRule ? null : compilePattern(from, where);
  const conditions = new Map<string, string>();
  let i = 1;
  while (i < fields.length && isQueryToken(fields[i])) addQuery(conditions, fields[i++], where);
  const query = Object.fromEntries(conditions);
  const to = fields[i++];
  if (to === undefined) throw new RuleError(where, "expected a target path or URL after the path");
  const bound = bindQuery(query, pattern?.names ?? [], () => where);
  checkTarget(to, hostRule ? [...bound, ...targetNames(to)] : bound, where);
  const { status, force, next } = readStatus(fields, i, where);
  // Every field is checked before a rule is skipped: a mistake is refused even then.
  const reasons = [
    hostRule ? "rules for a whole host (a full URL as the path) are not supported" : null,
    STATUSES.includes(status) ? null : `status ${status} is not supported`,
    ...fields.slice(next).map((field) => conditionSkip(field, where)),
    (status === 200 || status === 404) && SCHEME.test(to)
      ? "rewrites to another site (proxying) are not supported"
      : null,
  ];
  const skip = reasons.find((reason) => reason !== null);
  if (skip) return { skip };
  return {
    rule: { path: from, query, to, status: status as RouteRule["status"], force, origin: where },
  };
}

/** A field between FROM and TO that is a query condition rather than the target. */
function isQueryToken(field: string): boolean {
  return field.includes("=") && !field.startsWith("/") && !SCHEME.test(field);
}

function addQuery(query: Map<string, string>, field: string, where: string): void {
  const eq = field.indexOf("=");
  const key = field.slice(0, eq);
  if (key === "") {
    throw new RuleError(
      where,
      `expected a query condition key=value, not ${JSON.stringify(field)}`,
    );
  }
  if (query.has(key)) {
    throw new RuleError(
      where,
      `expected each query parameter once; ${JSON.stringify(key)} appears twice`,
    );
  }
  query.set(key, field.slice(eq + 1));
}

/** The status field after TO, if there is one (conditions contain `=`; a status does not). */
function readStatus(
  fields: readonly string[],
  i: number,
  where: string,
): { status: number; force: boolean; next: number } {
  const field = fields[i];
  if (field === undefined || field.includes("=")) {
    return { status: DEFAULT_STATUS, force: false, next: i };
  }
  const match = STATUS_TOKEN.exec(field);
  const status = match === null ? 0 : Number(match[1]);
  if (!DEFINED_STATUSES.has(status)) {
    throw new RuleError(where, `${STATUS_EXPECTED}, not ${JSON.stringify(field)}`);
  }
  return { status, force: match?.[2] === "!", next: i + 1 };
}

/** The reason a condition after the status makes the rule skipped. */
function conditionSkip(field: string, where: string): string {
  const eq = field.indexOf("=");
  const name = eq > 0 ? VISITOR_CONDITIONS.get(field.slice(0, eq).toLowerCase()) : undefined;
  if (name === undefined) {
    throw new RuleError(
      where,
      `expected only Country=, Language=, Role= or Cookie= conditions after the status, not ${
        JSON.stringify(field)
      }`,
    );
  }
  return `${name}= conditions are not supported`;
}

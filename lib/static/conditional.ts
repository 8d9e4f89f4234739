/**
 * Validators and preconditions (RFC 9110 §8.8 and §13). The functions return
 * decisions; the caller builds the response.
 *
 * @module
 */

/** The validators of a representation. */
export interface Validators {
  /** A strong entity tag, quoted (`"5f-18c2a"`). */
  readonly etag: string;
  /** The modification time, or null when unknown. */
  readonly lastModified: Date | null;
}

/** The outcome of evaluating preconditions. */
export type Precondition = "proceed" | "not-modified" | "failed";

/**
 * A strong entity tag from a file's size and modification time: it changes
 * whenever either does, which is what a static file's content does.
 *
 * @param size Size in bytes.
 * @param mtime Modification time, if known.
 * @returns A quoted strong entity tag.
 *
 * @example
 * ```ts
 * fileEtag(12, new Date(0)); // "\"0-c\""
 * ```
 */
export function fileEtag(size: number, mtime: Date | null): string {
  const time = mtime === null ? 0 : mtime.getTime();
  return `"${Math.trunc(time).toString(16)}-${size.toString(16)}"`;
}

/**
 * Parses an HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, or the obsolete RFC 850
 * and asctime forms that recipients must accept).
 *
 * @param value The field value.
 * @returns The date, or null when it is not a date.
 */
export function parseHttpDate(value: string): Date | null {
  const trimmed = value.trim();
  // Every form names a weekday and the time as hh:mm:ss, and ends in "GMT"
  // or (asctime) the year; any other zone would be silently read as GMT.
  if (!/^[A-Za-z]{3,9},? .*\d\d:\d\d:\d\d(?: GMT| \d{4})$/.test(trimmed)) return null;
  const time = Date.parse(trimmed.endsWith("GMT") ? trimmed : `${trimmed} GMT`);
  return Number.isNaN(time) ? null : new Date(time);
}

/**
 * Splits an entity-tag list (`If-Match`, `If-None-Match`).
 *
 * @param value The field value.
 * @returns `"*"`, or the tags as sent (with `W/` and quotes); malformed members are dropped.
 */
export function parseEtagList(value: string): "*" | string[] {
  if (value.trim() === "*") return "*";
  const tags: string[] = [];
  // Leading `[\s,]*`: empty list members are allowed (RFC 9110 §5.6.1).
  const pattern = /[\s,]*((?:W\/)?"[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)/y;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(value)) !== null && match[0] !== "") tags.push(match[1]);
  return tags;
}

/** Strong comparison (RFC 9110 §8.8.3.2): both strong and identical. */
function strongMatch(a: string, b: string): boolean {
  return !a.startsWith("W/") && !b.startsWith("W/") && a === b;
}

/** Weak comparison: identical opaque tags, whatever the W/ prefixes. */
function weakMatch(a: string, b: string): boolean {
  return (a.startsWith("W/") ? a.slice(2) : a) === (b.startsWith("W/") ? b.slice(2) : b);
}

/** Whole seconds, the resolution of HTTP dates. */
function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/**
 * Evaluates preconditions in the order of RFC 9110 §13.2.2 for an existing
 * representation.
 *
 * @param method The request method.
 * @param headers The request's fields.
 * @param validators The representation's validators.
 * @param now The current time (dates in the future are ignored).
 * @returns "failed" (412), "not-modified" (304) or "proceed".
 *
 * @example
 * ```ts
 * const headers = new Headers({ "if-none-match": '"a"' });
 * evaluatePreconditions("GET", headers, { etag: '"a"', lastModified: null }); // "not-modified"
 * ```
 */
export function evaluatePreconditions(
  method: string,
  headers: Pick<Headers, "get">,
  validators: Validators,
  now: Date = new Date(),
): Precondition {
  const { etag, lastModified } = validators;
  const ifMatch = headers.get("if-match");
  if (ifMatch !== null) {
    const tags = parseEtagList(ifMatch);
    if (tags !== "*" && !tags.some((tag) => strongMatch(tag, etag))) return "failed";
  } else {
    const since = dateField(headers, "if-unmodified-since");
    if (since !== null && lastModified !== null && seconds(lastModified) > seconds(since)) {
      return "failed";
    }
  }
  const safe = method === "GET" || method === "HEAD";
  const ifNoneMatch = headers.get("if-none-match");
  if (ifNoneMatch !== null) {
    const tags = parseEtagList(ifNoneMatch);
    if (tags === "*" || tags.some((tag) => weakMatch(tag, etag))) {
      return safe ? "not-modified" : "failed";
    }
  } else if (safe) {
    const since = dateField(headers, "if-modified-since");
    if (
      since !== null && lastModified !== null && since.getTime() <= now.getTime() &&
      seconds(lastModified) <= seconds(since)
    ) {
      return "not-modified";
    }
  }
  return "proceed";
}

/**
 * Whether `If-Range` lets a Range request be answered with a part (RFC 9110
 * §13.1.5): an entity tag must match strongly, a date must equal the
 * modification time exactly.
 *
 * @param value The If-Range value, or null when absent (then ranges apply).
 * @param validators The representation's validators.
 * @returns True when the range may be served.
 */
export function ifRangeAllows(value: string | null, validators: Validators): boolean {
  if (value === null) return true;
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith("W/")) {
    return strongMatch(trimmed, validators.etag);
  }
  const date = parseHttpDate(trimmed);
  return date !== null && validators.lastModified !== null &&
    seconds(date) === seconds(validators.lastModified);
}

function dateField(headers: Pick<Headers, "get">, name: string): Date | null {
  const value = headers.get(name);
  return value === null ? null : parseHttpDate(value);
}

/**
 * The default `Cache-Control` of a static file response, by kind of file:
 * names that carry a content hash, HTML documents, and everything else.
 *
 * ## Which rule applies
 *
 * A name that {@linkcode isFingerprinted} gets `hashed`, even an HTML file;
 * otherwise a `text/html` response (parameters and case ignored) gets
 * `html`; otherwise `other`. A rule set to null means no header; it never
 * falls through to another rule.
 *
 * ## Why `other` defaults to `public, max-age=300`
 *
 * Without the header, browsers compute a heuristic freshness of about a
 * tenth of the time since `Last-Modified` (RFC 9111 §4.2.2), so a stylesheet
 * untouched for a month can stay stale for three days after a deploy. Five
 * minutes bounds that staleness while still sparing repeated loads in one
 * visit; `no-cache` would bound it to zero at the price of a revalidation on
 * every use, which is what `html` does for the documents that name the rest.
 *
 * ## The fingerprint rule
 *
 * Only the last path segment counts (split at `/` and `\`). It must not start
 * with `.` and must have an extension, which is dropped: the rest is the
 * *stem* (`main.8a7b6c5d.chunk` for `main.8a7b6c5d.chunk.js`). A name that
 * contains a UUID (hex groups of 8-4-4-4-12, either case) is never
 * fingerprinted: it names a record, not content. Otherwise the stem is split
 * at `.` into segments, and the name is fingerprinted when
 *
 * 1. a segment after the first is a *hash*, as in `main.3f9a2c1b.js` or
 *    `start.BQ_Wz8nl.js`; or
 * 2. a segment ends in `-` and a hash with at least one character before
 *    the `-`, as in `index-C-bnRsKF.js`, `app-5XKQ7P2M.js` or
 *    `main-3f2a1b4c5d6e7f80.js`; or
 * 3. the first segment is a hex hash of at least 16 characters, as in
 *    `8e2b7a1c4d5f6e30.css`.
 *
 * A *hash* is one of:
 *
 * - **hex**: 8 to 64 of `0-9a-f` (lower case) with at least one digit and
 *   at least one letter (webpack, Parcel, Angular, Next.js, Rollup 3 and
 *   Vite 2–4, Django, Rails, Phoenix, Hugo). A date or a counter (all digits)
 *   or a word such as `deadbeef` (no digit) is not one.
 * - **base32**: exactly 8 of `A-Z2-7` with at least one digit and at least
 *   two letters (esbuild).
 * - **base64url**: exactly 8 of `A-Za-z0-9_-` with at least one upper-case
 *   and one lower-case letter that fall into at least five *runs* (Rollup 4,
 *   so Vite 5+, SvelteKit, Astro, Nuxt). A run is a stretch of digits, a
 *   single `-` or `_`, or a stretch of letters, where a new letter run starts
 *   wherever a lower-case letter is followed by an upper-case one:
 *   `C-bnRsKF` is `C`,`-`,`bn`,`Rs`,`KF` (five), whereas `WorldApp` (two),
 *   `Dropdown` (one) and `Photo-V2` (four) read as words.
 *
 * The rule errs towards "no": a false positive keeps a file that can change
 * in browsers for a year, a false negative only costs a revalidation. So it
 * deliberately misses some real hashes: more than half of Rollup 4's (those
 * made of few runs, such as `index-DiwrgTda.js`, which cannot be told apart from
 * `Hello-WorldApp.js`), about a fifth of esbuild's (no digit), hex hashes
 * with no letter or no digit, and upper-case hex. Known false positives:
 * names carrying a hex identifier or a hash of something other than the
 * file's bytes (`avatars/507f1f77bcf86cd799439011.jpg`, an MD5 of an e-mail
 * address), and rare product-like tokens such as `banner-Hi-Res2x.png` or
 * `games-PS2GAMES.png`. Serve such files with `hashed: null` or explicit
 * headers.
 *
 * @module
 */

/** The `Cache-Control` value per kind of file; null means the rule is off (no header). */
export interface CacheControlPolicy {
  /** Files whose names carry a content hash. Default `public, max-age=31536000, immutable`. */
  readonly hashed: string | null;
  /** HTML documents (`text/html`). Default `no-cache`. */
  readonly html: string | null;
  /** Every other file. Default `public, max-age=300`. */
  readonly other: string | null;
}

/**
 * The defaults: a year and `immutable` for fingerprinted names (RFC 8246),
 * revalidation on every use for HTML, five minutes for the rest.
 *
 * @example
 * ```ts
 * DEFAULT_CACHE_CONTROL.html; // "no-cache"
 * ```
 */
export const DEFAULT_CACHE_CONTROL: Readonly<CacheControlPolicy> = Object.freeze({
  hashed: "public, max-age=31536000, immutable",
  html: "no-cache",
  other: "public, max-age=300",
});

/** Length of the base32 and base64url hashes (Rollup 4, esbuild). */
const _SHORT_HASH_LENGTH = 8;
/** Shortest hex hash, and shortest hex stem counted as a hash on its own. */
const _MIN_HEX = 8;
const _MIN_BARE_HEX = 16;
const _MAX_HEX = 64;
/** Fewest runs a base64url hash must fall into (see the module doc). */
const _MIN_BASE64_RUNS = 5;

const _UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const _HEX = /^[0-9a-f]+$/;
const _BASE32 = /^[A-Z2-7]+$/;
const _BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Runs of a base64url hash: letters split where lower case meets upper case, digits, `-`, `_`. */
const _RUN = /[A-Z]*[a-z]+|[A-Z]+|[0-9]+|[-_]/g;

/**
 * Whether a file name carries a content hash as produced by common bundlers
 * (webpack, Vite/Rollup, esbuild, Parcel, Angular, Next.js and others); the
 * exact rule is in the module doc.
 *
 * @param name A file name or a path; only the last segment counts.
 * @returns True when the name carries a content hash.
 *
 * @example
 * ```ts
 * isFingerprinted("assets/index-C-bnRsKF.js"); // true
 * isFingerprinted("static/js/main.8a7b6c5d.chunk.js"); // true
 * isFingerprinted("jquery-3.7.1.min.js"); // false
 * ```
 */
export function isFingerprinted(name: string): boolean {
  const base = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  const dot = base.lastIndexOf(".");
  if (base.startsWith(".") || dot === -1) return false;
  if (_UUID.test(base)) return false;
  const segments = base.slice(0, dot).split(".");
  if (_isHex(segments[0], _MIN_BARE_HEX)) return true;
  return segments.some((segment, i) => (i > 0 && _isHash(segment)) || _endsWithDashHash(segment));
}

/**
 * The `Cache-Control` value for a file: `hashed` for a fingerprinted name,
 * else `html` for `text/html`, else `other`; a rule set to null gives null.
 *
 * @param name The name the file is served under (a path is fine).
 * @param contentType Its `Content-Type`, parameters allowed.
 * @param policy The value per kind of file.
 * @returns The header value, or null for no header.
 *
 * @example
 * ```ts
 * cacheControlFor("index.html", "text/html; charset=utf-8", DEFAULT_CACHE_CONTROL); // "no-cache"
 * cacheControlFor("app-5XKQ7P2M.js", "text/javascript", DEFAULT_CACHE_CONTROL);
 * // "public, max-age=31536000, immutable"
 * ```
 */
export function cacheControlFor(
  name: string,
  contentType: string,
  policy: Readonly<CacheControlPolicy>,
): string | null {
  if (isFingerprinted(name)) return policy.hashed;
  if (_isHtml(contentType)) return policy.html;
  return policy.other;
}

function _isHtml(contentType: string): boolean {
  const semicolon = contentType.indexOf(";");
  const essence = semicolon === -1 ? contentType : contentType.slice(0, semicolon);
  return essence.trim().toLowerCase() === "text/html";
}

/** Whether a segment ends in `-` and a hash, with something before the `-`. */
function _endsWithDashHash(segment: string): boolean {
  // A short hash may itself contain `-`, so it is the last 8 characters.
  const short = segment.length - _SHORT_HASH_LENGTH;
  if (short > 1 && segment[short - 1] === "-") {
    const tail = segment.slice(short);
    if (_isBase32(tail) || _isBase64Url(tail)) return true;
  }
  // A hex hash has no `-`, so it is what follows the last one.
  const dash = segment.lastIndexOf("-");
  return dash > 0 && _isHex(segment.slice(dash + 1), _MIN_HEX);
}

function _isHash(text: string): boolean {
  return _isHex(text, _MIN_HEX) || _isBase32(text) || _isBase64Url(text);
}

function _isHex(text: string, minLength: number): boolean {
  return text.length >= minLength && text.length <= _MAX_HEX && _HEX.test(text) &&
    /[0-9]/.test(text) && /[a-f]/.test(text);
}

function _isBase32(text: string): boolean {
  return text.length === _SHORT_HASH_LENGTH && _BASE32.test(text) && /[2-7]/.test(text) &&
    _count(text, /[A-Z]/g) >= 2;
}

function _isBase64Url(text: string): boolean {
  return text.length === _SHORT_HASH_LENGTH && _BASE64URL.test(text) && /[A-Z]/.test(text) &&
    /[a-z]/.test(text) && _count(text, _RUN) >= _MIN_BASE64_RUNS;
}

function _count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

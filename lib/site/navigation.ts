/**
 * Whether a request for a path with no file is a page navigation, the only
 * kind a single-page application's fallback page should answer: a script,
 * an image or a `fetch()` that asks for a missing file must get the 404 it
 * expects, not the application's HTML with 200.
 *
 * ## The decision, in order
 *
 * 1. Only GET and HEAD navigate.
 * 2. `Sec-Fetch-Mode: navigate`, or `Sec-Fetch-Dest` of `document`,
 *    `iframe` or `frame`, is a navigation (Fetch Metadata, sent by every
 *    current browser).
 * 3. Any other `Sec-Fetch-Mode` or `Sec-Fetch-Dest` (`cors`, `no-cors`,
 *    `script`, `image`, ...) is not: the browser said what it is fetching.
 * 4. Without those fields (older browsers, some clients and crawlers): a
 *    navigation when `Accept` lists `text/html` itself with a quality above
 *    zero (the any-type range alone is what scripts and images send too), and the last
 *    path segment has no file extension: `/dashboard/settings` and
 *    `/.well-known` do, `/app.js` and `/v1.2/data.json` do not, and
 *    `/v1.2/users` does (only the last segment counts).
 *
 * The fields the decision read are returned, to be sent as `Vary` with the
 * answer: a cache must not hand the fallback page to a script that asks for
 * the same URL.
 *
 * @module
 */

/** Whether a request navigates, and the request fields that decided it. */
export interface Navigation {
  /** True for a page navigation. */
  readonly navigate: boolean;
  /** The request fields the decision read, for `Vary` (empty when only the method counted). */
  readonly vary: readonly string[];
}

/** What `Sec-Fetch-Dest` says for a document loaded into a window or a frame. */
const DOCUMENT_DESTS: ReadonlySet<string> = new Set(["document", "iframe", "frame"]);

const METHODS: ReadonlySet<string> = new Set(["GET", "HEAD"]);

/** The answers that read nothing but the method and the Fetch Metadata fields. */
const ANSWERS = {
  method: _answer(false, []),
  byMode: _answer(true, ["Sec-Fetch-Mode"]),
  byDest: _answer(true, ["Sec-Fetch-Mode", "Sec-Fetch-Dest"]),
  notByFetch: _answer(false, ["Sec-Fetch-Mode", "Sec-Fetch-Dest"]),
} as const;

/** The fields read when the Fetch Metadata fields are absent. */
const BY_ACCEPT: readonly string[] = Object.freeze(["Sec-Fetch-Mode", "Sec-Fetch-Dest", "Accept"]);

/**
 * Whether a request is a page navigation (see the module doc for the rule),
 * and which request fields the answer depends on.
 *
 * @param request The request: its method, URL and fields.
 * @returns Whether it navigates, and the field names to send in `Vary`.
 *
 * @example
 * ```ts
 * const page = new Request("http://localhost/dashboard", {
 *   headers: { "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" },
 * });
 * navigation(page); // { navigate: true, vary: ["Sec-Fetch-Mode"] }
 * const script = new Request("http://localhost/app.js", {
 *   headers: { "sec-fetch-mode": "no-cors", "sec-fetch-dest": "script" },
 * });
 * navigation(script).navigate; // false
 * ```
 */
export function navigation(request: Request): Navigation {
  if (!METHODS.has(request.method)) return ANSWERS.method;
  const mode = _lowerField(request.headers, "sec-fetch-mode");
  if (mode === "navigate") return ANSWERS.byMode;
  const dest = _lowerField(request.headers, "sec-fetch-dest");
  if (dest !== null && DOCUMENT_DESTS.has(dest)) return ANSWERS.byDest;
  if (mode !== null || dest !== null) return ANSWERS.notByFetch;
  const navigate = _acceptsHtml(request.headers.get("accept")) &&
    !_hasExtension(new URL(request.url).pathname);
  return { navigate, vary: BY_ACCEPT };
}

/** A shared answer, frozen so no caller can change it for the next request. */
function _answer(navigate: boolean, vary: readonly string[]): Navigation {
  return Object.freeze({ navigate, vary: Object.freeze([...vary]) });
}

function _lowerField(headers: Headers, name: string): string | null {
  const value = headers.get(name);
  return value === null ? null : value.trim().toLowerCase();
}

/**
 * Whether an `Accept` value lists `text/html` with a quality above zero
 * (RFC 9110 §12.5.1). Ranges with a malformed quality are skipped.
 */
function _acceptsHtml(accept: string | null): boolean {
  if (accept === null) return false;
  for (const member of accept.split(",")) {
    const [range, ...params] = member.split(";");
    if (range.trim().toLowerCase() !== "text/html") continue;
    if (_quality(params) > 0) return true;
  }
  return false;
}

/** The `q` parameter among a media range's parameters: 1 when absent, -1 when malformed. */
function _quality(params: readonly string[]): number {
  for (const param of params) {
    const eq = param.indexOf("=");
    if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== "q") continue;
    const value = param.slice(eq + 1).trim();
    // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 9110 §12.4.2)
    return /^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$/.test(value) ? Number(value) : -1;
  }
  return 1;
}

/** Whether the last segment of a path has an extension: a dot after its first character. */
function _hasExtension(pathname: string): boolean {
  const segment = pathname.slice(pathname.lastIndexOf("/") + 1);
  return segment.lastIndexOf(".") > 0;
}

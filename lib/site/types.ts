/**
 * The site's rules as plain data: what the configuration file and the
 * `_headers` and `_redirects` files say, after validation and before
 * compilation. Plain objects only, so the main thread can read and check
 * them and hand them to the serving workers unchanged.
 *
 * @module
 */

import type { TrailingSlash } from "../static/locate.ts";

/** The statuses a redirect may have. */
export const REDIRECT_STATUSES = [301, 302, 303, 307, 308] as const;

/** A redirect's status. */
export type RedirectStatus = (typeof REDIRECT_STATUSES)[number];

/**
 * Response fields for the paths a pattern matches: `set` replaces a field,
 * `add` appends a value to it, `remove` deletes it. Names are lower case.
 */
export interface HeaderRule {
  /** The path pattern (`/blog/*`, `/users/:id`, `/exact`). */
  readonly path: string;
  /** Fields set, replacing any value the response had. */
  readonly set: Readonly<Record<string, string>>;
  /** Fields appended to (`, `-joined with what is there). */
  readonly add: Readonly<Record<string, string>>;
  /** Fields removed. */
  readonly remove: readonly string[];
  /** Where the rule was written, for messages (`portico.json: rules[2]`, `_headers:14`). */
  readonly origin: string;
}

/**
 * A path sent elsewhere: a redirect (the client is told the new location)
 * or a rewrite (another path is served in its place, with 200, or with 404
 * for a custom not-found page, and the client never sees it).
 */
export interface RouteRule {
  /** The path pattern matched against the request's path. */
  readonly path: string;
  /** Query parameters that must be present (`id=:id` binds `:id`), in the `_redirects` form. */
  readonly query: Readonly<Record<string, string>>;
  /** Where to: a path or an absolute `http(s)` URL, with `:name` and `:splat` filled in. */
  readonly to: string;
  /** A redirect's status, or 200 (rewrite) or 404 (rewrite served as not found). */
  readonly status: RedirectStatus | 200 | 404;
  /** Whether the rule applies when a file exists at the path (`!` in `_redirects`). */
  readonly force: boolean;
  /** Where the rule was written, for messages. */
  readonly origin: string;
}

/** Cross-origin resource sharing for the paths a pattern matches. */
export interface CorsRule {
  /** The path pattern. */
  readonly path: string;
  /** The origins allowed (`https://example.com`), or `"*"` for any. */
  readonly origins: readonly string[] | "*";
  /** The methods a preflight allows (default GET, HEAD, POST). */
  readonly methods: readonly string[];
  /** The request fields a preflight allows (lower case), or `"*"` to echo what is asked. */
  readonly headers: readonly string[] | "*";
  /** The response fields a page may read (`Access-Control-Expose-Headers`). */
  readonly expose: readonly string[];
  /** Whether cookies and credentials are allowed (never with origins `"*"`). */
  readonly credentials: boolean;
  /** How long a preflight may be cached, in seconds, or null to leave it to the browser. */
  readonly maxAge: number | null;
  /** Where the rule was written, for messages. */
  readonly origin: string;
}

export { TRAILING_SLASH, type TrailingSlash } from "../static/locate.ts";

/** Everything about a site that a reload can change, as plain data. */
export interface SiteRules {
  /** Header rules, from the configuration file and then `_headers`. */
  readonly headers: readonly HeaderRule[];
  /** Redirects and rewrites, from the configuration file and then `_redirects`, in order. */
  readonly routes: readonly RouteRule[];
  /** CORS rules, first match wins. */
  readonly cors: readonly CorsRule[];
  /** Error pages by status (`{ "404": "404.html", "500": "errors/500.html" }`), relative to the root. */
  readonly errorPages: Readonly<Record<string, string>>;
  /** The page single-page navigations fall back to, or null for no fallback. */
  readonly spa: string | null;
  /** Whether `/about` serves `about.html` (and `/about.html` redirects to `/about`). */
  readonly cleanUrls: boolean;
  /** The trailing-slash policy. */
  readonly trailingSlash: TrailingSlash;
  /** Whether a directory without an index is listed. */
  readonly list: boolean;
}

/** A site with no rules: today's behaviour. */
export const NO_RULES: SiteRules = Object.freeze({
  headers: Object.freeze([]),
  routes: Object.freeze([]),
  cors: Object.freeze([]),
  errorPages: Object.freeze({}),
  spa: null,
  cleanUrls: false,
  trailingSlash: "auto",
  list: false,
});

/**
 * A rule or configuration value that cannot be used, with where it was
 * written (`portico.json: rules[2].status`, `_redirects:7`) and what is
 * expected.
 */
export class RuleError extends Error {
  /**
   * @param where The file and the JSON path or line.
   * @param expected What would be accepted.
   */
  constructor(readonly where: string, readonly expected: string) {
    super(`${where}: ${expected}`);
    this.name = "RuleError";
  }
}

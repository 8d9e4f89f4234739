/**
 * A site's rules around its files and its application, in one documented
 * order (README "Configuration"):
 *
 * 1. a CORS preflight for a path with a CORS rule is answered at once;
 * 2. forced routes (`!` in `_redirects`, `force: true`): a redirect is
 *    answered, a rewrite changes the path looked up;
 * 3. the files (clean URLs and trailing slashes are the static layer's);
 * 4. for a miss, the other routes, then the directory's listing (`--list`),
 *    then the single-page app's shell for a page navigation (`--spa`), then
 *    the application, then the miss's own page;
 * 5. a built-in error page is replaced by the site's page for its status;
 * 6. header rules, then CORS fields, are applied to whatever answers.
 *
 * @module
 */

import { answerError } from "../exchange.ts";
import type { ErrorHandler, Handler, ServeInfo } from "../handler.ts";
import { errorResponse, isBuiltInErrorPage } from "../http/error_page.ts";
import type { Logger } from "../log.ts";
import { headResponse } from "../static/send.ts";
import type { StaticMiss } from "../static/options.ts";
import type { StaticSite } from "../static/site.ts";
import { corsPolicy } from "./cors.ts";
import { listingResponse } from "./listing.ts";
import { navigation } from "./navigation.ts";
import { compilePattern, type PathPattern } from "./pattern.ts";
import { compileRules, type RuleTable } from "./rule_table.ts";
import type { SiteRules } from "./types.ts";

/** What a ruled site asks of the files: a lookup, a page, the page for a miss. */
export type SiteFiles = Pick<StaticSite, "find" | "page" | "missPage">;

/**
 * No files, for an application served without a root: every path is a
 * miss, so routes, headers and CORS work around the application alone.
 */
export const NO_FILES: SiteFiles = Object.freeze({
  find: () => Promise.resolve(NOT_FOUND),
  page: () => Promise.resolve(null),
  missPage: (_request: Request, miss: StaticMiss) => Promise.resolve(errorResponse(miss.status)),
});

const NOT_FOUND: StaticMiss = Object.freeze({ status: 404 });

/** What a ruled site is made of. */
export interface SiteParts {
  /** The document root's static layer, or {@linkcode NO_FILES}. */
  readonly files: SiteFiles;
  /** The application (already compressing), or null. */
  readonly app: Handler | null;
  /** The rules, as the main thread read and checked them. */
  readonly rules: SiteRules;
  /** The real path of the document root (listings do not follow symlinks out of it). */
  readonly rootReal: string;
  /** The names at the top of the root that are never served nor listed. */
  readonly hidden: readonly string[];
  /** Whether names starting with `.` are served (and listed). */
  readonly dotfiles: boolean;
  /** Where an application's failure is reported. */
  readonly logger: Logger;
  /** Answers for an application that throws, in place of the one error mapping. */
  readonly onError?: ErrorHandler;
}

/** A site with rules: its handler, and which paths the fast path must leave to it. */
export interface RuledSite {
  /** Answers every request. */
  readonly handler: Handler;
  /** Whether a rule could apply to a raw request path (the fast path then declines it). */
  readonly touches: (rawPath: string) => boolean;
}

/** A request and what answered it so far: a response, or a miss. */
interface Step {
  readonly request: Request;
  readonly result: Response | StaticMiss;
}

/**
 * Puts the rules around a root's files and an application.
 *
 * @param parts The files, the application, the rules and what listings need.
 * @returns The handler and the fast path's test.
 *
 * @example
 * ```ts
 * const files = staticSite("www");
 * const { handler } = ruledSite({
 *   files, app: null, rules: { ...NO_RULES, spa: "index.html" }, rootReal: await Deno.realPath("www"),
 *   hidden: RULE_FILES, dotfiles: false, logger: silentLogger,
 * });
 * ```
 */
export function ruledSite(parts: SiteParts): RuledSite {
  const table = compileRules(parts.rules);
  const corsPaths = parts.rules.cors.map((rule) => compilePattern(rule.path, rule.origin));
  const cors = corsPolicy(parts.rules.cors.map((rule, i) => ({
    rule,
    matches: (pathname: string) => corsPaths[i].match(pathname) !== null,
  })));
  const handler: Handler = async (request, info) => {
    const url = new URL(request.url);
    const pathname = rulePath(url.pathname);
    const preflight = cors.preflight(request, pathname);
    if (preflight !== null) return headResponse(request, decorate(preflight, pathname, request));
    const answered = await answer(parts, table, request, info, pathname, url.search);
    const response = await errorPage(parts, request, answered);
    return headResponse(request, decorate(response, pathname, request));
  };
  const decorate = (response: Response, pathname: string, request: Request) => {
    const editable = mutable(response);
    table.applyHeaders(pathname, editable.headers);
    cors.apply(request, pathname, editable.headers);
    return editable;
  };
  return { handler, touches: fastPathTest(table, corsPaths) };
}

/**
 * The path the rules see: the URL's (dot segments already applied) with
 * runs of slashes made one, as the file layer reads it, so `//app.js`
 * meets the rules `/app.js` meets.
 */
function rulePath(pathname: string): string {
  return pathname.includes("//") ? pathname.replace(/\/{2,}/g, "/") : pathname;
}

/** Routes, files, listing, the app shell and the application, in that order. */
async function answer(
  parts: SiteParts,
  table: RuleTable,
  request: Request,
  info: ServeInfo,
  pathname: string,
  search: string,
): Promise<Response> {
  const forced = await routed(parts, table, request, pathname, search, true);
  let step: Step = forced ?? { request, result: await parts.files.find(request, info) };
  if (step.result instanceof Response) return step.result;
  if (forced === null) {
    step = await routed(parts, table, request, pathname, search, false) ?? step;
    if (step.result instanceof Response) return step.result;
  }
  return await missAnswer(parts, step.request, step.result, pathname, info);
}

/** What answers a miss: a listing, the app shell, the application, or the miss's page. */
async function missAnswer(
  parts: SiteParts,
  request: Request,
  miss: StaticMiss,
  pathname: string,
  info: ServeInfo,
): Promise<Response> {
  if (miss.directory !== undefined && parts.rules.list) {
    const atTop = miss.directory === parts.rootReal;
    return await listingResponse(request, { path: miss.directory, urlPath: pathname }, {
      root: parts.rootReal,
      dotfiles: parts.dotfiles,
      hide: atTop ? (name) => parts.hidden.includes(name) : undefined,
    });
  }
  if (miss.status === 404 && parts.rules.spa !== null) {
    const shell = await appShell(parts, request, parts.rules.spa);
    if (shell !== null) return shell;
  }
  if (parts.app !== null) return await application(parts, request, info);
  return await parts.files.missPage(request, miss);
}

/**
 * A single-page app's shell for a page navigation to a path with no file:
 * 200, never stored without revalidation, varying on the fields that made it
 * a navigation; null for any other request (a missing asset keeps its 404).
 */
async function appShell(parts: SiteParts, request: Request, page: string) {
  const { navigate, vary } = navigation(request);
  if (!navigate) return null;
  const shell = await parts.files.page(request, page, 200);
  if (shell === null) return null;
  shell.headers.set("cache-control", "no-cache");
  if (vary.length > 0) shell.headers.set("vary", vary.join(", "));
  return shell;
}

/**
 * The application's answer; a throw is answered here (by `onError`, or the
 * one error mapping), so that the site's page for the status can replace it.
 */
async function application(
  parts: SiteParts,
  request: Request,
  info: ServeInfo,
): Promise<Response> {
  try {
    return await parts.app!(request, info);
  } catch (error) {
    const what = `${request.method} ${info.rawPath}`;
    return await answerError(error, { onError: parts.onError, logger: parts.logger }, what);
  }
}

/**
 * The first route of one kind (forced or not) for the path: a redirect's
 * response, or a rewrite's request and what the files answer for it.
 */
async function routed(
  parts: SiteParts,
  table: RuleTable,
  request: Request,
  pathname: string,
  search: string,
  forced: boolean,
): Promise<Step | null> {
  const match = table.route(pathname, search, forced);
  if (match === null) return null;
  if (match.kind === "redirect") {
    const headers = { location: match.location };
    return { request, result: new Response(null, { status: match.status, headers }) };
  }
  const rewritten = new Request(new URL(match.path + match.search, request.url), request);
  if (match.status === 404) {
    const page = await parts.files.page(rewritten, match.path, 404, "request");
    return { request: rewritten, result: page ?? await parts.files.missPage(rewritten, NOT_FOUND) };
  }
  return { request: rewritten, result: await parts.files.find(rewritten) };
}

/**
 * A response whose headers may be changed: the response itself, or a copy
 * when its headers are immutable (`Response.redirect()`, a `fetch()` answer).
 *
 * @param response Any response.
 * @returns One whose headers can be set.
 */
export function mutable(response: Response): Response {
  try {
    response.headers.delete("x-portico-unused");
    return response;
  } catch {
    return new Response(response.body, response);
  }
}

/**
 * The site's page for a built-in error page's status: the `errorPages`
 * entry, else `<status>.html` at the top of the root; the built-in page
 * when there is neither. Fields the built-in page carried that are not
 * about its body (`Allow`, `Connection`, `Retry-After`) are kept.
 */
async function errorPage(parts: SiteParts, request: Request, response: Response) {
  if (!isBuiltInErrorPage(response)) return response;
  const path = parts.rules.errorPages[String(response.status)] ?? `${response.status}.html`;
  const page = await parts.files.page(request, path, response.status);
  if (page === null) return response;
  for (const name of KEPT_FIELDS) {
    const value = response.headers.get(name);
    if (value !== null) page.headers.set(name, value);
  }
  await response.body?.cancel();
  return page;
}

/** Fields of a built-in error page that a replacement page keeps. */
const KEPT_FIELDS = ["allow", "connection", "retry-after", "www-authenticate"] as const;

/**
 * Whether the fast path must leave a raw path to the rules: a path a rule
 * or a CORS rule could match, or one whose normalised form could differ
 * from what the rules see (dot segments, escapes).
 */
function fastPathTest(
  table: RuleTable,
  corsPaths: readonly PathPattern[],
): (rawPath: string) => boolean {
  if (table.empty && corsPaths.length === 0) return () => false;
  return (rawPath) =>
    rawPath.includes("/.") || rawPath.includes("%") || rawPath.includes("//") ||
    table.touches(rawPath) ||
    corsPaths.some((pattern) => pattern.match(rawPath) !== null);
}

/**
 * The one builder of error responses: a short HTML page naming the status.
 *
 * @module
 */

import { statusText } from "./status.ts";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML content and attribute values.
 *
 * @param text Any text.
 * @returns The text with `& < > " '` escaped.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** The responses {@linkcode errorResponse} made, so a site can put its own page in their place. */
const BUILT_IN: WeakSet<Response> = new WeakSet();

/**
 * Whether a response is one of the built-in error pages (made by
 * {@linkcode errorResponse}), not one an application or a file gave.
 *
 * @param response Any response.
 * @returns True for a built-in error page.
 *
 * @example
 * ```ts
 * isBuiltInErrorPage(errorResponse(404)); // true
 * isBuiltInErrorPage(new Response("gone", { status: 404 })); // false
 * ```
 */
export function isBuiltInErrorPage(response: Response): boolean {
  return BUILT_IN.has(response);
}

/**
 * Marks a response made from a built-in error page (the same page, with
 * its body re-encoded or decorated) as one, so that a site's own page for
 * its status still replaces it.
 *
 * @param response The response made from a built-in page.
 * @returns The same response.
 *
 * @example
 * ```ts
 * const page = asBuiltInErrorPage(new Response("404", { status: 404 }));
 * isBuiltInErrorPage(page); // true
 * ```
 */
export function asBuiltInErrorPage(response: Response): Response {
  BUILT_IN.add(response);
  return response;
}

/**
 * A small HTML error response.
 *
 * @param status The status code.
 * @param detail A fixed public explanation (never a path or system error).
 * @param headers More fields to send (`Allow`, `Connection`, ...).
 * @returns The response.
 *
 * @example
 * ```ts
 * errorResponse(405, undefined, { allow: "GET, HEAD, OPTIONS" });
 * ```
 */
export function errorResponse(
  status: number,
  detail?: string,
  headers?: HeadersInit,
): Response {
  const title = `${status} ${statusText(status)}`.trim();
  const extra = detail !== undefined && detail !== statusText(status)
    ? `<p>${escapeHtml(detail)}</p>\n`
    : "";
  const html = `<!doctype html>\n<html lang="en">\n<meta charset="utf-8">\n` +
    `<title>${title}</title>\n<h1>${title}</h1>\n${extra}</html>\n`;
  const bytes = new TextEncoder().encode(html);
  const response = new Response(bytes, { status, headers });
  response.headers.set("content-type", "text/html; charset=utf-8");
  response.headers.set("content-length", String(bytes.length));
  BUILT_IN.add(response);
  return response;
}

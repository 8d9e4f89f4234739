/**
 * Turning a parsed request head and its body into a Fetch `Request`.
 *
 * @module
 */

import { ParseError } from "../errors.ts";
import type { RequestHead } from "./parse.ts";

/**
 * The absolute URL of a request (RFC 9112 §3.3): the absolute-form target as
 * sent, or the scheme, the Host field (or the listening address for an
 * HTTP/1.0 request without one) and the origin-form target.
 *
 * The target is appended as text rather than resolved against a base URL, so
 * that `//other.example/` stays a path on this host.
 *
 * @param head The request head.
 * @param scheme `http` or `https`.
 * @param fallbackHost The authority to use when the request has no Host.
 * @returns The URL.
 * @throws {ParseError} 400 when the result is not a valid http(s) URL.
 *
 * @example
 * ```ts
 * requestUrl(head, "http", "127.0.0.1:8000").href; // "http://example.com/a?b"
 * ```
 */
export function requestUrl(head: RequestHead, scheme: string, fallbackHost: string): URL {
  let url: URL;
  try {
    if (head.form === "absolute") {
      url = new URL(head.target);
      if (url.username !== "" || url.password !== "") {
        throw new ParseError(400, "User information in the request-target");
      }
    } else {
      const path = head.form === "asterisk" ? "/" : head.target;
      // An empty Host (allowed when the target has no authority) names no host either.
      const host = head.host === null || head.host === "" ? fallbackHost : head.host;
      url = new URL(`${scheme}://${host}${path}`);
    }
  } catch (error) {
    if (error instanceof ParseError) throw error;
    throw new ParseError(400, "Invalid request-target or Host");
  }
  return url;
}

/**
 * The path of the request-target exactly as sent: still percent-encoded,
 * dot segments and backslashes kept (a `URL` would already have resolved
 * them), without the query.
 *
 * @param head The request head.
 * @returns The raw path (`*` for asterisk-form).
 *
 * @example
 * ```ts
 * rawPath(head); // "/a/../b%20c" for "GET /a/../b%20c?x HTTP/1.1"
 * ```
 */
export function rawPath(head: RequestHead): string {
  let target = head.target;
  if (head.form === "asterisk") return "*";
  if (head.form === "absolute") {
    const authority = target.indexOf("//") + 2;
    const slash = target.indexOf("/", authority);
    const query = target.indexOf("?", authority);
    if (slash === -1 || (query !== -1 && query < slash)) return "/";
    target = target.slice(slash);
  }
  const query = target.indexOf("?");
  return query === -1 ? target : target.slice(0, query);
}

/**
 * Builds a Fetch `Request`. Header fields keep their order and repeats.
 *
 * @param head The request head.
 * @param url The request's absolute URL.
 * @param body The body stream, or null when the request has none (GET, HEAD
 * and TRACE requests never carry one in the Fetch model).
 * @param signal Aborts when the client goes away before the response is sent.
 * @returns The request.
 */
export function toRequest(
  head: RequestHead,
  url: URL,
  body: ReadableStream<Uint8Array> | null,
  signal?: AbortSignal,
): Request {
  // Fetch refuses to construct TRACE requests (a browser defence against
  // cross-site tracing); the handler still sees the method the client sent.
  const forbidden = head.method === "TRACE";
  const method = forbidden ? "GET" : head.method;
  const request = new Request(url, { method, body, signal });
  // The fields go straight into the request's own Headers, each name and
  // value decoded as it is appended. A Headers object given as
  // `init.headers` would be copied through its iterator, which Deno rebuilds
  // and sorts at every step: 40 µs and more for a browser's 17 fields
  // (denoland/deno#36063).
  const headers = request.headers;
  for (let i = 0; i < head.fieldCount; i++) {
    const name = head.fieldName(i);
    const value = head.fieldValue(i);
    // Cookie pairs are separated by "; ", not by the ", " that joins other
    // repeated fields, or a cookie parser would read `a=1, b=2` as one cookie
    // (the rule HTTP/2 gives for split Cookie fields, RFC 9113 §8.2.3).
    const cookies = name === "cookie" ? headers.get("cookie") : null;
    if (cookies !== null) headers.set("cookie", `${cookies}; ${value}`);
    else headers.append(name, value);
  }
  if (forbidden) Object.defineProperty(request, "method", { value: head.method });
  return request;
}

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
      url = new URL(`${scheme}://${head.host ?? fallbackHost}${path}`);
    }
  } catch (error) {
    if (error instanceof ParseError) throw error;
    throw new ParseError(400, "Invalid request-target or Host");
  }
  return url;
}

/**
 * Builds a Fetch `Request`. Header fields keep their order and repeats.
 *
 * @param head The request head.
 * @param url The request's absolute URL.
 * @param body The body stream, or null when the request has none (GET and
 * HEAD requests never carry one in the Fetch model).
 * @param signal Aborts when the client goes away.
 * @returns The request.
 */
export function toRequest(
  head: RequestHead,
  url: URL,
  body: ReadableStream<Uint8Array> | null,
  signal?: AbortSignal,
): Request {
  const headers = new Headers();
  for (const [name, value] of head.fields) headers.append(name, value);
  return new Request(url, { method: head.method, headers, body, signal });
}

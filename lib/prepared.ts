/**
 * The fast path for hot files: a GET or HEAD for a path the static layer's
 * cache knows is answered from the request head alone, before any `Request`
 * is built, with bytes prepared beforehand and one write. The static layer
 * decides what a file's response is (its fields, its validators, which path
 * names it); this module only serialises that decision for HTTP/1.1, once a
 * second per file, with the same `serializeHead` the response writer uses.
 *
 * @module
 */

import type { Prepared, Shortcut } from "./http/connection.ts";
import type { RequestHead } from "./http/parse.ts";
import { rawPath } from "./http/request.ts";
import { encodeLatin1, httpDate, serializeHead } from "./http/response.ts";
import type { ContentCoding } from "./encoding/negotiate.ts";
import type { CachedFile, CachedRepresentation, FileCache } from "./static/cache.ts";
import { evaluatePreconditions } from "./static/conditional.ts";
import { notModifiedHeaders } from "./static/headers.ts";

/** Which response a cached file gives. */
export type PreparedKind = "get" | "head" | "not-modified";

/** A prepared answer: which representation of the cached file, and which response. */
export interface PreparedChoice {
  /** The representation the request gets (the file itself, or an encoded one). */
  readonly representation: CachedRepresentation;
  /** The response. */
  readonly kind: PreparedKind;
}

/**
 * Answers GET and HEAD requests for cached files from the head alone: a 200,
 * or a 304 when `If-None-Match` / `If-Modified-Since` say the client has
 * it, in the representation `Accept-Encoding` selects once that
 * representation has been made. Requests with a body, a range or other
 * preconditions, paths the cache does not know, and encodings not made yet
 * are left to the handler (which also refreshes the cache and makes them).
 *
 * @param cache The cache the static layer fills.
 * @param negotiate The static layer's choice of coding from `Accept-Encoding`.
 * @param fields Fields every response carries besides the file's (`Strict-Transport-Security`).
 * @returns The shortcut for the connection loop.
 *
 * @example
 * ```ts
 * const site = staticSite("www");
 * const shortcut = site.cache === null ? undefined : preparedShortcut(site.cache, site.negotiate);
 * ```
 */
export function preparedShortcut(
  cache: FileCache,
  negotiate: (accept: string | null) => ContentCoding,
  fields: readonly (readonly [string, string])[] = [],
): Shortcut {
  const prepared = new WeakMap<CachedRepresentation, PreparedFile>();
  return (head, connection, server) => {
    if ((head.method !== "GET" && head.method !== "HEAD") || head.form !== "origin") return null;
    if (head.framing.kind !== "none") return null;
    const file = cache.lookup(rawPath(head));
    if (file === undefined) return null;
    const choice = preparedChoice(head, file, negotiate);
    if (choice === null) return null;
    const representation = choice.representation;
    let responses = prepared.get(representation);
    if (responses === undefined) {
      responses = new PreparedFile(representation, fields);
      prepared.set(representation, responses);
    }
    return responses.response(choice.kind, connection, server);
  };
}

/**
 * Which prepared response answers `head` for `file`, or null when the
 * request needs the full path (a range, `If-Match`, `If-Unmodified-Since`,
 * `If-Range`, preconditions that fail, or an encoded representation not
 * made yet). Preconditions are judged by the static layer's one evaluator
 * (RFC 9110 §13.2.2) against the selected representation's validators.
 *
 * @param head The request head (GET or HEAD).
 * @param file The cached file its path names.
 * @param negotiate The choice of coding from `Accept-Encoding`.
 * @returns The representation and kind of response, or null.
 */
export function preparedChoice(
  head: RequestHead,
  file: CachedFile,
  negotiate: (accept: string | null) => ContentCoding,
): PreparedChoice | null {
  // Each lookup compares field names in place; only these values are decoded.
  if (
    head.has("range") || head.has("if-range") || head.has("if-match") ||
    head.has("if-unmodified-since")
  ) {
    return null;
  }
  const ifNoneMatch = head.get("if-none-match");
  const conditional = ifNoneMatch !== null || head.has("if-modified-since");
  const accept = head.get("accept-encoding");
  const representation = selected(file, accept, negotiate);
  if (representation === undefined) return null;
  // The usual revalidation sends back the one entity tag it was given. It
  // matches (RFC 9110 §13.1.2), and with If-None-Match present
  // If-Modified-Since is not evaluated (§13.1.3): the evaluator's answer,
  // without parsing the list. (Repeated fields are joined with ", ", which
  // no entity tag contains, so they go to the evaluator.)
  if (ifNoneMatch === representation.validators.etag) {
    return { representation, kind: "not-modified" };
  }
  if (conditional) {
    const decision = evaluatePreconditions(head.method, head, representation.validators);
    if (decision === "not-modified") return { representation, kind: "not-modified" };
    if (decision === "failed") return null;
  }
  return { representation, kind: head.method === "HEAD" ? "head" : "get" };
}

/** The file's representation in the negotiated coding, if it has been made. */
function selected(
  file: CachedFile,
  accept: string | null,
  negotiate: (accept: string | null) => ContentCoding,
): CachedRepresentation | undefined {
  if (file.codings.length === 0) return file;
  const coding = negotiate(accept);
  if (coding === "identity") return file;
  return file.codings.includes(coding) ? file.encoded.get(coding) : file;
}

/** The prepared responses for one value of the `Connection` field. */
interface Variant {
  get: Uint8Array | null;
  notModified: Uint8Array | null;
}

/**
 * One cached representation's responses as bytes, built once a second (when
 * `Date` changes) for each value of `Connection` the loop asks for (none
 * for keep-alive HTTP/1.1, `close`, and `keep-alive` for HTTP/1.0) and
 * shared until then.
 */
class PreparedFile {
  readonly #file: CachedRepresentation;
  readonly #fields: readonly (readonly [string, string])[];
  #date = "";
  #server = "";
  #variants = new Map<string, Variant>();

  constructor(file: CachedRepresentation, fields: readonly (readonly [string, string])[]) {
    this.#file = file;
    this.#fields = fields;
  }

  response(kind: PreparedKind, connection: string, server: string): Prepared {
    const date = httpDate();
    if (date !== this.#date || server !== this.#server) {
      this.#date = date;
      this.#server = server;
      this.#variants.clear();
    }
    let variant = this.#variants.get(connection);
    if (variant === undefined) {
      variant = { get: null, notModified: null };
      this.#variants.set(connection, variant);
    }
    const size = this.#file.body.length;
    if (kind === "not-modified") {
      variant.notModified ??= this.#build(kind, connection, server).bytes;
      return { bytes: variant.notModified, status: 304, bodyBytes: 0 };
    }
    const get = variant.get ??= this.#build("get", connection, server).bytes;
    if (kind === "head") {
      return { bytes: get.subarray(0, get.length - size), status: 200, bodyBytes: 0 };
    }
    return { bytes: get, status: 200, bodyBytes: size };
  }

  #build(kind: "get" | "not-modified", connection: string, server: string): Prepared {
    const file = this.#file;
    const framing: Array<[string, string]> = [];
    if (kind !== "not-modified") framing.push(["content-length", String(file.body.length)]);
    if (connection !== "") framing.push(["connection", connection]);
    for (const [name, value] of this.#fields) framing.push([name, value]);
    if (kind === "not-modified") {
      const head = serializeHead(
        304,
        "Not Modified",
        notModifiedHeaders(file.headers),
        framing,
        server,
      );
      return { bytes: encodeLatin1(head), status: 304, bodyBytes: 0 };
    }
    const head = encodeLatin1(serializeHead(200, "OK", file.headers, framing, server));
    const bytes = new Uint8Array(head.length + file.body.length);
    bytes.set(head);
    bytes.set(file.body, head.length);
    return { bytes, status: 200, bodyBytes: file.body.length };
  }
}

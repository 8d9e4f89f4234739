/**
 * What the static layer says about a file besides its bytes: in which
 * codings it may be sent (by media type and size), its `Cache-Control` (by
 * kind of file), and so the fields and validators of each representation.
 * Decisions only; the store and the sender act on them.
 *
 * @module
 */

import { isCompressible } from "../encoding/compressible.ts";
import {
  type Coding,
  CODINGS,
  type ContentCoding,
  encodingNegotiator,
} from "../encoding/negotiate.ts";
import {
  cacheControlFor,
  type CacheControlPolicy,
  DEFAULT_CACHE_CONTROL,
} from "./cache_control.ts";
import type { Validators } from "./conditional.ts";
import { encodedTag } from "./digest.ts";
import type { FileStat } from "./fs.ts";
import { fileHeaders } from "./headers.ts";

/** Smallest file compressed, by default: below about 1 KiB a coding saves less than a packet. */
export const DEFAULT_COMPRESS_MIN_BYTES = 1024;

/** How files are compressed. */
export interface FileCompression {
  /** The codings offered, in order of preference; empty for none. */
  readonly codings: readonly Coding[];
  /** Smallest file compressed, in bytes. */
  readonly minBytes: number;
}

/** The default: br, zstd and gzip for compressible files of 1 KiB and more. */
export const DEFAULT_FILE_COMPRESSION: Readonly<FileCompression> = Object.freeze({
  codings: CODINGS,
  minBytes: DEFAULT_COMPRESS_MIN_BYTES,
});

/** The static layer's content decisions, made once from its options. */
export interface ContentPolicy {
  /** Codings and the smallest file compressed. */
  readonly compression: Readonly<FileCompression>;
  /** Chooses a coding from `Accept-Encoding` among those offered (remembers recent answers). */
  readonly negotiate: (accept: string | null) => ContentCoding;
  /** `Cache-Control` per kind of file. */
  readonly cacheControl: Readonly<CacheControlPolicy>;
}

/**
 * The policy for the static layer's options.
 *
 * @param compression Codings and threshold, or false for none.
 * @param cacheControl `Cache-Control` rules to change (null turns one off).
 * @returns The policy.
 *
 * @example
 * ```ts
 * contentPolicy(false, {}).compression.codings; // []
 * ```
 */
export function contentPolicy(
  compression: Partial<FileCompression> | false | undefined,
  cacheControl: Partial<CacheControlPolicy> | undefined,
): ContentPolicy {
  const chosen = compression === false
    ? { codings: [], minBytes: DEFAULT_COMPRESS_MIN_BYTES }
    : { ...DEFAULT_FILE_COMPRESSION, ...compression };
  return {
    compression: Object.freeze(chosen),
    negotiate: encodingNegotiator(chosen.codings),
    cacheControl: Object.freeze({ ...DEFAULT_CACHE_CONTROL, ...cacheControl }),
  };
}

/**
 * The codings a file may be sent in besides identity: the policy's, when
 * its media type is compressible and it is at least the smallest size.
 *
 * @param policy The policy.
 * @param type The file's `Content-Type`.
 * @param size Its size in bytes.
 * @returns The codings, in order of preference; empty when it is sent as it is.
 *
 * @example
 * ```ts
 * codingsFor(contentPolicy(undefined, {}), "image/png", 5000); // []
 * ```
 */
export function codingsFor(policy: ContentPolicy, type: string, size: number): readonly Coding[] {
  const { codings, minBytes } = policy.compression;
  if (codings.length === 0 || size < minBytes || !isCompressible(type)) return [];
  return codings;
}

/**
 * The coding a request gets for a file offered in `codings`: identity when
 * none is offered or for a range request (ranges are served from the
 * identity representation, as nginx does: a 206 is never compressed), else
 * the one negotiated from `Accept-Encoding`.
 *
 * @param request The request.
 * @param codings The file's codings.
 * @param policy The policy (its negotiator).
 * @returns The coding.
 *
 * @example
 * ```ts
 * const request = new Request("http://localhost/", { headers: { "accept-encoding": "gzip" } });
 * requestedCoding(request, ["gzip"], contentPolicy(undefined, {})); // "gzip"
 * ```
 */
export function requestedCoding(
  request: Pick<Request, "method" | "headers">,
  codings: readonly Coding[],
  policy: ContentPolicy,
): ContentCoding {
  if (codings.length === 0) return "identity";
  if (request.method === "GET" && request.headers.has("range")) return "identity";
  const chosen = policy.negotiate(request.headers.get("accept-encoding"));
  return chosen === "identity" || codings.includes(chosen) ? chosen : "identity";
}

/** The fields and validators of one representation of a file. */
export interface Described {
  /** The 200 response's fields (no framing). */
  readonly headers: Headers;
  /** Its validators. */
  readonly validators: Validators;
}

/** What is known about a file when it is described. */
export interface FileFacts {
  /** Its real path. */
  readonly path: string;
  /** The name it is served under (its `Cache-Control` depends on it). */
  readonly name: string;
  /** Its `Content-Type`. */
  readonly type: string;
  /** Its metadata. */
  readonly stat: FileStat;
  /** Its entity tag (of its own bytes). */
  readonly tag: string;
  /** The codings it may be sent in besides identity. */
  readonly codings: readonly Coding[];
}

/**
 * The fields and validators of a file's representation in `coding`: the
 * tag of the file's bytes for identity, that tag marked with the coding's
 * name otherwise; `Vary: Accept-Encoding` on every representation of a
 * file that has more than one; `Cache-Control` by the policy.
 *
 * @param policy The policy.
 * @param facts The file.
 * @param coding The representation's coding.
 * @returns Its fields and validators.
 *
 * @example
 * ```ts
 * const stat = await Deno.stat("www/index.html");
 * const facts = { path: "/srv/www/index.html", name: "index.html", type: "text/html", stat, tag: "\"a\"", codings: ["br"] as const };
 * describe(contentPolicy(undefined, {}), facts, "br").validators.etag; // "\"a-br\""
 * ```
 */
export function describe(
  policy: ContentPolicy,
  facts: FileFacts,
  coding: ContentCoding,
): Described {
  const etag = coding === "identity" ? facts.tag : encodedTag(facts.tag, coding);
  const validators = { etag, lastModified: facts.stat.mtime };
  const headers = fileHeaders(facts.type, validators, {
    coding,
    vary: facts.codings.length > 0,
    cacheControl: cacheControlFor(facts.name, facts.type, policy.cacheControl),
  });
  return { headers, validators };
}

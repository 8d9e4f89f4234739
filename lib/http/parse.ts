/**
 * The HTTP/1.1 request-head parser (RFC 9112 §2–§7).
 *
 * {@linkcode HeadScanner} is an explicit state machine fed bytes as they
 * arrive: it validates every byte of the request line and header section,
 * remembers where each part starts and ends, and reports the end of the head
 * (or throws a {@linkcode ParseError} with the status to answer). A request
 * may arrive one byte at a time or several pipelined requests in one read;
 * the scanner never looks past the end of the head it is reading.
 * {@linkcode buildRequestHead} then decodes only the validated parts and
 * applies the semantic rules (Host, framing, persistence).
 *
 * @module
 */

import { ParseError } from "../errors.ts";
import type { Limits } from "../config.ts";

/** How a request body is delimited (RFC 9112 §6.3). */
export type BodyFraming =
  | { readonly kind: "none" }
  | { readonly kind: "length"; readonly length: number }
  | { readonly kind: "chunked" };

/** The form of the request-target (RFC 9112 §3.2). */
export type TargetForm = "origin" | "absolute" | "asterisk";

/** A parsed and validated request head. */
export interface RequestHead {
  /** The method token, case-sensitive (`GET`). */
  readonly method: string;
  /** The request-target exactly as sent. */
  readonly target: string;
  /** Which form the target has. */
  readonly form: TargetForm;
  /** The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1 and later 1.x (RFC 9110 §2.5). */
  readonly minor: 0 | 1;
  /** Header fields in order: lower-case name, value without surrounding whitespace. */
  readonly fields: ReadonlyArray<readonly [string, string]>;
  /** The Host field value, or null when absent (allowed only in HTTP/1.0). */
  readonly host: string | null;
  /** How the body is delimited. */
  readonly framing: BodyFraming;
  /** Whether the client allows the connection to stay open after this exchange. */
  readonly keepAlive: boolean;
  /** Whether the client sent `Expect: 100-continue`. */
  readonly expectContinue: boolean;
}

/** Methods this server recognises (RFC 9110 §9 and RFC 5789); others get 501. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
]);

// Byte classes, one table lookup per byte.
const TOKEN = 1; // tchar (RFC 9110 §5.6.2)
const TARGET = 2; // visible US-ASCII, allowed in a request-target
const VALUE = 4; // field-vchar: VCHAR or obs-text (RFC 9110 §5.5)

const CLASS = new Uint8Array(256);
for (let b = 0x21; b <= 0x7e; b++) CLASS[b] |= TARGET | VALUE;
CLASS[0x23] &= ~TARGET; // "#": a fragment is never part of a request-target (RFC 9112 §3.2)
for (let b = 0x80; b <= 0xff; b++) CLASS[b] |= VALUE;
for (const c of "!#$%&'*+-.^_`|~0123456789") CLASS[c.charCodeAt(0)] |= TOKEN;
for (let b = 0x41; b <= 0x5a; b++) CLASS[b] |= TOKEN;
for (let b = 0x61; b <= 0x7a; b++) CLASS[b] |= TOKEN;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

// Scanner states, named after what the next byte is expected to be.
const S_START = 0; // before the request line: empty lines or a method
const S_START_LF = 1; // LF of an empty line before the request line
const S_METHOD = 2;
const S_TARGET_START = 3;
const S_TARGET = 4;
const S_VERSION = 5;
const S_LINE_LF = 6; // LF ending the request line
const S_FIELD_START = 7; // a field name, or CR of the empty line ending the head
const S_NAME = 8;
const S_VALUE_LEAD = 9; // whitespace before a field value
const S_VALUE = 10;
const S_VALUE_LF = 11;
const S_END_LF = 12;
const S_DONE = 13;

const HTTP_VERSION_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f, -1, 0x2e, -1]; // "HTTP/D.D"

/**
 * Incremental scanner of one request head. Offsets it records are relative
 * to the `base` the caller passes to {@linkcode HeadScanner.scan}; the caller
 * keeps the bytes in place (or moves them together with `base`) until the
 * head is complete.
 *
 * @example
 * ```ts
 * const scanner = new HeadScanner(DEFAULT_LIMITS);
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * const end = scanner.scan(bytes, 0, bytes.length); // 27
 * const head = buildRequestHead(bytes, 0, scanner);
 * ```
 */
export class HeadScanner {
  #limits: Pick<Limits, "maxTargetBytes" | "maxHeadBytes" | "maxHeaderFields">;
  #state = S_START;
  #pos = 0;
  /** Offset of the method's first byte (after any leading empty lines). */
  headStart = 0;
  /** Offset just past the method. */
  methodEnd = 0;
  /** Offset of the request-target's first byte. */
  targetStart = 0;
  /** Offset just past the request-target. */
  targetEnd = 0;
  /** The minor HTTP version once the request line is complete. */
  minor: 0 | 1 = 1;
  /** Field offsets, four per field: name start, name end, value start, value end. */
  readonly fields: number[] = [];
  #versionStart = 0;
  #valueEnd = 0;

  /**
   * @param limits Target, head and field-count limits to enforce while scanning.
   */
  constructor(
    limits: Pick<Limits, "maxTargetBytes" | "maxHeadBytes" | "maxHeaderFields">,
  ) {
    this.#limits = limits;
  }

  /** Whether any byte of a request (other than leading empty lines) has been seen. */
  get started(): boolean {
    return this.#state !== S_START && this.#state !== S_START_LF;
  }

  /** Forgets the previous head so the scanner can read the next one. */
  reset(): void {
    this.#state = S_START;
    this.#pos = 0;
    this.headStart = 0;
    this.fields.length = 0;
  }

  /**
   * Scans the bytes from `buf[base + scanned]` up to `buf[base + length]`.
   *
   * @param buf The buffer holding the head from `base` on.
   * @param base Where the head (including leading empty lines) starts in `buf`.
   * @param length How many bytes from `base` are available.
   * @returns The head's length from `base` (through its final CRLF) once it is
   * complete, or -1 when more bytes are needed.
   * @throws {ParseError} When the bytes cannot be a valid request head.
   */
  scan(buf: Uint8Array, base: number, length: number): number {
    const limits = this.#limits;
    let state = this.#state;
    let pos = this.#pos;
    while (pos < length) {
      const b = buf[base + pos];
      switch (state) {
        case S_START:
          if (b === CR) state = S_START_LF;
          else if (CLASS[b] & TOKEN) {
            this.headStart = pos;
            state = S_METHOD;
          } else throw new ParseError(400, "Malformed request line");
          if (pos >= limits.maxHeadBytes) {
            throw new ParseError(400, "Too many empty lines before the request");
          }
          break;
        case S_START_LF:
          if (b !== LF) throw new ParseError(400, "Malformed request line");
          state = S_START;
          break;
        case S_METHOD:
          if (b === SP) {
            this.methodEnd = pos;
            state = S_TARGET_START;
          } else if (!(CLASS[b] & TOKEN)) throw new ParseError(400, "Malformed method");
          break;
        case S_TARGET_START:
          if (!(CLASS[b] & TARGET)) throw new ParseError(400, "Malformed request-target");
          this.targetStart = pos;
          state = S_TARGET;
          break;
        case S_TARGET:
          if (b === SP) {
            this.targetEnd = pos;
            this.#versionStart = pos + 1;
            state = S_VERSION;
          } else if (!(CLASS[b] & TARGET)) {
            throw new ParseError(400, "Malformed request-target");
          } else if (pos - this.targetStart >= limits.maxTargetBytes) {
            throw new ParseError(414, "Request-target is too long");
          }
          break;
        case S_VERSION:
          if (b === CR) {
            this.minor = checkVersion(buf, base + this.#versionStart, pos - this.#versionStart);
            state = S_LINE_LF;
          } else if (pos - this.#versionStart >= HTTP_VERSION_PREFIX.length) {
            throw new ParseError(400, "Malformed HTTP version");
          }
          break;
        case S_LINE_LF:
          if (b !== LF) throw new ParseError(400, "Malformed request line");
          state = S_FIELD_START;
          break;
        case S_FIELD_START:
          if (b === CR) state = S_END_LF;
          else if (CLASS[b] & TOKEN) {
            if (this.fields.length / 4 >= limits.maxHeaderFields) {
              throw new ParseError(431, "Too many header fields");
            }
            this.fields.push(pos, 0, 0, 0);
            state = S_NAME;
          } else if (b === SP || b === HTAB) {
            // RFC 9112 §5.2: obs-fold is rejected, as is whitespace before the first field.
            throw new ParseError(400, "Folded or indented header field");
          } else throw new ParseError(400, "Malformed header field");
          break;
        case S_NAME:
          if (b === COLON) {
            this.fields[this.fields.length - 3] = pos;
            state = S_VALUE_LEAD;
          } else if (!(CLASS[b] & TOKEN)) {
            // Includes whitespace before the colon (RFC 9112 §5.1: must be rejected).
            throw new ParseError(400, "Malformed header field name");
          }
          break;
        case S_VALUE_LEAD:
          if (b === SP || b === HTAB) break;
          if (b === CR) {
            this.fields[this.fields.length - 2] = pos;
            this.#valueEnd = pos;
            state = S_VALUE_LF;
          } else if (CLASS[b] & VALUE) {
            this.fields[this.fields.length - 2] = pos;
            this.#valueEnd = pos + 1;
            state = S_VALUE;
          } else throw new ParseError(400, "Malformed header field value");
          break;
        case S_VALUE:
          if (CLASS[b] & VALUE) this.#valueEnd = pos + 1;
          else if (b === CR) state = S_VALUE_LF;
          else if (b !== SP && b !== HTAB) {
            throw new ParseError(400, "Malformed header field value");
          }
          break;
        case S_VALUE_LF:
          if (b !== LF) throw new ParseError(400, "Malformed header field value");
          this.fields[this.fields.length - 1] = this.#valueEnd;
          state = S_FIELD_START;
          break;
        case S_END_LF:
          if (b !== LF) throw new ParseError(400, "Malformed end of header section");
          state = S_DONE;
          break;
      }
      pos++;
      // Checked on the local state (this.#state is stale until we return) and
      // before S_DONE, so the whole head, final CRLF included, is within the limit.
      if (
        pos - this.headStart > limits.maxHeadBytes && state !== S_START && state !== S_START_LF
      ) {
        throw new ParseError(431, "Header section is too large");
      }
      if (state === S_DONE) {
        this.#state = state;
        this.#pos = pos;
        return pos;
      }
    }
    this.#state = state;
    this.#pos = pos;
    return -1;
  }
}

/**
 * Checks `HTTP/D.D` and returns the minor version to process the request as.
 * RFC 9110 §2.5: a higher minor version of HTTP/1 is processed as the highest
 * we implement (1.1); only another major version gets 505.
 */
function checkVersion(buf: Uint8Array, at: number, length: number): 0 | 1 {
  if (length !== HTTP_VERSION_PREFIX.length) {
    throw new ParseError(400, "Malformed HTTP version");
  }
  for (let i = 0; i < length; i++) {
    const expected = HTTP_VERSION_PREFIX[i];
    const b = buf[at + i];
    if (expected === -1 ? b < 0x30 || b > 0x39 : b !== expected) {
      throw new ParseError(400, "Malformed HTTP version");
    }
  }
  const major = buf[at + 5] - 0x30;
  const minor = buf[at + 7] - 0x30;
  if (major !== 1) throw new ParseError(505, "HTTP version not supported");
  return minor === 0 ? 0 : 1;
}

/** Decodes bytes as Latin-1 (each byte one code unit), which is what Headers expects. */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
    return s;
  }
  return String.fromCharCode.apply(null, Array.from(buf.subarray(start, end)));
}

/** Lower-cases an ASCII token while decoding it. */
function lowerToken(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) {
    const b = buf[i];
    s += String.fromCharCode(b >= 0x41 && b <= 0x5a ? b + 0x20 : b);
  }
  return s;
}

/**
 * Decodes a complete head that `scanner` has validated and applies the
 * semantic rules of RFC 9112: a known method, a target form that suits it,
 * exactly one valid Host in HTTP/1.1, unambiguous body framing, and
 * connection persistence.
 *
 * @param buf The buffer the scanner read.
 * @param base The same `base` that was passed to the scanner.
 * @param scanner A scanner whose `scan` returned the end of the head.
 * @returns The request head.
 * @throws {ParseError} 400 for semantic errors, 501 for unknown methods and transfer codings.
 */
export function buildRequestHead(
  buf: Uint8Array,
  base: number,
  scanner: HeadScanner,
): RequestHead {
  const method = latin1(buf, base + scanner.headStart, base + scanner.methodEnd);
  const target = latin1(buf, base + scanner.targetStart, base + scanner.targetEnd);
  const minor = scanner.minor;
  const offsets = scanner.fields;
  const fields: Array<readonly [string, string]> = [];
  let host: string | null = null;
  let hostCount = 0;
  let contentLength = -1;
  let transferEncoding: string | null = null;
  let connectionClose = false;
  let connectionKeepAlive = false;
  let expectContinue = false;

  for (let i = 0; i < offsets.length; i += 4) {
    const name = lowerToken(buf, base + offsets[i], base + offsets[i + 1]);
    const value = latin1(buf, base + offsets[i + 2], base + offsets[i + 3]);
    fields.push([name, value]);
    switch (name) {
      case "host":
        hostCount++;
        host = value;
        break;
      case "content-length":
        contentLength = mergeContentLength(contentLength, value);
        break;
      case "transfer-encoding":
        transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
        break;
      case "connection":
        for (const option of splitList(value)) {
          if (option === "close") connectionClose = true;
          else if (option === "keep-alive") connectionKeepAlive = true;
        }
        break;
      case "expect":
        if (value.toLowerCase() !== "100-continue") {
          throw new ParseError(417, "Unsupported expectation");
        }
        expectContinue = true;
        break;
    }
  }

  if (!KNOWN_METHODS.has(method)) throw new ParseError(501, "Method not implemented");
  if (method === "CONNECT") throw new ParseError(501, "CONNECT is not supported");
  const form = targetForm(method, target);

  // RFC 9112 §3.2: a 1.1 request without Host, or with more than one, is rejected.
  if (hostCount > 1) throw new ParseError(400, "More than one Host field");
  if (hostCount === 0 && minor === 1) throw new ParseError(400, "Missing Host field");
  if (host !== null && !isValidHost(host)) throw new ParseError(400, "Invalid Host field");

  let framing: BodyFraming = NO_BODY;
  if (transferEncoding !== null) {
    // RFC 9112 §6.1: both framings at once is a smuggling attempt; refuse it.
    if (contentLength !== -1) {
      throw new ParseError(400, "Content-Length and Transfer-Encoding together");
    }
    if (minor === 0) throw new ParseError(400, "Transfer-Encoding in an HTTP/1.0 request");
    framing = chunkedFraming(transferEncoding);
  } else if (contentLength > 0) {
    framing = { kind: "length", length: contentLength };
  }

  const keepAlive = minor === 1 ? !connectionClose : connectionKeepAlive && !connectionClose;
  return { method, target, form, minor, fields, host, framing, keepAlive, expectContinue };
}

const NO_BODY: BodyFraming = Object.freeze({ kind: "none" });
const CHUNKED: BodyFraming = Object.freeze({ kind: "chunked" });

/** Splits a comma-separated list, trimming and lower-casing its members. */
function splitList(value: string): string[] {
  return value.split(",").map((s) => trimOws(s).toLowerCase()).filter((s) => s !== "");
}

/**
 * Strips optional whitespace: SP and HTAB only (RFC 9110 §5.6.3). The head
 * is decoded as Latin-1, where `String.prototype.trim` would also drop 0xA0
 * and so accept `5\xA0` as a length that other parsers refuse.
 */
function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Combines a Content-Length value with what earlier fields said. Identical
 * repeats (as a list or as several fields) are allowed by RFC 9112 §6.3;
 * differing or non-decimal values are errors.
 */
function mergeContentLength(previous: number, value: string): number {
  let result = previous;
  for (const part of value.split(",")) {
    const digits = trimOws(part);
    if (!/^[0-9]+$/.test(digits)) throw new ParseError(400, "Invalid Content-Length");
    const length = Number(digits);
    if (!Number.isSafeInteger(length)) throw new ParseError(413, "Content-Length is too large");
    if (result !== -1 && result !== length) {
      throw new ParseError(400, "Conflicting Content-Length values");
    }
    result = length;
  }
  return result;
}

/**
 * Accepts exactly `chunked`. RFC 9112 §6.3: when chunked is not the final
 * coding (or is applied twice) the body length cannot be known, which is a
 * 400; other codings before a final chunked are valid HTTP we do not
 * implement, which is a 501.
 */
function chunkedFraming(value: string): BodyFraming {
  const codings = value.split(",").map((s) => trimOws(s).toLowerCase());
  if (codings.some((c) => c === "" || !isToken(c))) {
    throw new ParseError(400, "Malformed Transfer-Encoding");
  }
  const chunked = codings.filter((c) => c === "chunked").length;
  if (codings.at(-1) !== "chunked" || chunked > 1) {
    throw new ParseError(400, "Transfer-Encoding does not end in a single chunked");
  }
  if (codings.length === 1) return CHUNKED;
  throw new ParseError(501, "Transfer coding not implemented");
}

function isToken(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || !(CLASS[c] & TOKEN)) return false;
  }
  return s.length > 0;
}

/** Classifies the request-target (RFC 9112 §3.2); authority-form is only for CONNECT. */
function targetForm(method: string, target: string): TargetForm {
  if (target.charCodeAt(0) === 0x2f) return "origin";
  if (target === "*") {
    if (method !== "OPTIONS") throw new ParseError(400, "Asterisk-form is only for OPTIONS");
    return "asterisk";
  }
  const lower = target.slice(0, 8).toLowerCase();
  if (lower.startsWith("http://") || lower.startsWith("https://")) return "absolute";
  throw new ParseError(400, "Malformed request-target");
}

/**
 * Host = uri-host [ ":" port ] (RFC 9110 §7.2): a reg-name or IPv4 address,
 * or a bracketed IPv6 literal, then optional digits. Anything that could
 * smuggle a path or user information (`/`, `?`, `#`, `@`, `\`) is refused.
 */
export function isValidHost(host: string): boolean {
  let i = 0;
  if (host.charCodeAt(0) === 0x5b) { // "["
    const close = host.indexOf("]");
    if (close < 2) return false;
    for (let j = 1; j < close; j++) {
      const c = host.charCodeAt(j);
      const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) ||
        (c >= 0x41 && c <= 0x46);
      if (!hex && c !== 0x3a && c !== 0x2e) return false;
    }
    i = close + 1;
  } else {
    for (; i < host.length; i++) {
      const c = host.charCodeAt(i);
      if (c === 0x3a) break;
      if (!isRegNameChar(c)) return false;
    }
  }
  if (i === host.length) return true;
  if (host.charCodeAt(i) !== 0x3a) return false;
  for (let j = i + 1; j < host.length; j++) {
    const c = host.charCodeAt(j);
    if (c < 0x30 || c > 0x39) return false;
  }
  return host.length - i - 1 <= 5;
}

function isRegNameChar(c: number): boolean {
  // unreserved / pct-encoded / sub-delims (RFC 3986 §3.2.2)
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    "-._~%!$&'()*+,;=".includes(String.fromCharCode(c));
}

/**
 * Parses one complete request head from `bytes` (a convenience over
 * {@linkcode HeadScanner} and {@linkcode buildRequestHead} for tests and
 * tools).
 *
 * @param bytes Bytes that start with a request head.
 * @param limits The limits to enforce.
 * @returns The head and the number of bytes it took, or null when `bytes`
 * ends before the head does.
 * @throws {ParseError} When the head is invalid.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * const parsed = parseRequestHead(bytes, DEFAULT_LIMITS);
 * parsed?.head.method; // "GET"
 * ```
 */
export function parseRequestHead(
  bytes: Uint8Array,
  limits: Pick<Limits, "maxTargetBytes" | "maxHeadBytes" | "maxHeaderFields">,
): { head: RequestHead; length: number } | null {
  const scanner = new HeadScanner(limits);
  const length = scanner.scan(bytes, 0, bytes.length);
  if (length === -1) return null;
  return { head: buildRequestHead(bytes, 0, scanner), length };
}

/**
 * The HTTP/1.1 request-head parser (RFC 9112 §2–§7).
 *
 * {@linkcode HeadScanner} is an explicit state machine fed bytes as they
 * arrive: it validates every byte of the request line and header section,
 * remembers where each part starts and ends, and reports the end of the head
 * (or throws a {@linkcode ParseError} with the status to answer). A request
 * may arrive one byte at a time or several pipelined requests in one read;
 * the scanner never looks past the end of the head it is reading.
 * {@linkcode buildRequestHead} then applies the semantic rules (Host,
 * framing, persistence) and returns a {@linkcode RequestHead} that keeps the
 * head as one string with each field's name and value as offsets into it: a
 * field becomes a string of its own only when someone asks for it.
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

/** A request head's values as plain data: what {@linkcode RequestHead.toJSON} returns. */
export interface RequestHeadData {
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

/**
 * A parsed and validated request head. The request line and what the server
 * itself reads (Host, framing, persistence, `Expect`) are decoded while
 * parsing; the header fields stay offsets into the head's text until asked
 * for, so that a request answered from its path and a field or two (the
 * prepared-bytes fast path) never decodes the others.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\n\r\n");
 * const head = parseRequestHead(bytes, DEFAULT_LIMITS)!.head;
 * head.get("Accept"); // "text/html", decoded now (Host was decoded while parsing)
 * head.fields; // [["host", "a"], ["accept", "text/html"]]
 * ```
 */
export class RequestHead implements RequestHeadData {
  /** The method token, case-sensitive (`GET`). */
  readonly method: string;
  /** The request-target exactly as sent. */
  readonly target: string;
  /** Which form the target has. */
  readonly form: TargetForm;
  /** The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1 and later 1.x (RFC 9110 §2.5). */
  readonly minor: 0 | 1;
  /** The Host field value, or null when absent (allowed only in HTTP/1.0). */
  readonly host: string | null;
  /** How the body is delimited. */
  readonly framing: BodyFraming;
  /** Whether the client allows the connection to stay open after this exchange. */
  readonly keepAlive: boolean;
  /** Whether the client sent `Expect: 100-continue`. */
  readonly expectContinue: boolean;
  /** The head as text, one code unit per byte (Latin-1), up to the end of the last field value. */
  readonly #text: string;
  /** Four offsets into the text per field: name start, name end, value start, value end. */
  readonly #offsets: readonly number[];
  #fields: ReadonlyArray<readonly [string, string]> | null = null;

  /**
   * Made by {@linkcode buildRequestHead}, which has validated `text`.
   *
   * @param text The head decoded as Latin-1.
   * @param offsets Four offsets into `text` per field: name start and end, value start and end.
   * @param values Everything else, decoded and checked.
   */
  constructor(
    text: string,
    offsets: readonly number[],
    values: Omit<RequestHeadData, "fields">,
  ) {
    this.method = values.method;
    this.target = values.target;
    this.form = values.form;
    this.minor = values.minor;
    this.host = values.host;
    this.framing = values.framing;
    this.keepAlive = values.keepAlive;
    this.expectContinue = values.expectContinue;
    this.#text = text;
    this.#offsets = offsets;
  }

  /** How many header fields the head has (repeats each count). */
  get fieldCount(): number {
    return this.#offsets.length / 4;
  }

  /**
   * The name of a field, lower-case. Common names are the same string every time.
   *
   * @param index The field's position, from 0.
   * @returns The name.
   * @throws {RangeError} When there is no such field.
   */
  fieldName(index: number): string {
    const at = this.#at(index);
    const start = this.#offsets[at];
    const end = this.#offsets[at + 1];
    return commonName(this.#text, start, end) ?? this.#text.slice(start, end).toLowerCase();
  }

  /**
   * The value of a field: Latin-1, without the whitespace around it.
   *
   * @param index The field's position, from 0.
   * @returns The value.
   * @throws {RangeError} When there is no such field.
   */
  fieldValue(index: number): string {
    const at = this.#at(index);
    return this.#text.slice(this.#offsets[at + 2], this.#offsets[at + 3]);
  }

  /**
   * The value of the fields named `name`, as `Headers.get` gives it: null
   * when there is none, repeats joined with ", " in order. Only the values
   * of matching fields are decoded.
   *
   * @param name The field name; ASCII letters in any case.
   * @returns The value, or null.
   */
  get(name: string): string | null {
    const text = this.#text;
    const offsets = this.#offsets;
    let value: string | null = null;
    for (let i = 0; i < offsets.length; i += 4) {
      if (offsets[i + 1] - offsets[i] !== name.length || !sameName(text, offsets[i], name)) {
        continue;
      }
      const v = text.slice(offsets[i + 2], offsets[i + 3]);
      value = value === null ? v : `${value}, ${v}`;
    }
    return value;
  }

  /**
   * Whether there is a field named `name`, decoding nothing.
   *
   * @param name The field name; ASCII letters in any case.
   * @returns Whether it is present.
   */
  has(name: string): boolean {
    const offsets = this.#offsets;
    for (let i = 0; i < offsets.length; i += 4) {
      if (offsets[i + 1] - offsets[i] === name.length && sameName(this.#text, offsets[i], name)) {
        return true;
      }
    }
    return false;
  }

  /** Every header field in order: lower-case name, value; decoded on first use, then kept. */
  get fields(): ReadonlyArray<readonly [string, string]> {
    if (this.#fields === null) {
      const fields: Array<readonly [string, string]> = [];
      for (let i = 0; i < this.fieldCount; i++) {
        fields.push([this.fieldName(i), this.fieldValue(i)]);
      }
      this.#fields = fields;
    }
    return this.#fields;
  }

  /**
   * The head as plain data, every field decoded (what `JSON.stringify` shows).
   *
   * @returns The values.
   */
  toJSON(): RequestHeadData {
    return {
      method: this.method,
      target: this.target,
      form: this.form,
      minor: this.minor,
      fields: this.fields,
      host: this.host,
      framing: this.framing,
      keepAlive: this.keepAlive,
      expectContinue: this.expectContinue,
    };
  }

  /** Where field `index`'s offsets begin. */
  #at(index: number): number {
    if (!(index >= 0 && index < this.fieldCount && Number.isInteger(index))) {
      throw new RangeError(`No header field ${index}: the head has ${this.fieldCount}`);
    }
    return index * 4;
  }
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

/** The first byte of a TLS handshake record (RFC 8446 §5.1). */
const TLS_HANDSHAKE = 0x16;

// Byte classes, one table lookup per byte.
const TOKEN = 1; // tchar (RFC 9110 §5.6.2)
const TARGET = 2; // visible US-ASCII, allowed in a request-target
const VALUE = 4; // field-vchar: VCHAR or obs-text (RFC 9110 §5.5)
const OWS = 8; // SP and HTAB, allowed inside a field value (RFC 9110 §5.5)
const REG_NAME = 16; // unreserved, pct-encoded, sub-delims: a Host's reg-name (RFC 3986 §3.2.2)

const CLASS = new Uint8Array(256);
for (let b = 0x21; b <= 0x7e; b++) CLASS[b] |= TARGET | VALUE;
CLASS[0x23] &= ~TARGET; // "#": a fragment is never part of a request-target (RFC 9112 §3.2)
for (let b = 0x80; b <= 0xff; b++) CLASS[b] |= VALUE;
for (const c of "!#$%&'*+-.^_`|~0123456789") CLASS[c.charCodeAt(0)] |= TOKEN;
for (let b = 0x41; b <= 0x5a; b++) CLASS[b] |= TOKEN;
for (let b = 0x61; b <= 0x7a; b++) CLASS[b] |= TOKEN;
CLASS[0x20] |= OWS;
CLASS[0x09] |= OWS;
for (const c of "-._~%!$&'()*+,;=0123456789") CLASS[c.charCodeAt(0)] |= REG_NAME;
for (let b = 0x41; b <= 0x5a; b++) CLASS[b] |= REG_NAME;
for (let b = 0x61; b <= 0x7a; b++) CLASS[b] |= REG_NAME;

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
  /** Every field-value byte OR-ed together: bit 7 tells whether obs-text occurred. */
  #high = 0;

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

  /**
   * Whether a field value of the head holds obs-text (bytes 0x80–0xFF, RFC
   * 9110 §5.5); without it the whole head is US-ASCII.
   */
  get obsText(): boolean {
    return (this.#high & 0x80) !== 0;
  }

  /** Forgets the previous head so the scanner can read the next one. */
  reset(): void {
    this.#state = S_START;
    this.#pos = 0;
    this.headStart = 0;
    this.fields.length = 0;
    this.#high = 0;
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
    // Two shortcuts take most of a browser's head in tight loops: the
    // request-target's bytes, and each field line that has arrived whole.
    // Both stop before any byte that needs a state change or a limit check,
    // so every byte is judged exactly as the one-byte-at-a-time states judge it.
    while (pos < length) {
      const b = buf[base + pos];
      switch (state) {
        case S_START:
          state = this.#firstByte(b, pos);
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
          } else pos = this.#targetRun(b, buf, base, pos, length);
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
          else {
            const lf = this.#fieldStart(b, buf, base, pos, length);
            if (lf !== -1) pos = lf;
            else state = S_NAME;
          }
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
          if (b !== SP && b !== HTAB) state = this.#valueStart(b, pos);
          break;
        case S_VALUE:
          if (CLASS[b] & VALUE) {
            this.#valueEnd = pos + 1;
            this.#high |= b;
          } else if (b === CR) state = S_VALUE_LF;
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

  /** The first byte of a request, or of an empty line before one: the next state. */
  #firstByte(b: number, pos: number): number {
    let next = S_START_LF;
    if (b !== CR) {
      // 0x16 opens a TLS handshake record: a client speaking HTTPS to a plain port.
      if (b === TLS_HANDSHAKE) {
        throw new ParseError(400, "This port speaks plain HTTP: use http://, or the HTTPS port");
      }
      if (!(CLASS[b] & TOKEN)) throw new ParseError(400, "Malformed request line");
      this.headStart = pos;
      next = S_METHOD;
    }
    if (pos >= this.#limits.maxHeadBytes) {
      throw new ParseError(400, "Too many empty lines before the request");
    }
    return next;
  }

  /**
   * A request-target byte that is not its end: checked, then the run of
   * target bytes after it skipped in one loop, up to the limits.
   *
   * @returns The offset of the run's last byte.
   */
  #targetRun(b: number, buf: Uint8Array, base: number, pos: number, length: number): number {
    const limits = this.#limits;
    if (!(CLASS[b] & TARGET)) throw new ParseError(400, "Malformed request-target");
    if (pos - this.targetStart >= limits.maxTargetBytes) {
      throw new ParseError(414, "Request-target is too long");
    }
    const stop = Math.min(
      length,
      this.targetStart + limits.maxTargetBytes,
      this.headStart + limits.maxHeadBytes,
    );
    return skipClass(buf, base, pos + 1, stop, TARGET) - 1;
  }

  /**
   * The first byte of a field line: the whole line when it is here and valid,
   * else the field is begun for the one-byte states.
   *
   * @returns The offset of the line's LF, or -1 to go on in `S_NAME`.
   */
  #fieldStart(b: number, buf: Uint8Array, base: number, pos: number, length: number): number {
    const limits = this.#limits;
    if (b === SP || b === HTAB) {
      // RFC 9112 §5.2: obs-fold is rejected, as is whitespace before the first field.
      throw new ParseError(400, "Folded or indented header field");
    }
    if (!(CLASS[b] & TOKEN)) throw new ParseError(400, "Malformed header field");
    if (this.fields.length / 4 >= limits.maxHeaderFields) {
      throw new ParseError(431, "Too many header fields");
    }
    // Usually the whole line is here: it is taken in one go.
    const lf = this.#fieldLine(
      buf,
      base,
      pos,
      Math.min(length, this.headStart + limits.maxHeadBytes),
    );
    if (lf === -1) this.fields.push(pos, 0, 0, 0);
    return lf;
  }

  /** The first byte of a field value that is not white space: the next state. */
  #valueStart(b: number, pos: number): number {
    this.fields[this.fields.length - 2] = pos;
    if (b === CR) {
      this.#valueEnd = pos;
      return S_VALUE_LF;
    }
    if (!(CLASS[b] & VALUE)) throw new ParseError(400, "Malformed header field value");
    this.#valueEnd = pos + 1;
    this.#high |= b;
    return S_VALUE;
  }

  /**
   * Takes the field line `name ":" OWS value OWS CRLF` that starts at
   * `start` when all of it lies before `stop` and every byte is valid.
   *
   * @returns The offset of the line's LF, or -1 to leave the line to the
   * byte-at-a-time states (which find what is wrong with it, or wait for the rest).
   */
  #fieldLine(buf: Uint8Array, base: number, start: number, stop: number): number {
    let p = skipClass(buf, base, start + 1, stop, TOKEN);
    if (p >= stop || buf[base + p] !== COLON) return -1;
    const nameEnd = p;
    const valueStart = skipClass(buf, base, p + 1, stop, OWS);
    let high = 0;
    for (p = valueStart; p < stop; p++) {
      const c = buf[base + p];
      if (!(CLASS[c] & (VALUE | OWS))) break;
      high |= c;
    }
    if (p + 1 >= stop || buf[base + p] !== CR || buf[base + p + 1] !== LF) return -1;
    // The value ends at its last field-vchar: whitespace before the CR is not part of it.
    let valueEnd = p;
    while (valueEnd > valueStart && CLASS[buf[base + valueEnd - 1]] & OWS) valueEnd--;
    this.fields.push(start, nameEnd, valueStart, valueEnd);
    this.#high |= high;
    return p + 1;
  }
}

/** The offset of the first byte from `from` on (before `stop`) that is not of class `cls`. */
function skipClass(buf: Uint8Array, base: number, from: number, stop: number, cls: number): number {
  let p = from;
  while (p < stop && (CLASS[buf[base + p]] & cls)) p++;
  return p;
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

/**
 * Decodes bytes as Latin-1 (each byte one code unit), which is what Headers expects.
 *
 * @param buf The bytes.
 * @param start The first byte to decode.
 * @param end Just past the last byte to decode.
 * @returns The text.
 */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  if (end - start <= 16) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
    return s;
  }
  // `apply` takes the typed array as it is; in slices, to stay within the
  // engine's limit on the number of arguments.
  let s = "";
  for (let from = start; from < end; from += LATIN1_SLICE) {
    const piece = buf.subarray(from, Math.min(end, from + LATIN1_SLICE));
    s += String.fromCharCode.apply(null, piece as unknown as number[]);
  }
  return s;
}

const LATIN1_SLICE = 8192;

/** For a head without obs-text: US-ASCII decodes the same as UTF-8 and Latin-1, in one call. */
const ASCII = new TextDecoder();

/** The head's bytes from `start` to `end` as text, one code unit per byte. */
function decodeHead(buf: Uint8Array, start: number, end: number, obsText: boolean): string {
  return obsText ? latin1(buf, start, end) : ASCII.decode(buf.subarray(start, end));
}

/**
 * Field names most requests carry, lower-case, grouped by length: a name the
 * head spells in any case is handed out as the same string each time,
 * without decoding it (Go's `textproto` keeps such a table for the same reason).
 */
const COMMON_NAMES: readonly (readonly string[] | undefined)[] = (() => {
  const names = [
    "accept",
    "accept-encoding",
    "accept-language",
    "authorization",
    "cache-control",
    "connection",
    "content-length",
    "content-type",
    "cookie",
    "dnt",
    "expect",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "origin",
    "pragma",
    "priority",
    "range",
    "referer",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "sec-fetch-dest",
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-fetch-user",
    "sec-purpose",
    "te",
    "transfer-encoding",
    "upgrade",
    "upgrade-insecure-requests",
    "user-agent",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-requested-with",
  ] as const;
  const byLength: string[][] = [];
  for (const name of names) (byLength[name.length] ??= []).push(name);
  return byLength;
})();

/** The common spelling of the name at `text[start, end)`, or undefined when it is not common. */
function commonName(text: string, start: number, end: number): string | undefined {
  const candidates = COMMON_NAMES[end - start];
  if (candidates === undefined) return undefined;
  for (const name of candidates) if (sameName(text, start, name)) return name;
  return undefined;
}

/**
 * Whether the text at `start` spells `name`, ignoring the case of ASCII
 * letters (field names are tokens: ASCII is all there is). The caller has
 * checked that the text is long enough.
 */
function sameName(text: string, start: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const a = text.charCodeAt(start + i);
    const b = name.charCodeAt(i);
    // Two letters that differ only in case differ only in bit 5.
    if (a !== b && ((a ^ b) !== 0x20 || (a | 0x20) < 0x61 || (a | 0x20) > 0x7a)) return false;
  }
  return true;
}

/** The method at `text[start, end)`: the constant for a known method, otherwise decoded. */
function methodName(text: string, start: number, end: number): string {
  for (const method of METHOD_LIST) {
    if (method.length === end - start && text.startsWith(method, start)) return method;
  }
  return text.slice(start, end);
}

const METHOD_LIST: readonly string[] = [...KNOWN_METHODS];

// The fields whose values decide how the server reads the request, by name length.
const F_OTHER = 0;
const F_HOST = 1;
const F_EXPECT = 2;
const F_CONNECTION = 3;
const F_CONTENT_LENGTH = 4;
const F_TRANSFER_ENCODING = 5;

/** Which of the fields the server itself reads the name at `text[start, end)` is. */
function semanticField(text: string, start: number, end: number): number {
  switch (end - start) {
    case 4:
      return sameName(text, start, "host") ? F_HOST : F_OTHER;
    case 6:
      return sameName(text, start, "expect") ? F_EXPECT : F_OTHER;
    case 10:
      return sameName(text, start, "connection") ? F_CONNECTION : F_OTHER;
    case 14:
      return sameName(text, start, "content-length") ? F_CONTENT_LENGTH : F_OTHER;
    case 17:
      return sameName(text, start, "transfer-encoding") ? F_TRANSFER_ENCODING : F_OTHER;
  }
  return F_OTHER;
}

/**
 * Decodes a complete head that `scanner` has validated and applies the
 * semantic rules of RFC 9112: a known method, a target form that suits it,
 * exactly one valid Host in HTTP/1.1, unambiguous body framing, and
 * connection persistence. The head is decoded as one string; the fields the
 * rules need are found by comparing their names in place, and only their
 * values become strings of their own.
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
  const offsets = scanner.fields.slice();
  // Everything the head hands out lies before the end of the last value.
  const end = offsets.length === 0 ? scanner.targetEnd : offsets[offsets.length - 1];
  const text = decodeHead(buf, base, base + end, scanner.obsText);
  const method = methodName(text, scanner.headStart, scanner.methodEnd);
  const target = text.slice(scanner.targetStart, scanner.targetEnd);
  const minor = scanner.minor;
  let host: string | null = null;
  let hostCount = 0;
  let contentLength = -1;
  let transferEncoding: string | null = null;
  let connection = 0;
  let expectContinue = false;

  for (let i = 0; i < offsets.length; i += 4) {
    const field = semanticField(text, offsets[i], offsets[i + 1]);
    if (field === F_OTHER) continue;
    const valueStart = offsets[i + 2];
    const valueEnd = offsets[i + 3];
    switch (field) {
      case F_HOST:
        hostCount++;
        host = text.slice(valueStart, valueEnd);
        break;
      case F_CONTENT_LENGTH:
        contentLength = mergeContentLength(contentLength, text.slice(valueStart, valueEnd));
        break;
      case F_TRANSFER_ENCODING: {
        const value = text.slice(valueStart, valueEnd);
        transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
        break;
      }
      case F_CONNECTION:
        connection |= connectionOptions(text, valueStart, valueEnd);
        break;
      case F_EXPECT:
        if (text.slice(valueStart, valueEnd).toLowerCase() !== "100-continue") {
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

  const close = (connection & CLOSE) !== 0;
  const keepAlive = minor === 1 ? !close : (connection & KEEP_ALIVE) !== 0 && !close;
  return new RequestHead(text, offsets, {
    method,
    target,
    form,
    minor,
    host,
    framing,
    keepAlive,
    expectContinue,
  });
}

const NO_BODY: BodyFraming = Object.freeze({ kind: "none" });
const CHUNKED: BodyFraming = Object.freeze({ kind: "chunked" });

// The connection options that decide persistence (RFC 9112 §9.3), as bits.
const CLOSE = 1;
const KEEP_ALIVE = 2;

/**
 * Which of `close` and `keep-alive` the Connection value at `text[start, end)`
 * lists (RFC 9110 §7.6.1): members are split at commas, stripped of OWS and
 * compared in any case, without making a string of each.
 */
function connectionOptions(text: string, start: number, end: number): number {
  let options = 0;
  let from = start;
  while (from <= end) {
    let comma = from;
    while (comma < end && text.charCodeAt(comma) !== 0x2c) comma++;
    let first = from;
    let last = comma;
    while (first < last && isOws(text.charCodeAt(first))) first++;
    while (last > first && isOws(text.charCodeAt(last - 1))) last--;
    if (last - first === 5 && sameName(text, first, "close")) options |= CLOSE;
    else if (last - first === 10 && sameName(text, first, "keep-alive")) options |= KEEP_ALIVE;
    from = comma + 1;
  }
  return options;
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
  return c <= 0xff && (CLASS[c] & REG_NAME) !== 0;
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

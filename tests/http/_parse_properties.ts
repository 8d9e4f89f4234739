/**
 * Property-based checks of the request parser, shared by
 * `parse_property_test.ts` (a few hundred runs each, under `deno test`) and
 * `parse_fuzz.ts` (long runs with a configurable count and seed).
 *
 * The generators build valid requests from RFC 9112 grammar and remember
 * what they meant (method, target, fields, framing, body), so a parse can be
 * compared with intent rather than with another parser; framing conflicts
 * and limits are added on purpose, with the status they must get. Invalid
 * input comes from random bytes, HTTP-shaped word salad, near-valid heads
 * and mutations of valid requests; for those the properties check the
 * outcome set (a head, "need more bytes", or a documented status),
 * agreement between whole and piecewise reading, and invariants any
 * accepted head or body must satisfy, checked with an independent model of
 * the RFC rules rather than with the parser's own helpers.
 *
 * @module
 */

// Full specifier, not an import map entry: deno.json's import map goes into
// the published package and the compiled binary, and test libraries belong in neither.
// deno-lint-ignore no-import-prefix
import fc from "npm:fast-check@4.10.2";
import { assert, assertEquals } from "../_deps.ts";
import { DEFAULT_LIMITS } from "../../lib/config.ts";
import { HttpError, ParseError } from "../../lib/errors.ts";
import { BodyReader } from "../../lib/http/body.ts";
import {
  type BodyFraming,
  HeadScanner,
  parseRequestHead,
  type RequestHeadData,
  type TargetForm,
} from "../../lib/http/parse.ts";
import { BufferedReader } from "../../lib/http/reader.ts";
import { bytes, FakeSource } from "./_fake_source.ts";
import { concat } from "../_bytes.ts";

/** The limits the head scanner enforces (target, head and field count). */
export type HeadLimits = ConstructorParameters<typeof HeadScanner>[0];

/**
 * Statuses a request head may be refused with (README "Strict parsing",
 * `tests/http/parse_test.ts`): malformed 400, Content-Length beyond a safe
 * integer 413, long target 414, an expectation other than 100-continue 417,
 * large head 431, unknown method or coding 501, other HTTP versions 505.
 */
export const HEAD_STATUSES: ReadonlySet<number> = new Set([400, 413, 414, 417, 431, 501, 505]);

/** Methods the parser implements (RFC 9110 §9, RFC 5789); CONNECT is refused with 501. */
export const VALID_METHODS: readonly string[] = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "TRACE",
  "PATCH",
];

// --- Bytes -------------------------------------------------------------------

/** Bytes as a Latin-1 string (one character per byte). */
export function latin1Text(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

/** Bytes shown for a failure message: a JSON string with every byte visible. */
export function show(b: Uint8Array): string {
  return JSON.stringify(latin1Text(b));
}

/** `input` cut into pieces whose sizes cycle through `sizes` (every piece non-empty). */
export function splitBytes(input: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0, i = 0; at < input.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length]);
    out.push(input.subarray(at, at + size));
    at += size;
  }
  return out;
}

// --- Character classes (RFC 9110 §5.6.2, §5.5; RFC 9112 §3.2) ----------------

const DIGITS = "0123456789";
const ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const TCHARS = "!#$%&'*+-.^_`|~" + DIGITS + ALPHA;
const REG_NAME_CHARS = ALPHA + DIGITS + "-._~%!$&'()*+,;=";
const HEX = "0123456789abcdefABCDEF";

function range(from: number, to: number): string {
  let s = "";
  for (let c = from; c <= to; c++) s += String.fromCharCode(c);
  return s;
}

/** Visible ASCII except "#": what a request-target may hold. */
const TARGET_CHARS = range(0x21, 0x7e).replace("#", "");
const VCHAR = range(0x21, 0x7e);
const OBS_TEXT = range(0x80, 0xff);

function isTokenText(s: string): boolean {
  if (s.length === 0) return false;
  for (const c of s) if (!TCHARS.includes(c)) return false;
  return true;
}

/** Field-value characters (VCHAR, obs-text, SP, HTAB), the only ones a value may keep. */
function isFieldValueText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(c === 0x09 || (c >= 0x20 && c <= 0x7e) || (c >= 0x80 && c <= 0xff))) return false;
  }
  return true;
}

/** Strips optional whitespace (RFC 9110 §5.6.3: SP and HTAB only, nothing else). */
function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s[start] === " " || s[start] === "\t")) start++;
  while (end > start && (s[end - 1] === " " || s[end - 1] === "\t")) end--;
  return s.slice(start, end);
}

/** ASCII-only lower case, as tokens are compared (RFC 9110 §5.6.2). */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x20));
}

/** The members of a comma-separated list, OWS trimmed, empty members dropped (RFC 9110 §5.6.1). */
function listMembers(value: string): string[] {
  return value.split(",").map(trimOws).filter((m) => m !== "");
}

// --- Generators of valid requests ------------------------------------------------

function chars(set: string): fc.Arbitrary<string> {
  return fc.constantFrom(...set);
}

/** A token (RFC 9110 §5.6.2). */
export const tokenArb: fc.Arbitrary<string> = fc.string({
  unit: chars(TCHARS),
  minLength: 1,
  maxLength: 12,
});

const ows = fc.string({ unit: fc.constantFrom(" ", "\t"), maxLength: 3 });
const rarely = <T>(value: T, arb: fc.Arbitrary<T>, weight = 1) =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(value) }, { weight, arbitrary: arb });

/** Names the parser gives a meaning; the generators add them on purpose, never at random. */
const SEMANTIC_FIELDS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "expect",
]);

const fieldNameArb = fc.oneof(
  fc.constantFrom("Accept", "User-Agent", "Cookie", "X-Dup", "accept-language", "If-None-Match"),
  tokenArb,
).filter((name) => !SEMANTIC_FIELDS.has(asciiLower(name)));

/** A field value without surrounding whitespace: VCHAR, obs-text (0x80–0xFF), inner SP and HTAB. */
export const fieldValueArb: fc.Arbitrary<string> = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: chars(VCHAR) },
    { weight: 2, arbitrary: chars(OBS_TEXT) },
    { weight: 2, arbitrary: fc.constantFrom(" ", "\t") },
  ),
  { maxLength: 40 },
).map((cs) => trimOws(cs.join("")));

/** A field line as sent: the name in any case, OWS, the value, OWS. */
export interface FieldLine {
  readonly name: string;
  readonly before: string;
  readonly value: string;
  readonly after: string;
}

const extraFieldArb: fc.Arbitrary<FieldLine> = fc.record({
  name: fieldNameArb,
  before: ows,
  value: fieldValueArb,
  after: ows,
});

/** A Host value: reg-name or IPv4 (possibly empty), or an IPv6 literal, then an optional port. */
const hostValueArb = fc.tuple(
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: chars(REG_NAME_CHARS), maxLength: 20 }) },
    {
      weight: 1,
      arbitrary: fc.string({ unit: chars(HEX + ":."), minLength: 1, maxLength: 20 }).map((s) =>
        `[${s}]`
      ),
    },
  ),
  fc.option(fc.string({ unit: chars(DIGITS), maxLength: 5 })),
).map(([name, port]) => port === null ? name : `${name}:${port}`);

const originTargetArb = fc.string({ unit: chars(TARGET_CHARS), maxLength: 40 }).map((s) => `/${s}`);
const absoluteTargetArb = fc.tuple(
  fc.mixedCase(fc.constantFrom("http", "https")),
  fc.string({ unit: chars(ALPHA + DIGITS + "-."), minLength: 1, maxLength: 15 }),
  fc.option(fc.string({ unit: chars(DIGITS), minLength: 1, maxLength: 5 })),
  fc.string({ unit: chars(TARGET_CHARS), maxLength: 30 }),
).map(([scheme, host, port, path]) =>
  `${scheme}://${host}${port === null ? "" : `:${port}`}/${path}`
);

/** How a Content-Length is spelled: in how many fields, how many list members, leading zeros. */
interface LengthSpelling {
  readonly fields: number;
  readonly members: number;
  readonly zeros: number;
}

const lengthSpellingArb: fc.Arbitrary<LengthSpelling> = fc.record({
  fields: rarely(1, fc.constant(2)),
  members: rarely(1, fc.constant(2)),
  zeros: rarely(0, fc.integer({ min: 1, max: 3 })),
});

/** How one chunk-size line is spelled. */
interface ChunkSpelling {
  readonly zeros: number;
  readonly upper: boolean;
  /** A chunk extension with the whitespace before its ";" (RFC 9112 §7.1.1: BWS), or "". */
  readonly ext: string;
}

const EXT_CHARS = "\t" + range(0x20, 0x7e) + OBS_TEXT;
const chunkExtArb = fc.oneof(
  fc.tuple(tokenArb, fc.option(fc.oneof(tokenArb, fc.string({ unit: chars(TCHARS + " ") })))).map(
    ([name, value]) => value === null ? `;${name}` : `;${name}="${value}"`,
  ),
  fc.string({ unit: chars(EXT_CHARS), maxLength: 20 }).map((s) => `;${s}`),
);

const chunkSpellingArb: fc.Arbitrary<ChunkSpelling> = fc.record({
  zeros: rarely(0, fc.integer({ min: 1, max: 3 })),
  upper: fc.boolean(),
  ext: rarely("", fc.tuple(ows, chunkExtArb).map(([bws, ext]) => bws + ext)),
});

const trailerLineArb = fc.tuple(
  tokenArb,
  fc.string({ unit: chars("\t" + range(0x20, 0x7e) + OBS_TEXT), maxLength: 20 }),
).map(([name, value]) => `${name}:${value}`);

/** A chunked body on the wire and the data it carries (RFC 9112 §7.1). */
export interface ChunkedWire {
  readonly wire: Uint8Array;
  readonly data: Uint8Array;
}

function chunkSizeLine(size: number, spelling: ChunkSpelling): string {
  const hex = size.toString(16);
  const digits = "0".repeat(spelling.zeros) + (spelling.upper ? hex.toUpperCase() : hex);
  return `${digits}${spelling.ext}\r\n`;
}

/** A valid chunked body: random data cut into random chunks, extensions and trailers. */
export const chunkedWireArb: fc.Arbitrary<ChunkedWire> = fc.record({
  data: fc.uint8Array({ maxLength: 300 }),
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
  spellings: fc.array(chunkSpellingArb, { minLength: 1, maxLength: 8 }),
  trailers: rarely([], fc.array(trailerLineArb, { minLength: 1, maxLength: 3 })),
}).map(({ data, cuts, spellings, trailers }) => {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  let i = 0;
  for (const to of [...points, data.length]) {
    if (to === from) continue;
    parts.push(bytes(chunkSizeLine(to - from, spellings[i++ % spellings.length])));
    parts.push(data.subarray(from, to), bytes("\r\n"));
    from = to;
  }
  parts.push(bytes(chunkSizeLine(0, spellings[i % spellings.length])));
  parts.push(bytes(trailers.map((t) => `${t}\r\n`).join("") + "\r\n"));
  return { wire: concat(parts), data };
});

type BodyChoice =
  | { readonly kind: "none"; readonly zeroLength: LengthSpelling | null }
  | { readonly kind: "length"; readonly data: Uint8Array; readonly spelling: LengthSpelling }
  | { readonly kind: "chunked"; readonly chunked: ChunkedWire; readonly coding: string };

const bodyChoiceArb: fc.Arbitrary<BodyChoice> = fc.oneof(
  fc.record({ kind: fc.constant("none" as const), zeroLength: fc.option(lengthSpellingArb) }),
  fc.record({
    kind: fc.constant("length" as const),
    data: fc.uint8Array({ minLength: 1, maxLength: 300 }),
    spelling: lengthSpellingArb,
  }),
  fc.record({
    kind: fc.constant("chunked" as const),
    chunked: chunkedWireArb,
    coding: fc.mixedCase(fc.constant("chunked")),
  }),
);

/** A valid request as generated: what goes on the wire and what the parser must report. */
export interface RequestSpec {
  /** Empty lines before the request line (RFC 9112 §2.2 lets a server ignore them). */
  readonly leading: number;
  readonly method: string;
  readonly target: string;
  readonly minor: 0 | 1;
  readonly lines: readonly FieldLine[];
  /** The body bytes on the wire (encoded, for chunked). */
  readonly wireBody: Uint8Array;
  /** The head the parser must return. */
  readonly expected: RequestHeadData;
  /** The body the decoder must return. */
  readonly body: Uint8Array;
}

function lengthLines(length: number, spelling: LengthSpelling, name: string): FieldLine[] {
  const member = "0".repeat(spelling.zeros) + String(length);
  const value = Array.from({ length: spelling.members }, () => member).join(", ");
  return Array.from({ length: spelling.fields }, () => ({ name, before: " ", value, after: "" }));
}

/**
 * Valid requests: a method the parser implements, an origin-, absolute- or
 * asterisk-form target, HTTP/1.0 or 1.1, fields with random token names and
 * values (obs-text included) in any case and with any OWS, and, placed among
 * them on purpose, Host, Connection, Expect and the framing fields for no
 * body, a Content-Length body or a chunked body.
 */
export const requestSpecArb: fc.Arbitrary<RequestSpec> = fc.record({
  leading: rarely(0, fc.integer({ min: 1, max: 2 })),
  method: fc.constantFrom(...VALID_METHODS),
  targetKind: fc.constantFrom("origin", "origin", "origin", "absolute", "asterisk"),
  origin: originTargetArb,
  absolute: absoluteTargetArb,
  minor: fc.constantFrom(0 as const, 1 as const, 1 as const),
  host: fc.option(fc.tuple(fc.mixedCase(fc.constant("Host")), ows, hostValueArb, ows), {
    freq: 6,
  }),
  extra: fc.array(extraFieldArb, { maxLength: 8 }),
  connection: fc.array(
    fc.tuple(
      fc.mixedCase(fc.constant("Connection")),
      fc.array(
        fc.tuple(
          fc.oneof(
            fc.mixedCase(fc.constantFrom("close", "keep-alive", "upgrade", "te")),
            tokenArb,
            fc.constant(""),
          ),
          ows,
          ows,
        ),
        { minLength: 1, maxLength: 3 },
      ),
    ),
    { maxLength: 2 },
  ),
  expect: fc.option(
    fc.tuple(fc.mixedCase(fc.constant("Expect")), fc.mixedCase(fc.constant("100-continue"))),
    {
      freq: 4,
    },
  ),
  body: bodyChoiceArb,
  clName: fc.mixedCase(fc.constant("Content-Length")),
  teName: fc.mixedCase(fc.constant("Transfer-Encoding")),
  positions: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
}).map((r): RequestSpec => {
  let method = r.method;
  let target = r.origin;
  let form: TargetForm = "origin";
  if (r.targetKind === "absolute") {
    target = r.absolute;
    form = "absolute";
  } else if (r.targetKind === "asterisk") {
    method = "OPTIONS";
    target = "*";
    form = "asterisk";
  }

  // Host is required (exactly once) in HTTP/1.1 and optional in HTTP/1.0 (RFC 9112 §3.2).
  const host = r.host ?? (r.minor === 1 ? ["Host", " ", "a", ""] as const : null);
  const semantic: FieldLine[] = [];
  if (host !== null) {
    semantic.push({ name: host[0], before: host[1], value: host[2], after: host[3] });
  }

  let close = false;
  let keepAliveOption = false;
  for (const [name, members] of r.connection) {
    const value = trimOws(members.map(([m, a, b]) => `${a}${m}${b}`).join(","));
    for (const [m] of members) {
      if (asciiLower(m) === "close") close = true;
      if (asciiLower(m) === "keep-alive") keepAliveOption = true;
    }
    semantic.push({ name, before: "", value, after: " " });
  }
  if (r.expect !== null) {
    semantic.push({ name: r.expect[0], before: " ", value: r.expect[1], after: "" });
  }

  // Chunked is HTTP/1.1 only (RFC 9112 §6.1); an HTTP/1.0 request sends its chunks' data by length.
  let body = r.body;
  if (body.kind === "chunked" && r.minor === 0) {
    body = body.chunked.data.length === 0
      ? { kind: "none", zeroLength: null }
      : { kind: "length", data: body.chunked.data, spelling: { fields: 1, members: 1, zeros: 0 } };
  }
  let framing: BodyFraming = { kind: "none" };
  let wireBody: Uint8Array = new Uint8Array(0);
  let data: Uint8Array = new Uint8Array(0);
  if (body.kind === "none" && body.zeroLength !== null) {
    semantic.push(...lengthLines(0, body.zeroLength, r.clName));
  } else if (body.kind === "length") {
    semantic.push(...lengthLines(body.data.length, body.spelling, r.clName));
    framing = { kind: "length", length: body.data.length };
    wireBody = data = body.data;
  } else if (body.kind === "chunked") {
    semantic.push({ name: r.teName, before: " ", value: body.coding, after: "" });
    framing = { kind: "chunked" };
    wireBody = body.chunked.wire;
    data = body.chunked.data;
  }

  const lines: FieldLine[] = [...r.extra];
  semantic.forEach((line, i) => {
    lines.splice(r.positions[i % r.positions.length] % (lines.length + 1), 0, line);
  });

  const expected: RequestHeadData = {
    method,
    target,
    form,
    minor: r.minor,
    fields: lines.map((l) => [asciiLower(l.name), l.value] as const),
    host: host === null ? null : host[2],
    framing,
    // RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive".
    keepAlive: r.minor === 1 ? !close : keepAliveOption && !close,
    expectContinue: r.expect !== null,
  };
  return {
    leading: r.leading,
    method,
    target,
    minor: r.minor,
    lines,
    wireBody,
    expected,
    body: data,
  };
});

/** A request on the wire, with offsets the limit checks need. */
export interface WireRequest {
  /** Head and body. */
  readonly bytes: Uint8Array;
  /** Length of the head through its final CRLF, leading empty lines included. */
  readonly headLength: number;
  /** Where the method starts (after leading empty lines). */
  readonly headStart: number;
  readonly targetStart: number;
  /** Where each field line starts. */
  readonly fieldStarts: readonly number[];
}

/** Serializes a generated request exactly as specified (RFC 9112 §2.1). */
export function serializeRequest(spec: RequestSpec): WireRequest {
  let head = "\r\n".repeat(spec.leading);
  const headStart = head.length;
  head += `${spec.method} `;
  const targetStart = head.length;
  head += `${spec.target} HTTP/1.${spec.minor}\r\n`;
  const fieldStarts: number[] = [];
  for (const l of spec.lines) {
    fieldStarts.push(head.length);
    head += `${l.name}:${l.before}${l.value}${l.after}\r\n`;
  }
  head += "\r\n";
  return {
    bytes: concat([bytes(head), spec.wireBody]),
    headLength: head.length,
    headStart,
    targetStart,
    fieldStarts,
  };
}

/** Serializes a parsed head in the plainest form, to check that parsing is a fixpoint. */
export function serializeHead(head: RequestHeadData): Uint8Array {
  let s = `${head.method} ${head.target} HTTP/1.${head.minor}\r\n`;
  for (const [name, value] of head.fields) s += `${name}: ${value}\r\n`;
  return bytes(`${s}\r\n`);
}

// --- Generators of invalid input ---------------------------------------------------

/** Fragments of requests, so that random sequences get past the first bytes often. */
const HTTP_WORDS = [
  "GET",
  "POST",
  "OPTIONS",
  "CONNECT",
  "get",
  " ",
  "\t",
  "/",
  "/a?b=c",
  "*",
  "http://a/",
  "#",
  "HTTP/1.1",
  "HTTP/1.0",
  "HTTP/2.0",
  "HTTP/1.",
  "\r\n",
  "\r\n",
  "\r\n\r\n",
  "\r",
  "\n",
  "Host",
  "Host: a",
  "Host: a\r\n",
  ":",
  ": ",
  "Content-Length",
  "Content-Length: 5",
  "Content-Length: 5, 5",
  "Content-Length: 99999999999999999999",
  "Transfer-Encoding",
  "Transfer-Encoding: chunked",
  "chunked",
  "gzip, chunked",
  "Connection: close",
  "keep-alive",
  "Expect: 100-continue",
  "Expect",
  "0",
  "5",
  ",",
  "\x00",
  "\x7f",
  "\x80",
  "\xa0",
  "\xff",
  "x",
  "X-A: b",
];

/** HTTP-shaped word salad with random bytes mixed in. */
export const httpishBytesArb: fc.Arbitrary<Uint8Array> = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...HTTP_WORDS) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b)) },
  ),
  { maxLength: 40 },
).map((words) => bytes(words.join("")));

/** Mostly `good`, sometimes one of `bad`. */
function mostly(good: string, bad: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof({ weight: 12, arbitrary: fc.constant(good) }, {
    weight: 1,
    arbitrary: fc.constantFrom(...bad),
  });
}

const eolArb = mostly("\r\n", ["\n", "\r", "", "\r\r\n"]);
const nearFieldArb = fc.oneof(
  fc.tuple(fc.constant("Host"), fc.constantFrom("a", "a:1", "[::1]", "", "a/b", "a@b", "a b")),
  fc.tuple(
    fc.constant("Content-Length"),
    fc.constantFrom("5", "0", "5, 5", "5, 6", "", "-1", "0x5", "99999999999999999999"),
  ),
  fc.tuple(
    fc.constant("Transfer-Encoding"),
    fc.constantFrom("chunked", "CHUNKED", "gzip, chunked", "chunked, chunked", "chunked, gzip", ""),
  ),
  fc.tuple(fc.constant("Connection"), fc.constantFrom("close", "keep-alive", "Upgrade, close", "")),
  fc.tuple(fc.constant("Expect"), fc.constantFrom("100-continue", "100-Continue", "200-ok", "")),
  fc.tuple(fc.constantFrom("X-A", "Accept"), fc.constantFrom("a", "\x80\xff", "a\x00b", " \t", "")),
).chain(([name, value]) =>
  fc.tuple(
    mostly(name, ["Host ", "", "X\x00", "X@"]),
    mostly(": ", [":", ":\t", " :", ""]),
    fc.constant(value),
    eolArb,
  )
);

/**
 * Heads assembled from good and (less often) bad alternatives for each part:
 * method, separators, target, version, fields and line ends. Random input of
 * this shape reaches every check of the parser and is sometimes accepted.
 */
export const nearHeadArb: fc.Arbitrary<Uint8Array> = fc.tuple(
  mostly("GET", ["POST", "OPTIONS", "CONNECT", "get", "G(T", "FOO", ""]),
  mostly(" ", ["  ", "\t", ""]),
  mostly("/", ["/a?b=c", "*", "http://a/", "HTTPS://a:1/x", "/#", "a", "/\x00", "/\x80", ""]),
  mostly(" ", ["  ", "\t", ""]),
  mostly("HTTP/1.1", [
    "HTTP/1.0",
    "HTTP/1.2",
    "HTTP/2.0",
    "HTTP/0.9",
    "HTTP/1.",
    "http/1.1",
    "HTTP/1.10",
  ]),
  eolArb,
  mostly("Host: a\r\n", [""]),
  fc.array(nearFieldArb, { maxLength: 4 }),
  eolArb,
).map(([method, sp1, target, sp2, version, eol, host, fields, end]) =>
  bytes(
    `${method}${sp1}${target}${sp2}${version}${eol}${host}${
      fields.map(([n, c, v, e]) => `${n}${c}${v}${e}`).join("")
    }${end}`,
  )
);

/** Uniformly random bytes, HTTP-shaped word salad or near-heads, optionally ending in CRLFCRLF. */
export const randomInputArb: fc.Arbitrary<Uint8Array> = fc.tuple(
  fc.oneof(fc.uint8Array({ maxLength: 300 }), httpishBytesArb, nearHeadArb),
  fc.boolean(),
).map(([b, end]) => end ? concat([b, bytes("\r\n\r\n")]) : b);

/** One edit of a byte string. Positions are taken modulo the length when applied. */
export type Mutation =
  | { readonly op: "insert"; readonly at: number; readonly byte: number }
  | { readonly op: "delete"; readonly at: number }
  | { readonly op: "replace"; readonly at: number; readonly byte: number }
  | { readonly op: "duplicateLine"; readonly at: number }
  | { readonly op: "truncate"; readonly at: number };

/** Bytes that matter to the grammar (delimiters, CTLs, obs-text), or any byte. */
const interestingByte = fc.oneof(
  fc.constantFrom(0x0d, 0x0a, 0x00, 0x20, 0x09, 0x7f, 0x80, 0xa0, 0xff, 0x3a, 0x2c, 0x3b, 0x23),
  fc.integer({ min: 0x30, max: 0x39 }),
  fc.integer({ min: 0, max: 255 }),
);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), byte: interestingByte }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("replace" as const), at: fc.nat(), byte: interestingByte }),
  fc.record({ op: fc.constant("duplicateLine" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
);

/** Applies the edits in order. */
export function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b = input;
  for (const m of mutations) {
    const at = m.at % (b.length + 1);
    switch (m.op) {
      case "insert":
        b = concat([b.subarray(0, at), Uint8Array.of(m.byte), b.subarray(at)]);
        break;
      case "delete":
        if (at < b.length) b = concat([b.subarray(0, at), b.subarray(at + 1)]);
        break;
      case "replace":
        if (at < b.length) {
          b = b.slice();
          b[at] = m.byte;
        }
        break;
      case "duplicateLine": {
        // The line holding `at`, through its LF, appears twice.
        const start = at === 0 ? 0 : b.lastIndexOf(0x0a, at - 1) + 1;
        const lf = b.indexOf(0x0a, at);
        const end = lf === -1 ? b.length : lf + 1;
        b = concat([b.subarray(0, end), b.subarray(start, end), b.subarray(end)]);
        break;
      }
      case "truncate":
        b = b.subarray(0, at);
        break;
    }
  }
  return b;
}

/** How input is cut into reads: whole, one byte at a time, or random sizes. */
export const readSizesArb: fc.Arbitrary<readonly number[]> = fc.oneof(
  fc.constant([1 << 30]),
  fc.constant([1]),
  fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
);

/** The reader's initial buffer size: the default, or tiny so that it must move and grow. */
const initialSizeArb = fc.oneof(fc.constant(16 * 1024), fc.integer({ min: 1, max: 64 }));

// --- Outcomes ------------------------------------------------------------------

/** Thrown by {@linkcode BoundedReader} when its user keeps calling it without progress. */
class NoProgress extends Error {}

/**
 * A reader that fails, rather than spins, when the code using it makes no
 * progress. With correct code every call reads from the source, consumes a
 * byte or reports the end, so a finite input allows only so many calls. A
 * loop that awaits only settled promises starves timers, so a timeout could
 * never catch it; this budget can.
 */
class BoundedReader extends BufferedReader {
  #budget: number;

  constructor(source: FakeSource, initialSize: number, inputLength: number) {
    super(source, initialSize);
    this.#budget = 4 * (inputLength + 4);
  }

  #spend(what: string): void {
    if (--this.#budget < 0) throw new NoProgress(`${what}() called again and again: a hang`);
  }

  override fill(maxBuffered?: number): Promise<boolean> {
    this.#spend("fill");
    return super.fill(maxBuffered);
  }

  override take(max: number): Promise<Uint8Array | null> {
    this.#spend("take");
    return super.take(max);
  }

  override skip(max: number): Promise<number | null> {
    this.#spend("skip");
    return super.skip(max);
  }

  override readLine(maxLength: number): Promise<string> {
    this.#spend("readLine");
    return super.readLine(maxLength);
  }
}

/** A reader over `input` delivered in pieces of `sizes`, and its source. */
function openReader(
  input: Uint8Array,
  sizes: readonly number[],
  initialSize: number,
): { reader: BufferedReader; source: FakeSource } {
  const source = new FakeSource(splitBytes(input, sizes));
  return { reader: new BoundedReader(source, initialSize, input.length), source };
}

/** What parsing a byte string ended in. */
export type HeadOutcome =
  | { readonly kind: "head"; readonly head: RequestHeadData; readonly length: number }
  | { readonly kind: "incomplete" }
  | { readonly kind: "error"; readonly status: number };

/** The status of an error the head parser threw; anything but a documented ParseError fails. */
function headErrorStatus(error: unknown): number {
  if (error instanceof NoProgress) throw error;
  if (!(error instanceof ParseError)) {
    throw new Error(`The head parser threw something other than a ParseError: ${error}`, {
      cause: error,
    });
  }
  if (!HEAD_STATUSES.has(error.status)) {
    throw new Error(
      `The head parser threw an undocumented status ${error.status}: ${error.message}`,
    );
  }
  return error.status;
}

/** Parses `input` with {@linkcode parseRequestHead}; fails on any undocumented outcome. */
export function parseOutcome(input: Uint8Array, limits: HeadLimits = DEFAULT_LIMITS): HeadOutcome {
  let parsed;
  try {
    parsed = parseRequestHead(input, limits);
  } catch (error) {
    return { kind: "error", status: headErrorStatus(error) };
  }
  // The head's values as data, comparable with a generated expectation.
  return parsed === null
    ? { kind: "incomplete" }
    : { kind: "head", head: parsed.head.toJSON(), length: parsed.length };
}

/** Whether the scanner has seen more than leading empty lines (RFC 9112 §2.2). */
function requestStarted(input: Uint8Array): boolean {
  return !/^(\r\n)*\r?$/.test(latin1Text(input));
}

/** What reading one head through a {@linkcode BufferedReader} ended in. */
type ReadOutcome =
  | { readonly kind: "head"; readonly head: RequestHeadData }
  | { readonly kind: "end" }
  | { readonly kind: "error"; readonly status: number };

async function readHeadOutcome(
  reader: BufferedReader,
  scanner: HeadScanner,
  limits: HeadLimits,
): Promise<ReadOutcome> {
  try {
    const head = await reader.readHead(scanner, limits.maxHeadBytes);
    return head === null ? { kind: "end" } : { kind: "head", head: head.toJSON() };
  } catch (error) {
    return { kind: "error", status: headErrorStatus(error) };
  }
}

/** What reading a body ended in. */
export type BodyOutcome =
  | { readonly kind: "data"; readonly data: Uint8Array }
  | { readonly kind: "error"; readonly status: number };

/** Reads a whole body; fails on anything but data, ParseError 400 or HttpError 413. */
async function readBodyOutcome(body: BodyReader, discard: boolean): Promise<BodyOutcome> {
  const pieces: Uint8Array[] = [];
  let discarded = true;
  try {
    if (discard) discarded = await body.discard();
    else {
      for (let piece = await body.read(); piece !== null; piece = await body.read()) {
        pieces.push(piece);
        if (piece.length === 0) break;
      }
    }
  } catch (error) {
    if (error instanceof ParseError && error.status === 400) return { kind: "error", status: 400 };
    if (error instanceof HttpError && error.status === 413) return { kind: "error", status: 413 };
    if (error instanceof NoProgress) throw error;
    throw new Error(
      `The body decoder threw something other than ParseError 400 or HttpError 413: ${error}`,
      { cause: error },
    );
  }
  assert(pieces.every((p) => p.length > 0), "read() never hands out an empty piece");
  assert(discarded, "discard() without a limit drops the whole body");
  assert(body.done, "a body read to its end is done");
  return { kind: "data", data: concat(pieces) };
}

// --- Invariants of an accepted head ---------------------------------------------------

function fieldValues(head: RequestHeadData, name: string): string[] {
  return head.fields.filter(([n]) => n === name).map(([, v]) => v);
}

/**
 * Checks what RFC 9110 and 9112 require of any head a strict parser accepts,
 * with a model independent of the parser: syntax of every part, one Host in
 * HTTP/1.1, framing that follows from exactly one of Content-Length and
 * Transfer-Encoding, persistence and 100-continue as the fields say.
 */
export function checkHeadInvariants(head: RequestHeadData): void {
  const where = JSON.stringify(head);
  assert(VALID_METHODS.includes(head.method), `method ${head.method} is implemented: ${where}`);
  assert(head.target.length > 0, `empty target: ${where}`);
  for (const c of head.target) {
    assert(TARGET_CHARS.includes(c), `target byte ${JSON.stringify(c)}: ${where}`);
  }
  const expectedForm = head.target.startsWith("/")
    ? "origin"
    : head.target === "*"
    ? "asterisk"
    : /^https?:\/\//i.test(head.target)
    ? "absolute"
    : null;
  assertEquals(head.form, expectedForm, `form of ${head.target}`);
  if (head.form === "asterisk") assertEquals(head.method, "OPTIONS");
  assert(head.minor === 0 || head.minor === 1, `minor version ${head.minor}`);

  for (const [name, value] of head.fields) {
    assert(
      isTokenText(name) && name === asciiLower(name),
      `field name ${JSON.stringify(name)}: ${where}`,
    );
    assert(isFieldValueText(value), `field value bytes ${JSON.stringify(value)}: ${where}`);
    assertEquals(trimOws(value), value, `field value keeps no surrounding OWS: ${where}`);
  }

  const hosts = fieldValues(head, "host");
  assert(hosts.length <= 1, `more than one Host accepted: ${where}`);
  if (head.minor === 1) assertEquals(hosts.length, 1, `HTTP/1.1 without Host accepted: ${where}`);
  assertEquals(head.host, hosts[0] ?? null);
  if (head.host !== null) {
    assert(!/[/?#@\\\s]/.test(head.host), `Host ${JSON.stringify(head.host)} could smuggle a path`);
  }

  // RFC 9112 §6.1–§6.3: one framing, never both; a Content-Length is 1*DIGIT, repeats identical.
  const lengths = fieldValues(head, "content-length");
  const codings = fieldValues(head, "transfer-encoding");
  assert(
    lengths.length === 0 || codings.length === 0,
    `both Content-Length and Transfer-Encoding: ${where}`,
  );
  if (codings.length > 0) {
    assertEquals(head.framing, { kind: "chunked" }, `framing with Transfer-Encoding: ${where}`);
    assertEquals(head.minor, 1, `Transfer-Encoding accepted in HTTP/1.0: ${where}`);
    const members = codings.flatMap((v) => v.split(",").map(trimOws));
    assertEquals(
      members.map(asciiLower),
      ["chunked"],
      `Transfer-Encoding is exactly chunked: ${where}`,
    );
  } else if (lengths.length > 0) {
    const members = lengths.flatMap((v) => v.split(",").map(trimOws));
    for (const m of members) {
      assert(/^[0-9]+$/.test(m), `Content-Length member ${JSON.stringify(m)}: ${where}`);
    }
    const values = new Set(members.map(Number));
    assertEquals(values.size, 1, `differing Content-Length values accepted: ${where}`);
    const [length] = values;
    assertEquals(head.framing, length === 0 ? { kind: "none" } : { kind: "length", length });
  } else {
    assertEquals(head.framing, { kind: "none" }, `framing without any length field: ${where}`);
  }

  // RFC 9112 §9.3: only the exact options (case aside) count; "close\xA0" is not "close".
  const options = fieldValues(head, "connection").flatMap(listMembers).map(asciiLower);
  const close = options.includes("close");
  const keepAlive = head.minor === 1 ? !close : options.includes("keep-alive") && !close;
  assertEquals(head.keepAlive, keepAlive, `keepAlive from Connection ${JSON.stringify(options)}`);

  const expects = fieldValues(head, "expect");
  assertEquals(head.expectContinue, expects.length > 0, `expectContinue: ${where}`);
  for (const e of expects) assertEquals(asciiLower(e), "100-continue");
}

/**
 * Checks everything any outcome of parsing `input` must satisfy: an
 * accepted head satisfies the invariants, ends in CRLFCRLF within the input,
 * reads the same from its own bytes alone, needs every one of them, and
 * re-serializes to bytes that parse to the same head.
 */
function checkOutcome(input: Uint8Array, outcome: HeadOutcome, limits: HeadLimits): void {
  if (outcome.kind !== "head") return;
  const { head, length } = outcome;
  checkHeadInvariants(head);
  assert(length >= 4 && length <= input.length, `head length ${length} of ${input.length}`);
  assertEquals(latin1Text(input.subarray(length - 4, length)), "\r\n\r\n");
  assertEquals(parseOutcome(input.subarray(0, length), limits), outcome, "the head alone");
  assertEquals(parseOutcome(input.subarray(0, length - 1), limits), { kind: "incomplete" });
  const again = serializeHead(head);
  assertEquals(parseOutcome(again), { kind: "head", head, length: again.length }, "fixpoint");
}

/**
 * Reads one head from `input` in pieces through a {@linkcode BufferedReader}
 * and checks that it agrees with parsing the whole input at once.
 */
async function checkReaderAgrees(
  input: Uint8Array,
  whole: HeadOutcome,
  sizes: readonly number[],
  initialSize: number,
  limits: HeadLimits,
): Promise<{ reader: BufferedReader; source: FakeSource; head: RequestHeadData | null }> {
  const { reader, source } = openReader(input, sizes, initialSize);
  const read = await readHeadOutcome(reader, new HeadScanner(limits), limits);
  let expected: ReadOutcome;
  if (whole.kind === "head") expected = { kind: "head", head: whole.head };
  else if (whole.kind === "error") expected = whole;
  else expected = requestStarted(input) ? { kind: "error", status: 400 } : { kind: "end" };
  assertEquals(read, expected, `read in pieces of ${sizes} versus whole`);
  // Bounded work: every read but the last returns at least one byte; none after the end.
  assert(source.reads <= input.length + 1, `${source.reads} reads for ${input.length} bytes`);
  return { reader, source, head: read.kind === "head" ? read.head : null };
}

// --- Properties ----------------------------------------------------------------

/** How a property is run. */
export interface RunOptions {
  readonly numRuns: number;
  readonly seed?: number;
}

/** The result of running one property. */
export interface RunResult {
  readonly failed: boolean;
  readonly numRuns: number;
  readonly seed: number;
  /** fast-check's report with the shrunk counterexample, when failed. */
  readonly report: string | null;
}

/** One property of the parser, runnable by the test and the fuzz runner alike. */
export interface ParserProperty {
  /** The test name: "thing() does X". */
  readonly name: string;
  /** Runs under `deno test`: modest, so the whole file takes seconds. */
  readonly testRuns: number;
  run(options: RunOptions): Promise<RunResult>;
}

/** Longest a single asynchronous run may take before it counts as a hang. */
const RUN_TIMEOUT_MS = 5_000;
/** Longest shrinking may go on; then the smallest counterexample so far is reported. */
const SHRINK_TIME_MS = 30_000;

function defineProperty<Ts>(
  name: string,
  testRuns: number,
  make: () => fc.IRawProperty<Ts>,
): ParserProperty {
  return {
    name,
    testRuns,
    async run({ numRuns, seed }) {
      const property = make();
      const base: fc.Parameters<Ts> = {
        numRuns,
        seed,
        timeout: RUN_TIMEOUT_MS,
        includeErrorInReport: true,
      };
      // Find a failure without shrinking, then shrink from its path for a bounded time: a
      // failing run of a large input can be slow, and a long fuzz run must not stall on it.
      const found = await fc.check(property, { ...base, endOnFailure: true });
      if (!found.failed) {
        return { failed: false, numRuns: found.numRuns, seed: found.seed, report: null };
      }
      const shrunk = await fc.check(property, {
        ...base,
        seed: found.seed,
        path: found.counterexamplePath ?? undefined,
        interruptAfterTimeLimit: SHRINK_TIME_MS,
      });
      const details = shrunk.failed && shrunk.counterexample !== null ? shrunk : found;
      const report = `Failed at run ${found.numRuns} of ${numRuns} (seed ${found.seed}). ` +
        ((await fc.asyncDefaultReportMessage(details)) ?? "Property failed");
      return {
        failed: true,
        numRuns: found.numRuns,
        seed: found.seed,
        report: shrunk.interrupted
          ? `${report}\n(shrinking stopped after ${SHRINK_TIME_MS} ms)`
          : report,
      };
    },
  };
}

/** The property round-tripping pipelined valid requests through the reader and decoder. */
const roundTrip = defineProperty(
  "parseRequestHead() and BufferedReader.readHead() round-trip random valid requests",
  150,
  () =>
    fc.asyncProperty(
      fc.array(requestSpecArb, { minLength: 1, maxLength: 3 }),
      readSizesArb,
      initialSizeArb,
      fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      async (specs, sizes, initialSize, discards) => {
        const wires = specs.map(serializeRequest);
        const all = concat(wires.map((w) => w.bytes));

        // Whole: the first head, its exact length, from a buffer that holds everything after it.
        const first = wires[0];
        assertEquals(parseOutcome(all), {
          kind: "head",
          head: specs[0].expected,
          length: first.headLength,
        });
        // Incremental: the scanner wants more until the head's last byte and never looks past it.
        const scanner = new HeadScanner(DEFAULT_LIMITS);
        for (let n = 1; n < first.headLength; n++) assertEquals(scanner.scan(all, 0, n), -1);
        assertEquals(scanner.scan(all, 0, all.length), first.headLength);

        // Pieces: every head and body in turn, then a clean end.
        const { reader, source } = openReader(all, sizes, initialSize);
        const connectionScanner = new HeadScanner(DEFAULT_LIMITS);
        for (const [i, spec] of specs.entries()) {
          const head = await reader.readHead(connectionScanner, DEFAULT_LIMITS.maxHeadBytes);
          assertEquals(head?.toJSON(), spec.expected, `head ${i}`);
          const body = new BodyReader(reader, spec.expected.framing, {
            maxBodyBytes: DEFAULT_LIMITS.maxBodyBytes,
          });
          const outcome = await readBodyOutcome(body, discards[i]);
          assertEquals(outcome, {
            kind: "data",
            data: discards[i] ? new Uint8Array(0) : spec.body,
          });
          assertEquals(body.received, spec.body.length, `body ${i} byte count`);
        }
        assertEquals(await reader.readHead(connectionScanner, DEFAULT_LIMITS.maxHeadBytes), null);
        assert(source.reads <= all.length + 1, `${source.reads} reads for ${all.length} bytes`);
      },
    ),
);

/**
 * The head's fields are decoded on access, from its own copy of the text:
 * by position, by name in any case (repeats joined as `Headers.get` joins
 * them) and all at once, they give exactly the field lines that were sent,
 * also after the buffer the head was parsed from has been overwritten.
 */
const lazyFields = defineProperty(
  "RequestHead field accessors give the field lines sent, after the buffer is reused",
  200,
  () =>
    fc.property(requestSpecArb, fc.boolean(), (spec, lookUpFirst) => {
      const buf = serializeRequest(spec).bytes.slice();
      const parsed = parseRequestHead(buf, DEFAULT_LIMITS);
      assert(parsed !== null);
      const head = parsed.head;
      buf.fill(0x58); // The reader's buffer is reused for the next request's bytes.
      const lines = spec.lines;
      // Either order: decoding everything first must not change what a lookup gives.
      if (!lookUpFirst) head.fields;
      assertEquals(head.fieldCount, lines.length);
      lines.forEach((line, i) => {
        assertEquals(head.fieldName(i), asciiLower(line.name), `name ${i}`);
        assertEquals(head.fieldValue(i), line.value, `value ${i}`);
        const values = lines.filter((l) => asciiLower(l.name) === asciiLower(line.name));
        assertEquals(head.get(line.name), values.map((l) => l.value).join(", "), line.name);
        assert(head.has(line.name.toUpperCase()), `has ${line.name}`);
      });
      const absent = "x-no-such-field-sent";
      if (!lines.some((l) => asciiLower(l.name) === absent)) {
        assertEquals([head.get(absent), head.has(absent)], [null, false]);
      }
      assertEquals(head.fields, lines.map((l) => [asciiLower(l.name), l.value] as const));
      assertEquals(head.toJSON(), spec.expected);
    }),
);

/** Random tokens (and CONNECT) as methods of otherwise valid requests. */
const unknownMethods = defineProperty(
  "parseRequestHead() answers 501 to any method it does not implement",
  300,
  () =>
    fc.property(
      requestSpecArb,
      fc.oneof(tokenArb, fc.mixedCase(fc.constantFrom(...VALID_METHODS, "CONNECT"))),
      (spec, method) => {
        const wire = serializeRequest({ ...spec, method }).bytes;
        if (VALID_METHODS.includes(method) && !(spec.target === "*" && method !== "OPTIONS")) {
          assertEquals(parseOutcome(wire), {
            kind: "head",
            head: { ...spec.expected, method },
            length: serializeRequest({ ...spec, method }).headLength,
          });
        } else if (VALID_METHODS.includes(method)) {
          assertEquals(parseOutcome(wire), { kind: "error", status: 400 }, "asterisk-form");
        } else {
          assertEquals(parseOutcome(wire), { kind: "error", status: 501 }, `method ${method}`);
        }
      },
    ),
);

/**
 * HTTP versions in the request line: HTTP/1.0 is served as 1.0, HTTP/1.1 to
 * 1.9 as 1.1 (RFC 9110 §2.5), and every other major version gets 505.
 */
const versions = defineProperty(
  "parseRequestHead() serves HTTP/1.x and answers 505 to every other major version",
  300,
  () =>
    fc.property(
      requestSpecArb,
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 0, max: 9 }),
      (spec, major, minor) => {
        const wire = serializeRequest(spec);
        const at = wire.targetStart + spec.target.length + 1;
        assertEquals(latin1Text(wire.bytes.subarray(at, at + 9)), `HTTP/1.${spec.minor}\r`);
        const input = wire.bytes.slice();
        input.set(bytes(`HTTP/${major}.${minor}`), at);
        const outcome = parseOutcome(input);
        const servedAs = minor === 0 ? 0 : 1;
        if (major === 1 && servedAs === spec.minor) {
          assertEquals(outcome, { kind: "head", head: spec.expected, length: wire.headLength });
        } else if (major === 1) {
          // The other served version: Host and chunked rules may now refuse it, but not with 505.
          assert(outcome.kind === "head" || (outcome.kind === "error" && outcome.status === 400));
          if (outcome.kind === "head") assertEquals(outcome.head.minor, servedAs);
        } else {
          assertEquals(outcome, { kind: "error", status: 505 }, `HTTP/${major}.${minor}`);
        }
      },
    ),
);

/**
 * The first limit the scanner crosses, as an independent model of where
 * each check falls (RFC 9112 §3: 414 for the target; RFC 6585 §5: 431 for
 * the header section): the status, or null when the request is within all.
 */
function firstLimitCrossed(
  wire: WireRequest,
  spec: RequestSpec,
  limits: HeadLimits,
): number | null {
  const crossings: Array<{ at: number; status: number; rank: number }> = [];
  // Leading empty lines: the method must start before maxHeadBytes.
  for (let at = 0; at <= wire.headStart; at += 2) {
    if (at >= limits.maxHeadBytes) {
      crossings.push({ at, status: 400, rank: 0 });
      break;
    }
  }
  if (spec.target.length > limits.maxTargetBytes) {
    crossings.push({ at: wire.targetStart + limits.maxTargetBytes, status: 414, rank: 0 });
  }
  if (wire.fieldStarts.length > limits.maxHeaderFields) {
    crossings.push({ at: wire.fieldStarts[limits.maxHeaderFields], status: 431, rank: 0 });
  }
  if (wire.headLength - wire.headStart > limits.maxHeadBytes) {
    // The size check follows the per-byte checks on the same byte.
    crossings.push({ at: wire.headStart + limits.maxHeadBytes, status: 431, rank: 1 });
  }
  crossings.sort((a, b) => a.at - b.at || a.rank - b.rank);
  return crossings[0]?.status ?? null;
}

/** A framing field to add to a valid request, and the status the result must get. */
interface FramingEdit {
  readonly fields: readonly string[];
  readonly status: number;
}

/**
 * Framing fields that make a valid request invalid (RFC 9112 §6.1, §6.3):
 * Content-Length with Transfer-Encoding, differing lengths, a length that
 * is not 1*DIGIT, Transfer-Encoding in HTTP/1.0, chunked twice or not last
 * (all 400), and a coding before chunked, which is valid HTTP not
 * implemented (501).
 */
function framingEdits(spec: RequestSpec, n: number): FramingEdit[] {
  const names = new Set(spec.lines.map((l) => asciiLower(l.name)));
  const framing = spec.expected.framing;
  const length = framing.kind === "length" ? framing.length : 0;
  if (spec.minor === 0) {
    return [
      { fields: ["Transfer-Encoding: chunked"], status: 400 },
      { fields: ["Transfer-Encoding: chunked", `Content-Length: ${n}`], status: 400 },
    ];
  }
  if (names.has("transfer-encoding")) {
    return [
      { fields: [`Content-Length: ${n}`], status: 400 },
      { fields: ["Transfer-Encoding: chunked"], status: 400 },
      // Before or after the request's own chunked, chunked is then twice or not last.
      { fields: ["Transfer-Encoding: chunked, gzip"], status: 400 },
    ];
  }
  if (names.has("content-length")) {
    return [
      { fields: ["Transfer-Encoding: chunked"], status: 400 },
      { fields: ["Transfer-Encoding: gzip, chunked"], status: 400 },
      { fields: [`Content-Length: ${length + 1 + n}`], status: 400 },
      { fields: [`Content-Length: ${length}, ${length + 1 + n}`], status: 400 },
    ];
  }
  return [
    { fields: ["Transfer-Encoding: chunked", `Content-Length: ${n}`], status: 400 },
    { fields: ["Transfer-Encoding: chunked, chunked"], status: 400 },
    { fields: ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"], status: 400 },
    { fields: ["Transfer-Encoding: chunked, gzip"], status: 400 },
    { fields: ["Transfer-Encoding: gzip"], status: 400 },
    { fields: ["Transfer-Encoding: "], status: 400 },
    { fields: ["Transfer-Encoding: gzip, chunked"], status: 501 },
    { fields: [`Content-Length: ${n}, ${n + 1}`], status: 400 },
    { fields: [`Content-Length: ${n}`, `Content-Length: ${n + 1}`], status: 400 },
    { fields: [`Content-Length: -${n}`], status: 400 },
    { fields: [`Content-Length: +${n}`], status: 400 },
    { fields: [`Content-Length: 0x${n}`], status: 400 },
    { fields: [`Content-Length: ${n} ${n}`], status: 400 },
    { fields: [`Content-Length: ${n},`], status: 400 },
    { fields: ["Content-Length: "], status: 400 },
    { fields: ["Content-Length: 9007199254740992"], status: 413 },
  ];
}

const framingConflicts = defineProperty(
  "parseRequestHead() refuses conflicting or unusable body framing",
  300,
  () =>
    fc.property(
      requestSpecArb,
      fc.nat(),
      fc.nat({ max: 1000 }),
      fc.array(fc.nat(), { minLength: 2, maxLength: 2 }),
      (spec, choice, n, positions) => {
        const edits = framingEdits(spec, n);
        const edit = edits[choice % edits.length];
        const lines = [...spec.lines];
        edit.fields.forEach((field, i) => {
          const colon = field.indexOf(":");
          const line = {
            name: field.slice(0, colon),
            before: " ",
            value: field.slice(colon + 2),
            after: "",
          };
          lines.splice(positions[i] % (lines.length + 1), 0, line);
        });
        const wire = serializeRequest({ ...spec, lines }).bytes;
        assertEquals(
          parseOutcome(wire),
          { kind: "error", status: edit.status },
          JSON.stringify(edit),
        );
      },
    ),
);

/** A limit: any small value, or the request's own size give or take a little (the boundary). */
const limitChoiceArb = fc.oneof(
  fc.record({ near: fc.constant(false), value: fc.integer({ min: 0, max: 400 }) }),
  fc.record({ near: fc.constant(true), value: fc.integer({ min: -2, max: 2 }) }),
);

/** Limits for `wire`, each either arbitrary or within two of what the request needs. */
const limitsFor = (
  wire: WireRequest,
  spec: RequestSpec,
  choices: ReadonlyArray<{ near: boolean; value: number }>,
): HeadLimits => {
  const pick = (i: number, needed: number, min: number) =>
    Math.max(min, choices[i].near ? needed + choices[i].value : choices[i].value);
  return {
    maxTargetBytes: pick(0, spec.target.length, 1),
    maxHeadBytes: pick(1, wire.headLength - wire.headStart, 1),
    maxHeaderFields: pick(2, wire.fieldStarts.length, 0),
  };
};

const limits = defineProperty(
  "parseRequestHead() enforces maxTargetBytes, maxHeadBytes and maxHeaderFields at the first byte over",
  300,
  () =>
    fc.asyncProperty(
      requestSpecArb,
      fc.array(limitChoiceArb, { minLength: 3, maxLength: 3 }),
      readSizesArb,
      async (spec, choices, sizes) => {
        const wire = serializeRequest(spec);
        const headLimits = limitsFor(wire, spec, choices);
        const status = firstLimitCrossed(wire, spec, headLimits);
        const whole = parseOutcome(wire.bytes, headLimits);
        if (status === null) {
          assertEquals(whole, { kind: "head", head: spec.expected, length: wire.headLength });
        } else {
          assertEquals(whole, { kind: "error", status }, `limits ${JSON.stringify(headLimits)}`);
        }
        await checkReaderAgrees(wire.bytes, whole, sizes, 16 * 1024, headLimits);
      },
    ),
);

/** Random bytes: the parser returns, with a documented outcome, whole or in pieces. */
const randomBytes = defineProperty(
  "parseRequestHead() ends random bytes in a head, a wait for more, or a documented status",
  400,
  () =>
    fc.asyncProperty(
      randomInputArb,
      readSizesArb,
      initialSizeArb,
      async (input, sizes, initialSize) => {
        const whole = parseOutcome(input);
        checkOutcome(input, whole, DEFAULT_LIMITS);
        await checkReaderAgrees(input, whole, sizes, initialSize, DEFAULT_LIMITS);
      },
    ),
);

/** Mutated valid requests: documented outcomes, consistent heads, and a decodable or refused body. */
const mutations = defineProperty(
  "parseRequestHead() ends mutated valid requests in a head, a wait for more, or a documented status",
  400,
  () =>
    fc.asyncProperty(
      fc.array(requestSpecArb, { minLength: 1, maxLength: 2 }),
      fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
      readSizesArb,
      initialSizeArb,
      fc.integer({ min: 0, max: 400 }),
      async (specs, edits, sizes, initialSize, maxBodyBytes) => {
        const input = mutate(concat(specs.map((s) => serializeRequest(s).bytes)), edits);
        const whole = parseOutcome(input);
        checkOutcome(input, whole, DEFAULT_LIMITS);
        const { reader, head } = await checkReaderAgrees(
          input,
          whole,
          sizes,
          initialSize,
          DEFAULT_LIMITS,
        );
        if (head === null) return;
        const outcome = await readBodyOutcome(
          new BodyReader(reader, head.framing, { maxBodyBytes }),
          false,
        );
        if (outcome.kind === "data") {
          assert(outcome.data.length <= maxBodyBytes, "a body over the limit is refused");
          if (head.framing.kind === "length") {
            assertEquals(outcome.data.length, head.framing.length);
          }
          if (head.framing.kind === "none") assertEquals(outcome.data.length, 0);
        }
      },
    ),
);

/** Chunk-stream fragments for word-salad bodies. */
const CHUNK_WORDS = [
  "0",
  "1",
  "5",
  "a",
  "F",
  "ffffffffffffffff",
  "\r\n",
  "\r",
  "\n",
  ";",
  " ",
  "\t",
  "x",
  "hello",
  "X-T: v",
  ":",
  "\x00",
  "\x80",
];

/**
 * Chunked bodies assembled from good and (less often) bad alternatives for
 * each part: sizes that are off by one, extensions with CTLs, CR or LF,
 * missing or doubled CRLFs, malformed trailers. Whether one is valid is for
 * {@linkcode chunkedModel} to say.
 */
const nearChunkedArb: fc.Arbitrary<Uint8Array> = fc.tuple(
  fc.array(
    fc.tuple(
      fc.string({ unit: chars("abcxyz"), minLength: 1, maxLength: 20 }),
      mostly("0", ["1", "-1", "+1", "10"]),
      mostly("", [";a=b", "; a", " ;a", ";\x00", ";\x7f", ";\r", ";\n", ";a\x01b", " ", "g"]),
      mostly("\r\n", ["\n", "\r", "", "\r\r\n", "\r\n\r\n"]),
      mostly("\r\n", ["\n", "\r", "", "x\r\n", "\r\n\r\n"]),
    ),
    { maxLength: 4 },
  ),
  mostly("0", ["00", "", "0x0", "0 ", "0;x", "0;\x00"]),
  mostly("\r\n", ["\n", "\r", ""]),
  fc.array(
    mostly("X-T: v\r\n", [
      "X-T v\r\n",
      " X-T: v\r\n",
      "X T: v\r\n",
      "X-T:\x00\r\n",
      "X-T: v\n",
      ": v\r\n",
    ]),
    { maxLength: 2 },
  ),
  mostly("\r\n", ["\n", "\r", "", "x"]),
).map(([chunks, last, lastEnd, trailers, end]) => {
  let wire = "";
  for (const [data, sizeDelta, ext, lineEnd, dataEnd] of chunks) {
    const size = Math.max(0, data.length + Number(sizeDelta));
    wire += `${size.toString(16)}${ext}${lineEnd}${data}${dataEnd}`;
  }
  return bytes(`${wire}${last}${lastEnd}${trailers.join("")}${end}`);
});

type ChunkedInput = readonly [
  { readonly wire: Uint8Array; readonly data: Uint8Array | null },
  readonly Mutation[],
];

const chunkedInputArb: fc.Arbitrary<ChunkedInput> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(chunkedWireArb, fc.array(mutationArb, { maxLength: 3 })) },
  {
    weight: 1,
    arbitrary: fc.array(fc.constantFrom(...CHUNK_WORDS), { maxLength: 30 }).map((words) =>
      [{ wire: bytes(words.join("")), data: null }, []] as ChunkedInput
    ),
  },
  {
    weight: 2,
    arbitrary: nearChunkedArb.map((wire) => [{ wire, data: null }, []] as ChunkedInput),
  },
);

/**
 * An independent model of the chunked coding (RFC 9112 §7.1): the data that
 * `wire` carries when it is exactly one chunked body, through the CRLF that
 * ends its trailer section, or null otherwise. Like the decoder, it takes
 * any field-value text after the size, optional whitespace and ";" as a
 * chunk extension.
 */
export function chunkedModel(wire: Uint8Array): Uint8Array | null {
  const text = latin1Text(wire);
  let at = 0;
  const nextLine = (): string | null => {
    const end = text.indexOf("\r\n", at);
    if (end === -1) return null;
    const line = text.slice(at, end);
    at = end + 2;
    return line;
  };
  const data: Uint8Array[] = [];
  while (true) {
    const line = nextLine();
    const match = line === null ? null : /^([0-9A-Fa-f]+)[ \t]*(;.*)?$/.exec(line);
    if (match === null || !isFieldValueText(match[2] ?? "")) return null;
    const size = parseInt(match[1], 16);
    if (size === 0) break;
    if (at + size + 2 > wire.length || text.slice(at + size, at + size + 2) !== "\r\n") return null;
    data.push(wire.subarray(at, at + size));
    at += size + 2;
  }
  while (true) {
    const line = nextLine();
    if (line === null) return null;
    if (line === "") break;
    const colon = line.indexOf(":");
    if (colon === -1) return null;
    if (!isTokenText(line.slice(0, colon)) || !isFieldValueText(line.slice(colon + 1))) return null;
  }
  return at === wire.length ? concat(data) : null;
}

async function takeRest(reader: BufferedReader): Promise<Uint8Array> {
  const rest: Uint8Array[] = [];
  for (let b = await reader.take(1 << 16); b !== null; b = await reader.take(1 << 16)) rest.push(b);
  return concat(rest);
}

const NEXT_REQUEST = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";

async function decodeChunked(
  input: Uint8Array,
  sizes: readonly number[],
  maxBodyBytes: number,
): Promise<{ outcome: BodyOutcome; reader: BufferedReader; source: FakeSource }> {
  const { reader, source } = openReader(input, sizes, 64);
  const outcome = await readBodyOutcome(
    new BodyReader(reader, { kind: "chunked" }, { maxBodyBytes }),
    false,
  );
  assert(source.reads <= input.length + 1, `${source.reads} reads for ${input.length} bytes`);
  return { outcome, reader, source };
}

/** Chunked bodies, valid and mutated: data or 400/413, the same in any pieces, monotonic in the limit. */
const chunkedBodies = defineProperty(
  "BodyReader.read() decodes random chunked bodies to their data or answers 400 or 413",
  300,
  () =>
    fc.asyncProperty(
      chunkedInputArb,
      readSizesArb,
      readSizesArb,
      fc.integer({ min: 0, max: 400 }),
      async ([chunked, edits], sizesA, sizesB, limit) => {
        const body = mutate(chunked.wire, edits);
        const input = concat([body, bytes(NEXT_REQUEST)]);
        const a = await decodeChunked(input, sizesA, Infinity);
        const b = await decodeChunked(input, sizesB, Infinity);
        assertEquals(b.outcome, a.outcome, `pieces of ${sizesA} versus ${sizesB}: ${show(body)}`);
        assert(a.outcome.kind === "data" || a.outcome.status === 400, "no limit, no 413");

        const unmutated = edits.length === 0 && chunked.data !== null;
        if (unmutated) assertEquals(a.outcome, { kind: "data", data: chunked.data }, "unmutated");
        if (a.outcome.kind === "data") {
          // What the decoder took is exactly a chunked body of that data, and it took no more.
          const rest = await takeRest(a.reader);
          const consumed = input.length - rest.length;
          assertEquals(rest, input.subarray(consumed), "the reader keeps what follows");
          const taken = input.subarray(0, consumed);
          assertEquals(chunkedModel(taken), a.outcome.data, `accepted ${show(taken)}`);
          if (unmutated) assertEquals(latin1Text(rest), NEXT_REQUEST);
        }

        // A limit only turns bodies over it into 413; bodies within it decode the same.
        const limited = (await decodeChunked(input, sizesA, limit)).outcome;
        if (a.outcome.kind === "data") {
          assertEquals(
            limited,
            a.outcome.data.length <= limit ? a.outcome : { kind: "error", status: 413 },
            `limit ${limit}`,
          );
        } else {
          assert(limited.kind === "error", `limit ${limit} decoded what no limit refused`);
        }
      },
    ),
);

/** Every property, in the order the test and the fuzz runner run them. */
export const PARSER_PROPERTIES: readonly ParserProperty[] = [
  roundTrip,
  lazyFields,
  unknownMethods,
  versions,
  framingConflicts,
  limits,
  randomBytes,
  mutations,
  chunkedBodies,
];

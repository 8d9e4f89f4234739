/**
 * Content-coding negotiation: choosing how to send a response from the
 * request's `Accept-Encoding` value (RFC 9110 §12.5.3).
 *
 * @module
 */

/** A content coding the server can produce. */
export type Coding = "br" | "zstd" | "gzip";

/**
 * Every coding, in the server's order of preference: br, then zstd, then gzip.
 * Ties between equal client qualities are broken by this order.
 */
export const CODINGS: readonly Coding[] = Object.freeze(["br", "zstd", "gzip"] as const);

/** What a response is sent as. */
export type ContentCoding = Coding | "identity";

/** Distinct header values a negotiator remembers before it starts over. */
const MEMO_ENTRIES = 256;

/**
 * Longer header values are negotiated every time rather than remembered, so
 * the memo stays small (browsers send about 30 characters).
 */
const MEMO_KEY_LENGTH = 128;

/**
 * Qualities are kept in thousandths, the finest step a qvalue can express
 * (RFC 9110 §12.4.2), so comparisons are exact integers.
 */
const Q_MAX = 1000;

/** Not mentioned in the header. */
const UNLISTED = -1;

// Slots of the quality table built while scanning a header.
const BR = 0;
const ZSTD = 1;
const GZIP = 2;
const IDENTITY = 3;
const STAR = 4;

/** The slot of each coding in {@linkcode CODINGS} order. */
const SLOT_OF: Readonly<Record<Coding, number>> = { br: BR, zstd: ZSTD, gzip: GZIP };

/**
 * Chooses the coding of a response from the request's `Accept-Encoding` value.
 *
 * Members are `token [ OWS ";" OWS "q=" qvalue ]`; tokens and parameter names
 * are case-insensitive, and `x-gzip` counts as `gzip` (RFC 9110 §8.4.1.3).
 * Parameters other than `q` are ignored. A member with a malformed qvalue or
 * parameter name is skipped, as are unknown codings; the header never causes
 * an error. `*` stands for every coding not listed by name, including
 * identity. When a coding is listed more than once, its highest quality
 * counts: the client said at least once that it accepts it that much.
 *
 * The answer is the offered coding with the highest quality above zero, ties
 * broken by {@linkcode CODINGS} order. Identity wins only when it is listed
 * (by name or through `*`) with a quality strictly above that coding's. With
 * no field, an empty field or no acceptable coding the answer is identity,
 * even when the client refused identity: like nginx and `Deno.serve`, the
 * server then sends the body as is rather than 406 (RFC 9110 §12.5.3 allows
 * either).
 *
 * @param accept The `Accept-Encoding` value, or `null` when the field is absent.
 * @param offered The codings this response may be sent in, in any order.
 * @returns The coding to send the response in.
 *
 * @example
 * ```ts
 * negotiateEncoding("gzip, deflate, br, zstd", ["br", "zstd", "gzip"]); // "br"
 * negotiateEncoding("gzip;q=1.0, br;q=0.5", ["br", "gzip"]); // "gzip"
 * negotiateEncoding("br", ["gzip"]); // "identity"
 * negotiateEncoding(null, ["br", "gzip"]); // "identity"
 * ```
 */
export function negotiateEncoding(
  accept: string | null,
  offered: readonly Coding[],
): ContentCoding {
  if (accept === null || accept === "" || offered.length === 0) return "identity";
  const q = _qualities(accept);
  let best: ContentCoding = "identity";
  let bestQ = 0;
  for (const coding of CODINGS) {
    if (!offered.includes(coding)) continue;
    const listed = q[SLOT_OF[coding]];
    const quality = listed === UNLISTED ? q[STAR] : listed;
    if (quality > bestQ) {
      best = coding;
      bestQ = quality;
    }
  }
  if (best === "identity") return best;
  const identity = q[IDENTITY] === UNLISTED ? q[STAR] : q[IDENTITY];
  return identity > bestQ ? "identity" : best;
}

/**
 * A negotiator for one offered set that remembers its answers for recently
 * seen header values, for use per request. It gives the same answers as
 * {@linkcode negotiateEncoding}. The memo is bounded: after 256 distinct
 * values it is cleared and relearnt, and values longer than 128 characters
 * are not remembered.
 *
 * @param offered The codings responses may be sent in, in any order.
 * @returns A function from the `Accept-Encoding` value (or `null`) to the coding.
 *
 * @example
 * ```ts
 * const negotiate = encodingNegotiator(["br", "gzip"]);
 * negotiate("gzip, deflate, br, zstd"); // "br"
 * negotiate("gzip, deflate"); // "gzip"
 * negotiate(null); // "identity"
 * ```
 */
export function encodingNegotiator(
  offered: readonly Coding[],
): (accept: string | null) => ContentCoding {
  // A private copy: a caller changing its array later must not change the answers.
  const codings: readonly Coding[] = Object.freeze([...offered]);
  const memo = new Map<string, ContentCoding>();
  return (accept) => {
    if (accept === null) return "identity";
    const known = memo.get(accept);
    if (known !== undefined) return known;
    const answer = negotiateEncoding(accept, codings);
    if (accept.length <= MEMO_KEY_LENGTH) {
      if (memo.size >= MEMO_ENTRIES) memo.clear();
      memo.set(accept, answer);
    }
    return answer;
  };
}

/**
 * The quality, in thousandths, of br, zstd, gzip, identity and `*` in a
 * header value ({@linkcode UNLISTED} when not listed).
 */
function _qualities(accept: string): number[] {
  const q = [UNLISTED, UNLISTED, UNLISTED, UNLISTED, UNLISTED];
  let start = 0;
  while (start <= accept.length) {
    let end = accept.indexOf(",", start);
    if (end === -1) end = accept.length;
    _member(accept, start, end, q);
    start = end + 1;
  }
  return q;
}

/** Records the quality of the member `accept[start, end)`, if it is well formed and known. */
function _member(accept: string, start: number, end: number, q: number[]): void {
  let semi = accept.indexOf(";", start);
  if (semi === -1 || semi > end) semi = end;
  const slot = _slotOf(_trimmed(accept, start, semi));
  if (slot === UNLISTED) return; // Empty element, unknown coding or not a token.
  let quality = Q_MAX;
  let seenQ = false;
  while (semi < end) {
    let next = accept.indexOf(";", semi + 1);
    if (next === -1 || next > end) next = end;
    // RFC 9110 §5.6.6 allows empty parameters (`gzip;;q=0.5`).
    const param = _trimmed(accept, semi + 1, next);
    semi = next;
    if (param === "") continue;
    const eq = param.indexOf("=");
    const name = eq === -1 ? param : param.slice(0, eq);
    // `q =0.5` is malformed: guessing could send a coding the client refused.
    if (!_isToken(name)) return;
    if (name !== "q" && name !== "Q") continue;
    // A repeated q is ambiguous, so the member is skipped.
    if (seenQ || eq === -1) return;
    seenQ = true;
    quality = _qvalue(param, eq + 1);
    if (quality === UNLISTED) return;
  }
  if (quality > q[slot]) q[slot] = quality;
}

/** The quality table slot of a coding name, or {@linkcode UNLISTED} for other names. */
function _slotOf(token: string): number {
  if (token.length > 8) return UNLISTED; // Longer than "identity": not worth lower-casing.
  switch (token.toLowerCase()) {
    case "br":
      return BR;
    case "zstd":
      return ZSTD;
    case "gzip":
    case "x-gzip":
      return GZIP;
    case "identity":
      return IDENTITY;
    case "*":
      return STAR;
    default:
      return UNLISTED;
  }
}

/**
 * Parses `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`
 * (RFC 9110 §12.4.2) from `text[from]` to its end, in thousandths, or
 * {@linkcode UNLISTED} when malformed.
 */
function _qvalue(text: string, from: number): number {
  const length = text.length - from;
  if (length < 1 || length > 5) return UNLISTED;
  const first = text.charCodeAt(from);
  if (first !== 0x30 && first !== 0x31) return UNLISTED; // "0" or "1"
  if (length === 1) return first === 0x31 ? Q_MAX : 0;
  if (text.charCodeAt(from + 1) !== 0x2e) return UNLISTED; // "."
  let thousandths = 0;
  let scale = 100;
  for (let i = from + 2; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return UNLISTED;
    thousandths += digit * scale;
    scale /= 10;
  }
  if (first === 0x31) return thousandths === 0 ? Q_MAX : UNLISTED;
  return thousandths;
}

/** `text[start, end)` without the optional whitespace (spaces, tabs) around it. */
function _trimmed(text: string, start: number, end: number): string {
  while (start < end && _isOws(text.charCodeAt(start))) start++;
  while (end > start && _isOws(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function _isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** Whether `text` is a token: one or more tchar (RFC 9110 §5.6.2). */
function _isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alnum && "!#$%&'*+-.^_`|~".indexOf(text[i]) === -1) return false;
  }
  return true;
}

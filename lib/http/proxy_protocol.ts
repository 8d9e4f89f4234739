/**
 * The PROXY protocol (HAProxy's proxy-protocol.txt): the header a load
 * balancer sends before anything else on a connection to tell the server
 * which client the connection is relayed for. Version 1 is one text line,
 * version 2 a binary block. {@linkcode parseProxyHeader} decides from the
 * bytes received so far; {@linkcode readProxyHeader} reads a connection until
 * it has decided.
 *
 * Parsing is strict, and a prefix that can no longer become a valid header is
 * refused at once, so a client that speaks HTTP straight away (`GET / ...`)
 * is turned away without waiting for more bytes.
 *
 * @module
 */

import { formatIp, type ParsedIp, parseIp } from "../net/cidr.ts";

/** Longest version 1 line, CRLF included (proxy-protocol.txt §2.1). */
export const PROXY_V1_MAX_BYTES = 107;

/** The fixed part of a version 2 header: signature, version and command, family, length. */
export const PROXY_V2_FIXED_BYTES = 16;

/**
 * Longest version 2 address block (the length field) accepted: the largest
 * address block (216 bytes, UNIX) with 320 bytes to spare for TLVs, which
 * covers what balancers send (ALPN, authority, unique ID, TLS details,
 * cloud endpoint IDs). The spec itself allows up to 65535.
 */
export const PROXY_V2_MAX_LENGTH = 536;

/** The most bytes a header accepted here can take: a reader needs no more to decide. */
export const PROXY_HEADER_MAX_BYTES: number = Math.max(
  PROXY_V1_MAX_BYTES,
  PROXY_V2_FIXED_BYTES + PROXY_V2_MAX_LENGTH,
);

/** The first twelve bytes of every version 2 header. */
const V2_SIGNATURE = Uint8Array.of(
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
);

/** Version 2 commands (the low four bits of byte 13). */
const V2_COMMAND = { local: 0x0, proxy: 0x1 } as const;

/**
 * Address blocks of the version 2 family-and-transport bytes that this
 * server takes (byte 14): UNSPEC (no addresses), TCP over IPv4 and over IPv6.
 */
const V2_ADDRESS_BYTES: Readonly<Record<number, number>> = { 0x00: 0, 0x11: 12, 0x21: 36 };

/** Version 1 protocols and the address family each carries (null: addresses are ignored). */
const V1_PROTOCOLS: Readonly<Record<string, 4 | 6 | null>> = { TCP4: 4, TCP6: 6, UNKNOWN: null };

/** Fields of a version 1 line with addresses: `PROXY TCP4 src dst sport dport`. */
const V1_FIELDS = 6;
const V1_PREFIX = "PROXY";
const CR = 0x0d;
const LF = 0x0a;
/** Longest IPv4 and IPv6 address text. */
const ADDRESS_MAX_LENGTH = { 4: 15, 6: 45 } as const;

/** A client or server address carried by a header. */
export interface ProxyAddress {
  /** The IP address, in the canonical form Deno uses (IPv6 per RFC 5952). */
  readonly hostname: string;
  /** The TCP port. */
  readonly port: number;
}

/** A complete, valid header. */
export interface ProxyHeader {
  readonly kind: "header";
  /** The protocol version: 1 (text) or 2 (binary). */
  readonly version: 1 | 2;
  /** How many bytes the header took; what follows belongs to the next protocol. */
  readonly consumed: number;
  /**
   * The client the connection is relayed for, or null when the socket's own
   * peer stands (version 1 `UNKNOWN`, version 2 `LOCAL` or UNSPEC).
   */
  readonly source: ProxyAddress | null;
  /** The address the client connected to, or null with `source`. */
  readonly destination: ProxyAddress | null;
}

/** What the bytes received so far are. */
export type ProxyParse =
  /** A valid prefix of a header: read more. */
  | { readonly kind: "incomplete" }
  /** Not a valid header, nor the start of one. */
  | { readonly kind: "bad"; readonly reason: string }
  | ProxyHeader;

const INCOMPLETE: ProxyParse = Object.freeze({ kind: "incomplete" });

/**
 * Decides what the first bytes of a connection are: a complete PROXY
 * protocol header (version 1 or 2), the valid start of one, or not one.
 *
 * Version 1 takes exactly `PROXY TCP4|TCP6 src dst sport dport\r\n` with
 * single spaces, addresses of the named family (IPv4 in dotted decimal
 * without leading zeros) and ports 0-65535 without leading zeros, or
 * `PROXY UNKNOWN` followed by anything printable up to CRLF; at most
 * {@linkcode PROXY_V1_MAX_BYTES}. Version 2 takes the LOCAL command (its
 * address block is ignored, as the spec says) and the PROXY command with
 * UNSPEC, TCP over IPv4 or TCP over IPv6; UNIX and UDP, unknown families and
 * commands, a length over {@linkcode PROXY_V2_MAX_LENGTH}, and TLVs that do
 * not exactly fill the length after the addresses are refused. TLVs are not
 * interpreted.
 *
 * @param bytes The bytes received so far, from the connection's first byte.
 * @returns The decision; a header says how many bytes it took.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\nGET");
 * parseProxyHeader(bytes);
 * // { kind: "header", version: 1, consumed: 42,
 * //   source: { hostname: "192.0.2.1", port: 56324 },
 * //   destination: { hostname: "192.0.2.2", port: 443 } }
 * parseProxyHeader(new TextEncoder().encode("GET / HTTP/1.1\r\n")).kind; // "bad"
 * ```
 */
export function parseProxyHeader(bytes: Uint8Array): ProxyParse {
  if (bytes.length === 0) return INCOMPLETE;
  if (bytes[0] === V1_PREFIX.charCodeAt(0)) return parseV1(bytes);
  if (bytes[0] === V2_SIGNATURE[0]) return parseV2(bytes);
  return bad("not a PROXY protocol header");
}

/** Why {@linkcode readProxyHeader} gave up. */
export type ProxyHeaderFailure =
  /** The bytes are not a valid header. */
  | "bad"
  /** The connection ended before the header did. */
  | "closed"
  /** The deadline passed before the header was complete. */
  | "timeout";

/**
 * A connection that did not start with a valid PROXY protocol header in
 * time. The connection should be closed without an answer.
 *
 * @example
 * ```ts
 * throw new ProxyHeaderError("bad", "not a PROXY protocol header");
 * ```
 */
export class ProxyHeaderError extends Error {
  /** What went wrong. */
  readonly kind: ProxyHeaderFailure;
  /** The detail: which rule the bytes broke, or what ended the wait. */
  readonly reason: string;

  /**
   * @param kind What went wrong.
   * @param reason The detail.
   */
  constructor(kind: ProxyHeaderFailure, reason: string) {
    super(`Bad PROXY protocol header: ${reason}`);
    this.name = "ProxyHeaderError";
    this.kind = kind;
    this.reason = reason;
  }
}

/** How many bytes each read asks for. */
const READ_CHUNK_BYTES = 1024;

/**
 * Reads a connection's first bytes until {@linkcode parseProxyHeader}
 * decides, asking for at most {@linkcode PROXY_HEADER_MAX_BYTES} plus one
 * chunk of 1 KiB in all.
 *
 * When the deadline aborts a read, that read is left pending: close the
 * connection, which settles it.
 *
 * @param read Reads into the buffer it is given (as `Deno.Conn.read`): the
 * byte count, or null at the end of the stream.
 * @param deadline Aborted when the header has taken too long.
 * @returns The header, and the bytes read after it (the start of the HTTP
 * request), which belong to the next reader.
 * @throws {ProxyHeaderError} When the bytes are not a header ("bad"), the
 * stream ends first ("closed") or the deadline passes ("timeout"). Errors of
 * `read` itself pass through.
 *
 * @example
 * ```ts
 * const { header, rest } = await readProxyHeader((p) => conn.read(p), AbortSignal.timeout(5000));
 * ```
 */
export async function readProxyHeader(
  read: (buf: Uint8Array) => Promise<number | null>,
  deadline: AbortSignal,
): Promise<{ header: ProxyHeader; rest: Uint8Array }> {
  const buffer = new Uint8Array(PROXY_HEADER_MAX_BYTES + READ_CHUNK_BYTES);
  let filled = 0;
  const stop = abortion(deadline);
  try {
    while (true) {
      const parse = parseProxyHeader(buffer.subarray(0, filled));
      if (parse.kind === "header") {
        return { header: parse, rest: buffer.slice(parse.consumed, filled) };
      }
      if (parse.kind === "bad") throw new ProxyHeaderError("bad", parse.reason);
      // Every header accepted fits PROXY_HEADER_MAX_BYTES, so "incomplete" means fewer bytes so far.
      if (deadline.aborted) throw timeout();
      const reading = read(buffer.subarray(filled, filled + READ_CHUNK_BYTES));
      // The read may fail after the deadline won: nobody waits for it then.
      reading.catch(() => {});
      const n = await Promise.race([reading, stop.promise]);
      // A read into a non-empty buffer returns 0 only at the end, never as "try again".
      if (n === null || n === 0) {
        throw new ProxyHeaderError("closed", "the connection ended before the header did");
      }
      filled += n;
    }
  } finally {
    stop.dispose();
  }
}

function timeout(): ProxyHeaderError {
  return new ProxyHeaderError("timeout", "the header was not complete before the deadline");
}

/** A promise that rejects when `signal` aborts, and a way to stop listening. */
function abortion(signal: AbortSignal): { promise: Promise<never>; dispose: () => void } {
  let onAbort = () => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(timeout());
  });
  promise.catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  return { promise, dispose: () => signal.removeEventListener("abort", onAbort) };
}

function bad(reason: string): ProxyParse {
  return { kind: "bad", reason };
}

/** Version 1: one line of printable ASCII ending in CRLF. */
function parseV1(bytes: Uint8Array): ProxyParse {
  const limit = Math.min(bytes.length, PROXY_V1_MAX_BYTES);
  let text = "";
  for (let i = 0; i < limit; i++) {
    const byte = bytes[i];
    if (byte === LF) {
      if (i === 0 || bytes[i - 1] !== CR) return bad("v1 line does not end in CRLF");
      const reason = checkV1Fields(text.slice(0, -1), true);
      return reason === null ? v1Header(text.slice(0, -1), i + 1) : bad(reason);
    }
    // A CR is allowed only right before the LF.
    if (i > 0 && bytes[i - 1] === CR) return bad("v1 line does not end in CRLF");
    if ((byte < 0x20 || byte > 0x7e) && byte !== CR) return bad("v1 line has a control byte");
    text += String.fromCharCode(byte);
  }
  if (bytes.length >= PROXY_V1_MAX_BYTES) {
    return bad(`v1 line is longer than ${PROXY_V1_MAX_BYTES} bytes`);
  }
  // A trailing CR waits for its LF, so the fields before it must already be whole.
  const ended = text.endsWith("\r");
  const reason = checkV1Fields(ended ? text.slice(0, -1) : text, ended);
  return reason === null ? INCOMPLETE : bad(reason);
}

/**
 * Checks the fields of a version 1 line, or of the part received so far
 * (`whole` false: the last field may still grow).
 *
 * @returns Why the line is not valid, or null.
 */
function checkV1Fields(line: string, whole: boolean): string | null {
  const fields = line.split(" ");
  const head = checkV1Field(0, fields[0], whole || fields.length > 1, 4);
  if (head !== null) return head;
  const family = fields.length > 1 ? v1Family(fields[1]) : undefined;
  // UNKNOWN: the rest of the line is ignored (proxy-protocol.txt §2.1).
  if (family === null && (fields.length > 2 || whole)) return null;
  const checked = Math.min(fields.length, V1_FIELDS);
  for (let i = 1; i < checked; i++) {
    const complete = whole || i < fields.length - 1;
    const reason = checkV1Field(i, fields[i], complete, family ?? 4);
    if (reason !== null) return reason;
  }
  if (fields.length > V1_FIELDS) return "v1 line has too many fields";
  return whole && fields.length < V1_FIELDS ? "v1 line has too few fields" : null;
}

/** The address family of a version 1 protocol name, null for UNKNOWN, undefined for no protocol. */
function v1Family(name: string): 4 | 6 | null | undefined {
  return Object.hasOwn(V1_PROTOCOLS, name) ? V1_PROTOCOLS[name] : undefined;
}

/** One field of a version 1 line by its position; `complete` false allows a valid prefix. */
function checkV1Field(
  index: number,
  field: string,
  complete: boolean,
  family: 4 | 6,
): string | null {
  if (index === 0) {
    return (complete ? field === V1_PREFIX : V1_PREFIX.startsWith(field))
      ? null
      : "not a PROXY protocol header";
  }
  if (index === 1) {
    const known = complete
      ? Object.hasOwn(V1_PROTOCOLS, field)
      : Object.keys(V1_PROTOCOLS).some((name) => name.startsWith(field));
    return known ? null : "v1 protocol is not TCP4, TCP6 or UNKNOWN";
  }
  if (index <= 3) {
    const valid = complete ? parseIp(field)?.family === family : addressPrefix(field, family);
    return valid ? null : `v1 address is not an IPv${family} address`;
  }
  return (complete ? field.length > 0 : true) && portPrefix(field)
    ? null
    : "v1 port is not a number from 0 to 65535 without leading zeros";
}

/** A checked version 1 line (without CRLF) as a header. */
function v1Header(line: string, consumed: number): ProxyHeader {
  const fields = line.split(" ");
  if (v1Family(fields[1]) === null) {
    return { kind: "header", version: 1, consumed, source: null, destination: null };
  }
  return {
    kind: "header",
    version: 1,
    consumed,
    source: { hostname: canonical(fields[2]), port: Number(fields[4]) },
    destination: { hostname: canonical(fields[3]), port: Number(fields[5]) },
  };
}

function canonical(address: string): string {
  return formatIp(parseIp(address)!);
}

/** Whether text can still grow into an address of the family (loosely for IPv6). */
function addressPrefix(text: string, family: 4 | 6): boolean {
  if (text.length > ADDRESS_MAX_LENGTH[family]) return false;
  if (family === 6) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i) | 0x20;
      const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
      if (!hex && c !== 0x3a && c !== 0x2e) return false;
    }
    return true;
  }
  const parts = text.split(".");
  if (parts.length > 4) return false;
  return parts.every((part, i) => {
    if (part === "") return i === parts.length - 1;
    return part.length <= 3 && isDigits(part) && !(part.length > 1 && part[0] === "0") &&
      Number(part) <= 255;
  });
}

/** Whether text is a port, or the start of one: digits, 0-65535, no leading zero. */
function portPrefix(text: string): boolean {
  if (text.length > 5 || (text.length > 1 && text[0] === "0")) return false;
  return isDigits(text) && Number(text) <= 65535;
}

function isDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Version 2: signature, version and command, family and transport, length, addresses, TLVs. */
function parseV2(bytes: Uint8Array): ProxyParse {
  const signed = Math.min(bytes.length, V2_SIGNATURE.length);
  for (let i = 0; i < signed; i++) {
    if (bytes[i] !== V2_SIGNATURE[i]) return bad("not a PROXY protocol header");
  }
  if (bytes.length < 13) return INCOMPLETE;
  if (bytes[12] >> 4 !== 2) return bad("v2 version is not 2");
  const command = bytes[12] & 0x0f;
  if (command !== V2_COMMAND.local && command !== V2_COMMAND.proxy) {
    return bad("v2 command is neither LOCAL nor PROXY");
  }
  if (bytes.length < 14) return INCOMPLETE;
  const family = bytes[13];
  const local = command === V2_COMMAND.local;
  // LOCAL: "discard the protocol block including the family" (proxy-protocol.txt §2.2).
  if (!local && !Object.hasOwn(V2_ADDRESS_BYTES, family)) return bad(unsupportedFamily(family));
  if (bytes.length < PROXY_V2_FIXED_BYTES) return INCOMPLETE;
  const length = (bytes[14] << 8) | bytes[15];
  if (length > PROXY_V2_MAX_LENGTH) {
    return bad(`v2 length ${length} is over the limit of ${PROXY_V2_MAX_LENGTH}`);
  }
  const addressBytes = local ? 0 : V2_ADDRESS_BYTES[family];
  if (length < addressBytes) return bad("v2 length is too short for the addresses");
  const consumed = PROXY_V2_FIXED_BYTES + length;
  if (bytes.length < consumed) return INCOMPLETE;
  if (local || addressBytes === 0) {
    // No addresses to read, and the block is ignored: TLVs too.
    return { kind: "header", version: 2, consumed, source: null, destination: null };
  }
  const block = bytes.subarray(PROXY_V2_FIXED_BYTES, consumed);
  if (!tlvsFit(block.subarray(addressBytes))) return bad("v2 TLVs do not fit the length");
  return v2Addresses(block, family === 0x11 ? 4 : 6, consumed);
}

/** Why a family-and-transport byte is refused. */
function unsupportedFamily(byte: number): string {
  const family = byte >> 4;
  const transport = byte & 0x0f;
  if (family === 0x3) return "unsupported family: UNIX";
  if (family > 0x3) return "unknown family";
  if (transport === 0x2) return "unsupported transport: DGRAM";
  if (transport > 0x2) return "unknown transport";
  // 0x01, 0x10, 0x20: combinations that the spec does not define.
  return "family and transport do not match";
}

/** Whether bytes are whole TLVs (type, 16-bit length, value), one after another. */
function tlvsFit(bytes: Uint8Array): boolean {
  let at = 0;
  while (at < bytes.length) {
    if (at + 3 > bytes.length) return false;
    at += 3 + ((bytes[at + 1] << 8) | bytes[at + 2]);
  }
  return at === bytes.length;
}

/** Source and destination from an address block: both addresses, then both ports. */
function v2Addresses(block: Uint8Array, family: 4 | 6, consumed: number): ProxyHeader {
  const size = family === 4 ? 4 : 16;
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const address = (at: number) => formatIp(readIp(block, at, family));
  return {
    kind: "header",
    version: 2,
    consumed,
    source: { hostname: address(0), port: view.getUint16(2 * size) },
    destination: { hostname: address(size), port: view.getUint16(2 * size + 2) },
  };
}

function readIp(bytes: Uint8Array, at: number, family: 4 | 6): ParsedIp {
  if (family === 4) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, 4);
    return { family: 4, value: view.getUint32(0) };
  }
  let value = 0n;
  for (let i = 0; i < 16; i++) value = (value << 8n) | BigInt(bytes[at + i]);
  return { family: 6, value };
}

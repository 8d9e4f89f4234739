/**
 * The client behind trusted proxies: reads `Forwarded` (RFC 7239), or else
 * `X-Forwarded-For` and `X-Forwarded-Proto`, but only from peers the user
 * trusts, and only as far back as the chain of trusted proxies reaches.
 *
 * Each proxy appends the address it received the request from, so the list
 * is read from the right: while the address in hand is a trusted proxy, the
 * entry it appended names the next hop; the first address that is not
 * trusted is the client. Entries further left were written by the client
 * itself and may be anything.
 *
 * @module
 */

import { type CidrList, formatIp, normaliseAddress, parseIp } from "./net/cidr.ts";

/** A scheme a proxy reports the client used. */
export type ForwardedProto = "http" | "https";

/** The client a request came from, as far as trusted proxies vouch for it. */
export interface ForwardedClient {
  /** The client's IP address; an IPv4-mapped IPv6 address is written as IPv4. */
  readonly address: string;
  /** The scheme the client used with the first trusted proxy, or null when none said. */
  readonly proto: ForwardedProto | null;
}

/** One entry of the chain; null when it is malformed or hides its address. */
type Hop = ForwardedClient | null;

/** Schemes taken from `proto=` and `X-Forwarded-Proto`, by their lower-case spelling. */
const PROTOS: Readonly<Record<string, ForwardedProto>> = { http: "http", https: "https" };

/** Characters of an RFC 9110 §5.6.2 token besides letters and digits. */
const TOKEN_SYMBOLS = "!#$%&'*+-.^_`|~";

/**
 * Finds the client of a request. When `trusted` is null or the peer is not
 * in it, the peer is the client and no scheme is known. Otherwise the
 * `Forwarded` field is read when present (`for=` and `proto=` of the same
 * element), else `X-Forwarded-For` (fields joined in order) and, for the
 * scheme, the rightmost `X-Forwarded-Proto` value.
 *
 * The chain is walked from the right, skipping trusted addresses; the first
 * address that is not trusted is the client, and the leftmost when all are
 * trusted. A malformed entry, an obfuscated identifier (`_hidden`) or
 * `unknown` stops the walk: the client is then the last address read before
 * it, since nothing further left can be vouched for. `for=` values with a
 * port or an IPv6 address must be quoted, as RFC 7239 §4 requires; empty list
 * elements are skipped (RFC 9110 §5.6.1).
 *
 * @param peer The socket's peer address, as Deno reports it.
 * @param headers The request's fields.
 * @param trusted The proxies whose forwarding fields count, or null for none.
 * @returns The client's address and scheme.
 *
 * @example
 * ```ts
 * const trusted = parseCidrList("10.0.0.0/8", "--trust-proxy");
 * const headers = new Headers({ "x-forwarded-for": "203.0.113.9, 10.0.0.2" });
 * forwardedClient("10.0.0.1", headers, trusted); // { address: "203.0.113.9", proto: null }
 * forwardedClient("198.51.100.7", headers, trusted); // { address: "198.51.100.7", proto: null }
 * ```
 */
export function forwardedClient(
  peer: string,
  headers: Pick<Headers, "get">,
  trusted: CidrList | null,
): ForwardedClient {
  const self: ForwardedClient = { address: normaliseAddress(peer), proto: null };
  if (trusted === null || !trusted.contains(peer)) return self;
  const forwarded = headers.get("forwarded");
  if (forwarded !== null && forwarded.trim() !== "") {
    return walk(self, forwardedHops(forwarded), trusted);
  }
  const forwardedFor = headers.get("x-forwarded-for");
  const hops = forwardedFor === null ? [] : listElements(forwardedFor).map(forwardedForHop);
  return { address: walk(self, hops, trusted).address, proto: rightmostProto(headers) };
}

/** The last hop reached from `peer` by walking `hops` right to left through trusted addresses. */
function walk(peer: ForwardedClient, hops: readonly Hop[], trusted: CidrList): ForwardedClient {
  let client = peer;
  for (let i = hops.length - 1; i >= 0 && trusted.contains(client.address); i--) {
    const hop = hops[i];
    if (hop === null) break;
    client = hop;
  }
  return client;
}

/** The non-empty elements of a comma-separated list, trimmed. */
function listElements(value: string): string[] {
  return value.split(",").map((element) => element.trim()).filter((element) => element !== "");
}

/** An `X-Forwarded-For` element: an address, `[IPv6]` or either with a port. */
function forwardedForHop(element: string): Hop {
  const address = nodeAddress(element);
  return address === null ? null : { address, proto: null };
}

/** The scheme in the rightmost `X-Forwarded-Proto` element, or null. */
function rightmostProto(headers: Pick<Headers, "get">): ForwardedProto | null {
  const value = headers.get("x-forwarded-proto");
  const elements = value === null ? [] : listElements(value);
  return elements.length === 0 ? null : protoOf(elements[elements.length - 1]);
}

function protoOf(text: string): ForwardedProto | null {
  const name = text.toLowerCase();
  return Object.hasOwn(PROTOS, name) ? PROTOS[name] : null;
}

/** The hops of a `Forwarded` value, one per element (RFC 7239 §4). */
function forwardedHops(value: string): Hop[] {
  return splitOutsideQuotes(value, ",")
    .filter((element) => element.trim() !== "")
    .map(forwardedHop);
}

/** One `Forwarded` element: `for=` gives the address, `proto=` the scheme. */
function forwardedHop(element: string): Hop {
  const pairs = new Map<string, string>();
  for (const raw of splitOutsideQuotes(element, ";")) {
    const pair = raw.trim();
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq).toLowerCase();
    const value = eq === -1 ? null : parameterValue(pair.slice(eq + 1));
    // RFC 7239 §4: a parameter must not occur more than once per element.
    if (eq <= 0 || !isToken(name) || value === null || pairs.has(name)) return null;
    pairs.set(name, value);
  }
  const node = pairs.get("for");
  const address = node === undefined ? null : nodeAddress(node);
  if (address === null) return null;
  const proto = pairs.get("proto");
  return { address, proto: proto === undefined ? null : protoOf(proto) };
}

/** Splits at `separator` where it is not inside a quoted string. */
function splitOutsideQuotes(value: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === separator) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}

/** A parameter value: a token, or a quoted string unescaped (RFC 9110 §5.6.4); null otherwise. */
function parameterValue(text: string): string | null {
  if (!text.startsWith('"')) return isToken(text) ? text : null;
  let out = "";
  for (let i = 1; i < text.length; i++) {
    let c = text[i];
    if (c === '"') return i === text.length - 1 ? out : null;
    if (c === "\\") c = text[++i] ?? "";
    const code = c.charCodeAt(0);
    if (c === "" || (code < 0x20 && c !== "\t") || code === 0x7f) return null;
    out += c;
  }
  return null;
}

function isToken(text: string): boolean {
  if (text === "") return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
    if (!alnum && TOKEN_SYMBOLS.indexOf(text[i]) === -1) return false;
  }
  return true;
}

/**
 * The address of a node (RFC 7239 §6): IPv4, `[IPv6]`, either with
 * `:port`, also bare IPv6 as `X-Forwarded-For` writes it. Null for
 * `unknown`, obfuscated identifiers and anything malformed.
 */
function nodeAddress(node: string): string | null {
  let host = node;
  if (node.startsWith("[")) {
    const close = node.indexOf("]");
    if (close === -1 || !isPortSuffix(node.slice(close + 1))) return null;
    host = node.slice(1, close);
    if (host.indexOf(":") === -1) return null;
  } else if (node.indexOf(":") === node.lastIndexOf(":")) {
    // One colon at most: IPv4 with a port (two or more make a bare IPv6 address).
    const colon = node.indexOf(":");
    if (colon !== -1 && !isPortSuffix(node.slice(colon))) return null;
    host = colon === -1 ? node : node.slice(0, colon);
  }
  const ip = parseIp(host);
  return ip === null ? null : normaliseAddress(formatIp(ip));
}

/** Empty, or `:` and a port: 1-5 digits or an obfuscated port (`_` and letters, digits, `._-`). */
function isPortSuffix(text: string): boolean {
  if (text === "") return true;
  if (text[0] !== ":" || text.length < 2) return false;
  const port = text.slice(1);
  const obfuscated = port[0] === "_";
  if (!obfuscated && port.length > 5) return false;
  for (let i = obfuscated ? 1 : 0; i < port.length; i++) {
    const c = port.charCodeAt(i);
    const digit = c >= 0x30 && c <= 0x39;
    const other = obfuscated &&
      (((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x2e || c === 0x5f || c === 0x2d);
    if (!digit && !other) return false;
  }
  return port.length > (obfuscated ? 1 : 0);
}

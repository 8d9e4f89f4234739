/**
 * IP addresses and lists of address ranges (CIDR blocks), for deciding which
 * peers are trusted: the sources of PROXY protocol headers and of forwarding
 * headers. A list is parsed once into numbers (IPv4) and bigints (IPv6), so
 * that the check made for every connection is a few integer comparisons.
 *
 * @module
 */

import { UserError } from "../errors.ts";

/** An IP address as a number: IPv4 as an unsigned 32-bit value, IPv6 as a 128-bit bigint. */
export type ParsedIp =
  | { readonly family: 4; readonly value: number }
  | { readonly family: 6; readonly value: bigint };

/** Ranges that a list may name instead of spelling them out. */
const NAMED_RANGES = {
  loopback: ["127.0.0.0/8", "::1/128"],
  private: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
} as const;

/** Bits of an address of each family. */
const ADDRESS_BITS = { 4: 32, 6: 128 } as const;

/** `::ffff:0:0/96`: IPv4 addresses written as IPv6 (RFC 4291 §2.5.5.2). */
const MAPPED_PREFIX = 0xffffn << 32n;
const MAPPED_PREFIX_BITS = 96;
const LOW_32_BITS = 0xffffffffn;

/** Longest textual IPv6 address: eight groups of four with seven colons, or six and a dotted IPv4. */
const IPV6_MAX_LENGTH = 45;

interface Range4 {
  readonly network: number;
  readonly mask: number;
}

interface Range6 {
  readonly network: bigint;
  readonly mask: bigint;
}

/**
 * A set of IPv4 and IPv6 ranges. An IPv4 address and its IPv4-mapped IPv6
 * form (`::ffff:10.1.2.3`) are the same address here, so a listener on `::`
 * that reports IPv4 peers in mapped form matches IPv4 ranges. Made by
 * {@linkcode parseCidrList}.
 *
 * @example
 * ```ts
 * const trusted = parseCidrList("loopback, 10.0.0.0/8", "--trust-proxy");
 * trusted.contains("::ffff:10.1.2.3"); // true
 * ```
 */
export class CidrList {
  /** The ranges in CIDR notation, names expanded, in the order given. */
  readonly ranges: readonly string[];
  #v4: readonly Range4[];
  #v6: readonly Range6[];

  /**
   * @param ranges The parsed ranges, each with its CIDR text.
   */
  constructor(ranges: readonly { readonly ip: ParsedIp; readonly prefix: number }[]) {
    this.ranges = ranges.map(({ ip, prefix }) => `${formatIp(ip)}/${prefix}`);
    const v4: Range4[] = [];
    const v6: Range6[] = [];
    for (const { ip, prefix } of ranges) {
      if (ip.family === 4) {
        v4.push({ network: ip.value, mask: mask4(prefix) });
        continue;
      }
      v6.push({ network: ip.value, mask: mask6(prefix) });
      // Mapped addresses are matched as IPv4, so a range over mapped space is also an IPv4 range.
      const mapped = mappedPart(ip.value, prefix);
      if (mapped !== null) v4.push(mapped);
    }
    this.#v4 = v4;
    this.#v6 = v6;
  }

  /**
   * Whether an address lies in one of the ranges. A zone (`fe80::1%eth0`) is
   * ignored; text that is not an IP address is in no range.
   *
   * @param address An address as Deno reports it (`Deno.NetAddr.hostname`).
   * @returns True when some range holds it.
   *
   * @example
   * ```ts
   * parseCidrList("fd00::/8", "test").contains("fd12::1"); // true
   * ```
   */
  contains(address: string): boolean {
    // A dual-stack listener reports every IPv4 peer this way: read it without bigints.
    const mapped = mappedIpv4(address);
    if (mapped !== -1) return this.#containsIpv4(mapped);
    const zone = address.indexOf("%");
    const ip = parseIp(zone === -1 ? address : address.slice(0, zone));
    if (ip === null) return false;
    if (ip.family === 6 && !isMapped(ip.value)) {
      for (const range of this.#v6) {
        if ((ip.value & range.mask) === range.network) return true;
      }
      return false;
    }
    return this.#containsIpv4(ip.family === 4 ? ip.value : Number(ip.value & LOW_32_BITS));
  }

  #containsIpv4(value: number): boolean {
    for (const range of this.#v4) {
      if (((value & range.mask) >>> 0) === range.network) return true;
    }
    return false;
  }
}

/** The IPv4 address of `::ffff:a.b.c.d` (any case) as a number, or -1 for any other text. */
function mappedIpv4(address: string): number {
  if (address.length < 14 || address.charCodeAt(0) !== 0x3a || address.charCodeAt(1) !== 0x3a) {
    return -1;
  }
  if (address.slice(2, 7).toLowerCase() !== "ffff:") return -1;
  return parseIpv4(address, 7, address.length);
}

/**
 * Parses a comma-separated list of addresses and ranges: IPv4 or IPv6
 * addresses (`127.0.0.1`, `::1`), CIDR blocks (`10.0.0.0/8`, `fd00::/8`),
 * and the names `loopback` (127.0.0.0/8, ::1) and `private` (10.0.0.0/8,
 * 172.16.0.0/12, 192.168.0.0/16, fc00::/7). No name means "everyone":
 * trusting all addresses takes an explicit `0.0.0.0/0` or `::/0`. A block
 * with bits set after its prefix (`10.0.0.1/8`) is refused, since it is
 * unclear whether one address or the whole block was meant.
 *
 * @param text The list, as the user wrote it.
 * @param source Where it came from (a flag or a config key), for the error message.
 * @returns The list.
 * @throws {UserError} When an entry is not an address, a block or a name.
 *
 * @example
 * ```ts
 * parseCidrList("loopback, 10.0.0.0/8", "--trust-proxy").ranges;
 * // ["127.0.0.0/8", "::1/128", "10.0.0.0/8"]
 * ```
 */
export function parseCidrList(text: string, source: string): CidrList {
  const ranges: { ip: ParsedIp; prefix: number }[] = [];
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    const named = namedRanges(entry);
    for (const item of named ?? [entry]) ranges.push(parseRange(item, source));
  }
  return new CidrList(ranges);
}

/**
 * Writes an IPv4-mapped IPv6 address as plain IPv4 (`::ffff:1.2.3.4` →
 * `1.2.3.4`), so that logs and headers show IPv4 clients of a dual-stack
 * listener as IPv4. Anything else is returned as given: IPv6 stays as Deno
 * wrote it, with its zone.
 *
 * @param address An address as Deno reports it.
 * @returns The IPv4 form of a mapped address, or the address itself.
 *
 * @example
 * ```ts
 * normaliseAddress("::ffff:127.0.0.1"); // "127.0.0.1"
 * normaliseAddress("fe80::1%eth0"); // "fe80::1%eth0"
 * ```
 */
export function normaliseAddress(address: string): string {
  if (mappedIpv4(address) !== -1) return address.slice(7);
  if (address.indexOf(":") === -1 || address.indexOf("%") !== -1) return address;
  const ip = parseIp(address);
  if (ip === null || ip.family === 4 || !isMapped(ip.value)) return address;
  return formatIpv4(Number(ip.value & LOW_32_BITS));
}

/**
 * Parses an IPv4 address in dotted-decimal form (four numbers 0-255 without
 * leading zeros, which some parsers read as octal) or an IPv6 address
 * (RFC 4291 §2.2, with at most one `::` and optionally a dotted IPv4 tail).
 * Zones, brackets and ports are not part of an address.
 *
 * @param text The address.
 * @returns Its family and value, or null when it is not an address.
 *
 * @example
 * ```ts
 * parseIp("10.0.0.1"); // { family: 4, value: 167772161 }
 * parseIp("::1"); // { family: 6, value: 1n }
 * parseIp("localhost"); // null
 * ```
 */
export function parseIp(text: string): ParsedIp | null {
  if (text.indexOf(":") !== -1) {
    const value = parseIpv6(text);
    return value === null ? null : { family: 6, value };
  }
  const value = parseIpv4(text, 0, text.length);
  return value === -1 ? null : { family: 4, value };
}

/**
 * Writes an address in its canonical text: dotted decimal for IPv4, and for
 * IPv6 the RFC 5952 form (lower case, the longest run of two or more zero
 * groups as `::`, mapped IPv4 addresses as `::ffff:1.2.3.4`), as Deno
 * writes addresses.
 *
 * @param ip The address.
 * @returns Its text.
 *
 * @example
 * ```ts
 * formatIp({ family: 6, value: 0x20010db8n << 96n | 1n }); // "2001:db8::1"
 * ```
 */
export function formatIp(ip: ParsedIp): string {
  return ip.family === 4 ? formatIpv4(ip.value) : formatIpv6(ip.value);
}

/** The ranges a name stands for, or null when the entry is not a name. */
function namedRanges(entry: string): readonly string[] | null {
  const name = entry.toLowerCase();
  return Object.hasOwn(NAMED_RANGES, name) ? NAMED_RANGES[name as keyof typeof NAMED_RANGES] : null;
}

/** One entry: an address (a block of one) or a CIDR block without host bits. */
function parseRange(entry: string, source: string): { ip: ParsedIp; prefix: number } {
  const slash = entry.indexOf("/");
  const ip = parseIp(slash === -1 ? entry : entry.slice(0, slash));
  const bits = ip === null ? 0 : ADDRESS_BITS[ip.family];
  const prefix = slash === -1 ? bits : decimal(entry.slice(slash + 1), bits);
  if (ip === null || prefix === null) {
    throw new UserError(
      `${source}: ${
        JSON.stringify(entry)
      } is not an IP address or CIDR (such as 10.0.0.0/8 or ::1)`,
    );
  }
  const network = networkOf(ip, prefix);
  if (network.value !== ip.value) {
    const block = `${formatIp(network)}/${prefix}`;
    throw new UserError(
      `${source}: ${JSON.stringify(entry)} has bits set after the /${prefix} prefix; ` +
        `write ${block} for the block or ${formatIp(ip)} for the one address`,
    );
  }
  return { ip, prefix };
}

/** A prefix length: a decimal from 0 to `max` without leading zeros, or null. */
function decimal(text: string, max: number): number | null {
  if (text.length === 0 || text.length > 3 || (text.length > 1 && text[0] === "0")) return null;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  return value <= max ? value : null;
}

/** The address with the bits after `prefix` cleared. */
function networkOf(ip: ParsedIp, prefix: number): ParsedIp {
  return ip.family === 4
    ? { family: 4, value: (ip.value & mask4(prefix)) >>> 0 }
    : { family: 6, value: ip.value & mask6(prefix) };
}

function mask4(prefix: number): number {
  // A shift by 32 is a shift by 0 in JavaScript, so /0 is its own case.
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function mask6(prefix: number): bigint {
  return prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(128 - prefix);
}

function isMapped(value: bigint): boolean {
  return value >> 32n === 0xffffn;
}

/** The IPv4 range that an IPv6 block covers through mapped addresses, or null when it covers none. */
function mappedPart(network: bigint, prefix: number): Range4 | null {
  if (prefix <= MAPPED_PREFIX_BITS) {
    // The block holds all of ::ffff:0:0/96 when the mapped prefix lies in it.
    return (MAPPED_PREFIX & mask6(prefix)) === network ? { network: 0, mask: 0 } : null;
  }
  if (!isMapped(network)) return null;
  return { network: Number(network & LOW_32_BITS), mask: mask4(prefix - MAPPED_PREFIX_BITS) };
}

/** Dotted-decimal IPv4 in `text[start, end)` as an unsigned 32-bit value, or -1. */
function parseIpv4(text: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    const partStart = i;
    let part = 0;
    while (i < end && i - partStart < 4) {
      const digit = text.charCodeAt(i) - 0x30;
      if (digit < 0 || digit > 9) break;
      part = part * 10 + digit;
      i++;
    }
    const length = i - partStart;
    if (length === 0 || length > 3 || part > 255) return -1;
    if (length > 1 && text.charCodeAt(partStart) === 0x30) return -1;
    value = value * 256 + part;
    parts++;
    if (parts < 4) {
      if (i >= end || text.charCodeAt(i) !== 0x2e) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

/** IPv6 text (RFC 4291 §2.2) as a 128-bit value, or null. */
function parseIpv6(text: string): bigint | null {
  if (text.length > IPV6_MAX_LENGTH) return null;
  const gap = text.indexOf("::");
  let words: number[] | null;
  if (gap === -1) {
    words = groups(text, true);
    if (words === null || words.length !== 8) return null;
  } else {
    if (text.indexOf("::", gap + 1) !== -1) return null;
    const head = gap === 0 ? [] : groups(text.slice(0, gap), false);
    const tail = gap + 2 === text.length ? [] : groups(text.slice(gap + 2), true);
    // `::` stands for one or more zero groups.
    if (head === null || tail === null || head.length + tail.length > 7) return null;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  // Four 32-bit halves make four bigints rather than eight.
  let value = 0n;
  for (let i = 0; i < 8; i += 2) value = (value << 32n) | BigInt(words[i] * 0x10000 + words[i + 1]);
  return value;
}

/** Colon-separated groups of one to four hex digits; the last may be a dotted IPv4 (two groups). */
function groups(text: string, ipv4Tail: boolean): number[] | null {
  const parts = text.split(":");
  const words: number[] = [];
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p];
    if (ipv4Tail && p === parts.length - 1 && part.indexOf(".") !== -1) {
      const v4 = parseIpv4(part, 0, part.length);
      if (v4 === -1) return null;
      words.push(v4 >>> 16, v4 & 0xffff);
      continue;
    }
    const word = hexGroup(part);
    if (word === -1) return null;
    words.push(word);
  }
  return words;
}

function hexGroup(part: string): number {
  if (part.length === 0 || part.length > 4) return -1;
  let word = 0;
  for (let i = 0; i < part.length; i++) {
    const digit = hexDigit(part.charCodeAt(i));
    if (digit === -1) return -1;
    word = word * 16 + digit;
  }
  return word;
}

function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

function formatIpv6(value: bigint): string {
  if (isMapped(value)) return `::ffff:${formatIpv4(Number(value & LOW_32_BITS))}`;
  const words: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) words.push(Number((value >> shift) & 0xffffn));
  const [start, length] = longestZeroRun(words);
  const hex = (from: number, to: number) =>
    words.slice(from, to).map((word) => word.toString(16)).join(":");
  // RFC 5952 §4.2.2: a single zero group is not shortened.
  if (length < 2) return hex(0, 8);
  return `${hex(0, start)}::${hex(start + length, 8)}`;
}

/** Start and length of the first longest run of zero groups (RFC 5952 §4.2.3). */
function longestZeroRun(words: readonly number[]): [number, number] {
  let best: [number, number] = [0, 0];
  let runStart = -1;
  for (let i = 0; i <= words.length; i++) {
    if (i < words.length && words[i] === 0) {
      if (runStart === -1) runStart = i;
      continue;
    }
    if (runStart !== -1 && i - runStart > best[1]) best = [runStart, i - runStart];
    runStart = -1;
  }
  return best;
}

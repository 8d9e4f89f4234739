import { assert, assertEquals, assertRejects } from "../_deps.ts";
import { concat, latin1 } from "../_helpers.ts";
import {
  parseProxyHeader,
  PROXY_HEADER_MAX_BYTES,
  PROXY_V1_MAX_BYTES,
  PROXY_V2_FIXED_BYTES,
  PROXY_V2_MAX_LENGTH,
  type ProxyAddress,
  ProxyHeaderError,
  type ProxyParse,
  readProxyHeader,
} from "../../lib/http/proxy_protocol.ts";

const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const LOCAL = 0x20;
const PROXY = 0x21;
const TCP4 = 0x11;
const TCP6 = 0x21;

/** A version 2 header: command byte, family byte, then the block (addresses and TLVs). */
function v2(command: number, family: number, ...block: (number[] | Uint8Array)[]): Uint8Array {
  const body = concat(block.map((part) => Uint8Array.from(part)));
  return Uint8Array.of(
    ...SIGNATURE,
    command,
    family,
    body.length >> 8,
    body.length & 0xff,
    ...body,
  );
}

/** A TLV: type, 16-bit length, value. */
function tlv(type: number, value: number[]): number[] {
  return [type, value.length >> 8, value.length & 0xff, ...value];
}

function ports(source: number, destination: number): number[] {
  return [source >> 8, source & 0xff, destination >> 8, destination & 0xff];
}

const V4_BLOCK = [192, 0, 2, 1, 198, 51, 100, 2, ...ports(56324, 443)];
const V6_SOURCE = [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 0x01];
const V6_DESTINATION = [0xfe, 0x80, ...new Array(12).fill(0), 0xab, 0xcd];
const V6_BLOCK = [...V6_SOURCE, ...V6_DESTINATION, ...ports(1, 65535)];

function at(hostname: string, port: number): ProxyAddress {
  return { hostname, port };
}

interface Valid {
  name: string;
  bytes: Uint8Array;
  version: 1 | 2;
  source: ProxyAddress | null;
  destination: ProxyAddress | null;
}

const VALID: Valid[] = [
  {
    name: "v1 TCP4",
    bytes: latin1("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"),
    version: 1,
    source: at("192.0.2.1", 56324),
    destination: at("198.51.100.2", 443),
  },
  {
    name: "v1 TCP4 with ports 0 and 65535",
    bytes: latin1("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"),
    version: 1,
    source: at("0.0.0.0", 0),
    destination: at("255.255.255.255", 65535),
  },
  {
    name: "v1 TCP6, written back in canonical form",
    bytes: latin1("PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::ffff:10.0.0.1 1 2\r\n"),
    version: 1,
    source: at("2001:db8::1", 1),
    destination: at("::ffff:10.0.0.1", 2),
  },
  {
    name: "v1 TCP6 of the longest kind",
    bytes: latin1(
      "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff " +
        "65535 65535\r\n",
    ),
    version: 1,
    source: at("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
    destination: at("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
  },
  {
    name: "v1 UNKNOWN alone",
    bytes: latin1("PROXY UNKNOWN\r\n"),
    version: 1,
    source: null,
    destination: null,
  },
  {
    name: "v1 UNKNOWN with ignored addresses, 107 bytes",
    bytes: latin1(`PROXY UNKNOWN ${"x".repeat(PROXY_V1_MAX_BYTES - 16)}\r\n`),
    version: 1,
    source: null,
    destination: null,
  },
  {
    name: "v2 PROXY TCP4",
    bytes: v2(PROXY, TCP4, V4_BLOCK),
    version: 2,
    source: at("192.0.2.1", 56324),
    destination: at("198.51.100.2", 443),
  },
  {
    name: "v2 PROXY TCP6",
    bytes: v2(PROXY, TCP6, V6_BLOCK),
    version: 2,
    source: at("2001:db8::1", 1),
    destination: at("fe80::abcd", 65535),
  },
  {
    name: "v2 PROXY TCP4 with TLVs (ALPN, authority, an empty NOOP)",
    bytes: v2(PROXY, TCP4, V4_BLOCK, tlv(0x01, [0x68, 0x32]), tlv(0x02, [0x61]), tlv(0x04, [])),
    version: 2,
    source: at("192.0.2.1", 56324),
    destination: at("198.51.100.2", 443),
  },
  {
    name: "v2 PROXY TCP6 with a TLV filling the length limit",
    bytes: v2(PROXY, TCP6, V6_BLOCK, tlv(0xe0, new Array(PROXY_V2_MAX_LENGTH - 36 - 3).fill(7))),
    version: 2,
    source: at("2001:db8::1", 1),
    destination: at("fe80::abcd", 65535),
  },
  {
    name: "v2 PROXY UNSPEC",
    bytes: v2(PROXY, 0x00),
    version: 2,
    source: null,
    destination: null,
  },
  {
    name: "v2 LOCAL (a health check)",
    bytes: v2(LOCAL, 0x00),
    version: 2,
    source: null,
    destination: null,
  },
  {
    name: "v2 LOCAL ignores its family and block",
    bytes: v2(LOCAL, 0x31, [1, 2, 3]),
    version: 2,
    source: null,
    destination: null,
  },
];

Deno.test("parseProxyHeader() reads valid v1 and v2 headers", () => {
  for (const { name, bytes, version, source, destination } of VALID) {
    const expected: ProxyParse = {
      kind: "header",
      version,
      consumed: bytes.length,
      source,
      destination,
    };
    assertEquals(parseProxyHeader(bytes), expected, name);
    // What follows the header is left alone.
    assertEquals(parseProxyHeader(concat([bytes, latin1("GET / HTTP/1.1\r\n")])), expected, name);
  }
});

Deno.test("parseProxyHeader() answers incomplete at every prefix of a valid header", () => {
  for (const { name, bytes } of VALID) {
    for (let length = 0; length < bytes.length; length++) {
      assertEquals(
        parseProxyHeader(bytes.subarray(0, length)),
        { kind: "incomplete" },
        `${name}, ${length} bytes`,
      );
    }
  }
});

/** Cases that are bad, each with the first length at which they must be found bad. */
const BAD: [name: string, bytes: Uint8Array, reason: string, badAt?: number][] = [
  ["HTTP request", latin1("GET / HTTP/1.1\r\n"), "not a PROXY protocol header", 1],
  ["POST shares the P", latin1("POST / HTTP/1.1\r\n"), "not a PROXY protocol header", 2],
  ["TLS ClientHello", Uint8Array.of(0x16, 0x03, 0x01, 0x00), "not a PROXY protocol header", 1],
  ["lower-case v1", latin1("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), "not a PROXY protocol header"],
  ["v1 lower-case protocol", latin1("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"), "v1 protocol is not"],
  ["v1 unknown protocol", latin1("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), "v1 protocol is not"],
  ["v1 two spaces", latin1("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), "v1 address is not", 12],
  ["v1 two spaces first", latin1("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), "v1 protocol is not", 7],
  ["v1 trailing space", latin1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), "too many fields"],
  ["v1 tab", latin1("PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n"), "control byte"],
  ["v1 missing CR", latin1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), "does not end in CRLF"],
  ["v1 CR alone", latin1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rGET"), "does not end in CRLF"],
  ["v1 missing CRLF", latin1(`PROXY UNKNOWN ${"x".repeat(120)}`), "longer than 107 bytes", 107],
  ["v1 too few fields", latin1("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), "too few fields"],
  ["v1 no protocol", latin1("PROXY\r\n"), "too few fields"],
  ["v1 port too large", latin1("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), "v1 port", 32],
  ["v1 port leading zero", latin1("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n"), "v1 port", 29],
  ["v1 port 00", latin1("PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n"), "v1 port"],
  ["v1 port sign", latin1("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), "v1 port"],
  ["v1 port empty", latin1("PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n"), "v1 port"],
  ["v1 IPv6 for TCP4", latin1("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"), "not an IPv4 address", 12],
  ["v1 IPv4 for TCP6", latin1("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"), "not an IPv6 address"],
  ["v1 octet over 255", latin1("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"), "not an IPv4", 20],
  ["v1 octet leading zero", latin1("PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n"), "not an IPv4", 19],
  ["v1 hostname", latin1("PROXY TCP4 localhost 5.6.7.8 1 2\r\n"), "not an IPv4", 12],
  ["v1 bad IPv6", latin1("PROXY TCP6 1:::2 ::1 1 2\r\n"), "not an IPv6 address"],
  ["v1 NUL", latin1("PROXY TCP4 1.2.3.4\x005.6.7.8 1 2\r\n"), "control byte"],
  ["v1 UNKNOWN with a control byte", latin1("PROXY UNKNOWN \x01\r\n"), "control byte"],
  ["v2 wrong signature", Uint8Array.of(...SIGNATURE.slice(0, 5), 0x0a), "not a PROXY", 6],
  ["v2 version 1", Uint8Array.of(...SIGNATURE, 0x11, TCP4, 0, 12), "v2 version is not 2", 13],
  ["v2 version 3", Uint8Array.of(...SIGNATURE, 0x31, TCP4, 0, 12), "v2 version is not 2", 13],
  ["v2 command 2", Uint8Array.of(...SIGNATURE, 0x22, TCP4, 0, 12), "neither LOCAL nor PROXY", 13],
  ["v2 UNIX", v2(PROXY, 0x31, new Array(216).fill(0)), "unsupported family: UNIX", 14],
  ["v2 UDP over IPv4", v2(PROXY, 0x12, V4_BLOCK), "unsupported transport: DGRAM", 14],
  ["v2 UDP over IPv6", v2(PROXY, 0x22, V6_BLOCK), "unsupported transport: DGRAM", 14],
  ["v2 family 4", v2(PROXY, 0x41, V4_BLOCK), "unknown family", 14],
  ["v2 transport 3", v2(PROXY, 0x13, V4_BLOCK), "unknown transport", 14],
  ["v2 IPv4 without transport", v2(PROXY, 0x10, V4_BLOCK), "do not match", 14],
  ["v2 STREAM without family", v2(PROXY, 0x01), "do not match", 14],
  ["v2 IPv4 block too short", v2(PROXY, TCP4, V4_BLOCK.slice(0, 11)), "too short", 16],
  ["v2 IPv6 with an IPv4 block", v2(PROXY, TCP6, V4_BLOCK), "too short", 16],
  [
    "v2 over the length limit",
    v2(PROXY, TCP4, V4_BLOCK, tlv(0xe0, new Array(PROXY_V2_MAX_LENGTH - 12 - 2).fill(0))),
    `v2 length ${PROXY_V2_MAX_LENGTH + 1} is over the limit`,
    16,
  ],
  ["v2 length 65535", Uint8Array.of(...SIGNATURE, PROXY, TCP4, 0xff, 0xff), "over the limit", 16],
  ["v2 TLV header cut", v2(PROXY, TCP4, V4_BLOCK, [0x01, 0x00]), "TLVs do not fit"],
  [
    "v2 TLV value past the end",
    v2(PROXY, TCP4, V4_BLOCK, [0x01, 0x00, 0x05, 1]),
    "TLVs do not fit",
  ],
  ["v2 TLV with bytes after", v2(PROXY, TCP6, V6_BLOCK, tlv(1, [1]), [9]), "TLVs do not fit"],
];

Deno.test("parseProxyHeader() refuses bad headers with a reason", () => {
  for (const [name, bytes, reason] of BAD) {
    const parse = parseProxyHeader(bytes);
    assert(parse.kind === "bad", `${name}: ${JSON.stringify(parse)}`);
    assert(parse.reason.includes(reason), `${name}: ${parse.reason}`);
  }
});

Deno.test("parseProxyHeader() refuses as soon as the bytes cannot become a header", () => {
  for (const [name, bytes, reason, badAt] of BAD) {
    if (badAt === undefined) continue;
    const before = parseProxyHeader(bytes.subarray(0, badAt - 1));
    assertEquals(before, { kind: "incomplete" }, `${name} at ${badAt - 1}`);
    const parse = parseProxyHeader(bytes.subarray(0, badAt));
    assert(parse.kind === "bad" && parse.reason.includes(reason), `${name} at ${badAt}`);
  }
});

Deno.test("parseProxyHeader() answers incomplete only below the bound", () => {
  for (const [name, bytes] of BAD) {
    for (let length = 1; length <= bytes.length; length++) {
      const parse = parseProxyHeader(bytes.subarray(0, length));
      if (parse.kind === "incomplete") assert(length < PROXY_HEADER_MAX_BYTES, name);
    }
  }
  const endless = latin1("PROXY TCP6 " + "1".repeat(200));
  assertEquals(parseProxyHeader(endless).kind, "bad");
});

Deno.test("parseProxyHeader() survives every single-byte change of a valid header", () => {
  for (const { name, bytes } of VALID) {
    for (let i = 0; i < bytes.length; i++) {
      for (const value of [0x00, 0x0a, 0x0d, 0x20, 0x3a, 0x41, 0x7f, 0xff, bytes[i] ^ 1]) {
        const changed = bytes.slice();
        changed[i] = value;
        const parse = parseProxyHeader(changed);
        if (parse.kind === "header") assert(parse.consumed <= changed.length, `${name} [${i}]`);
        if (parse.kind === "incomplete") assert(changed.length < PROXY_HEADER_MAX_BYTES, name);
      }
    }
  }
});

Deno.test("PROXY_HEADER_MAX_BYTES bounds both versions", () => {
  assertEquals(PROXY_V1_MAX_BYTES, 107);
  assertEquals(PROXY_HEADER_MAX_BYTES, PROXY_V2_FIXED_BYTES + PROXY_V2_MAX_LENGTH);
  for (const { bytes } of VALID) assert(bytes.length <= PROXY_HEADER_MAX_BYTES);
});

/** A reader that hands out `chunks` one per call, then the end (null) or a read that never settles. */
function scriptedReader(
  chunks: readonly Uint8Array[],
  end: "eof" | "stall",
): {
  read: (buf: Uint8Array) => Promise<number | null>;
  asked: number[];
  reach: number[];
  stalled: Promise<void>;
} {
  const asked: number[] = [];
  const reach: number[] = [];
  let delivered = 0;
  let next = 0;
  let onStall = () => {};
  const stalled = new Promise<void>((resolve) => onStall = resolve);
  const read = (buf: Uint8Array): Promise<number | null> => {
    asked.push(buf.length);
    reach.push(delivered + buf.length);
    if (next < chunks.length) {
      const chunk = chunks[next++];
      assert(chunk.length <= buf.length, "the test reader was given a small buffer");
      buf.set(chunk);
      delivered += chunk.length;
      return Promise.resolve(chunk.length);
    }
    if (end === "eof") return Promise.resolve(null);
    onStall();
    return new Promise<number | null>(() => {});
  };
  return { read, asked, reach, stalled };
}

function bytewise(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (byte) => Uint8Array.of(byte));
}

Deno.test("readProxyHeader() returns the header and the bytes after it", async () => {
  const request = latin1("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  for (const { name, bytes, source } of VALID) {
    const together = scriptedReader([concat([bytes, request])], "eof");
    const first = await readProxyHeader(together.read, new AbortController().signal);
    assertEquals(first.header.source, source, name);
    assertEquals(first.header.consumed, bytes.length, name);
    assertEquals(first.rest, request, name);
    // Byte by byte, it stops at the header's last byte and leaves the request unread.
    const apart = scriptedReader(bytewise(bytes).concat([request]), "eof");
    const second = await readProxyHeader(apart.read, new AbortController().signal);
    assertEquals(second.header, first.header, name);
    assertEquals(second.rest, new Uint8Array(0), name);
    assertEquals(apart.asked.length, bytes.length, name);
  }
});

Deno.test("readProxyHeader() throws ProxyHeaderError for bad bytes without reading on", async () => {
  const reader = scriptedReader([latin1("GET / HTTP/1.1\r\n")], "stall");
  const error = await assertRejects(
    () => readProxyHeader(reader.read, new AbortController().signal),
    ProxyHeaderError,
    "not a PROXY protocol header",
  );
  assertEquals((error as ProxyHeaderError).kind, "bad");
  assertEquals(reader.asked.length, 1);
});

Deno.test("readProxyHeader() throws ProxyHeaderError when the stream ends early", async () => {
  const reader = scriptedReader([latin1("PROXY TCP4 1.2.3.4")], "eof");
  const error = await assertRejects(
    () => readProxyHeader(reader.read, new AbortController().signal),
    ProxyHeaderError,
  );
  assertEquals((error as ProxyHeaderError).kind, "closed");
});

Deno.test("readProxyHeader() gives up on a slow sender when the deadline aborts", async () => {
  const slow = latin1("PROXY TCP4 192.0.2.1 198.51.100.2 56");
  const reader = scriptedReader(bytewise(slow), "stall");
  const deadline = new AbortController();
  const reading = readProxyHeader(reader.read, deadline.signal);
  reading.catch(() => {});
  await reader.stalled;
  assertEquals(reader.asked.length, slow.length + 1);
  deadline.abort();
  const error = await assertRejects(() => reading, ProxyHeaderError, "deadline");
  assertEquals((error as ProxyHeaderError).kind, "timeout");
});

Deno.test("readProxyHeader() does not read once the deadline has passed", async () => {
  const reader = scriptedReader([latin1("PROXY ")], "stall");
  const deadline = new AbortController();
  deadline.abort();
  const error = await assertRejects(() => readProxyHeader(reader.read, deadline.signal));
  assert(error instanceof ProxyHeaderError && error.kind === "timeout");
  assertEquals(reader.asked.length, 0);
});

Deno.test("readProxyHeader() reads no more than the bound and one chunk", async () => {
  // A sender that keeps a header incomplete as long as it can: a v2 header of the longest length.
  const longest = v2(PROXY, TCP4, V4_BLOCK, tlv(0xe0, new Array(PROXY_V2_MAX_LENGTH - 15).fill(1)));
  const chunks = bytewise(longest.subarray(0, PROXY_HEADER_MAX_BYTES - 1));
  const reader = scriptedReader(chunks, "stall");
  const deadline = new AbortController();
  const reading = readProxyHeader(reader.read, deadline.signal);
  reading.catch(() => {});
  await reader.stalled;
  deadline.abort();
  await assertRejects(() => reading, ProxyHeaderError);
  assertEquals(reader.asked.length, PROXY_HEADER_MAX_BYTES);
  // However the bytes arrive, no read may reach past the bound and one chunk.
  assertEquals(Math.max(...reader.reach), PROXY_HEADER_MAX_BYTES - 1 + 1024);
  // A 0-byte read is the end of the stream, not a reason to spin.
  const zero = await assertRejects(
    () => readProxyHeader(() => Promise.resolve(0), new AbortController().signal),
    ProxyHeaderError,
  );
  assertEquals((zero as ProxyHeaderError).kind, "closed");
});

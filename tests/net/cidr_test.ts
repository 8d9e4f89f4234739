import { assert, assertEquals, assertThrows } from "../_deps.ts";
import { UserError } from "../../lib/errors.ts";
import {
  formatIp,
  normaliseAddress,
  parseCidrList,
  type ParsedIp,
  parseIp,
} from "../../lib/net/cidr.ts";

Deno.test("parseIp() reads IPv4 and IPv6 addresses", () => {
  const cases: [string, ParsedIp][] = [
    ["0.0.0.0", { family: 4, value: 0 }],
    ["10.0.0.1", { family: 4, value: 0x0a000001 }],
    ["255.255.255.255", { family: 4, value: 0xffffffff }],
    ["::", { family: 6, value: 0n }],
    ["::1", { family: 6, value: 1n }],
    ["1::", { family: 6, value: 1n << 112n }],
    ["2001:db8::1", { family: 6, value: (0x20010db8n << 96n) | 1n }],
    ["2001:DB8:0:0:0:0:0:1", { family: 6, value: (0x20010db8n << 96n) | 1n }],
    ["1:2:3:4:5:6:7:8", { family: 6, value: 0x00010002000300040005000600070008n }],
    ["1:2:3:4:5:6::8", { family: 6, value: 0x00010002000300040005000600000008n }],
    ["::ffff:10.1.2.3", { family: 6, value: (0xffffn << 32n) | 0x0a010203n }],
    ["::ffff:a01:203", { family: 6, value: (0xffffn << 32n) | 0x0a010203n }],
    ["1:2:3:4:5:6:1.2.3.4", { family: 6, value: 0x00010002000300040005000601020304n }],
  ];
  for (const [text, expected] of cases) assertEquals(parseIp(text), expected, text);
});

Deno.test("parseIp() refuses what is not an address", () => {
  for (
    const text of [
      "",
      "localhost",
      "1.2.3",
      "1.2.3.4.5",
      "1.2.3.256",
      "01.2.3.4",
      "1.2.3.04",
      "1..3.4",
      "1.2.3.4.",
      " 1.2.3.4",
      "1.2.3.4 ",
      "0x1.2.3.4",
      "1.2.3.-4",
      "1234.1.1.1",
      ":",
      ":::",
      "1:::2",
      "1::2::3",
      ":1::",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7::8",
      "12345::",
      "g::",
      "::1.2.3.4:5",
      "1.2.3.4::",
      "fe80::1%eth0",
      "[::1]",
      "::1/128",
      "1:2:3:4:5:6:7:1.2.3.4",
    ]
  ) {
    assertEquals(parseIp(text), null, JSON.stringify(text));
  }
});

Deno.test("formatIp() writes RFC 5952 text", () => {
  const cases: [string, string][] = [
    ["10.0.0.1", "10.0.0.1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    // A single zero group is not shortened; the first of two equal runs is.
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["0:0:0:0:0:ffff:a01:203", "::ffff:10.1.2.3"],
    ["fe80:0000:0000:0000:0204:61ff:fe9d:f156", "fe80::204:61ff:fe9d:f156"],
  ];
  for (const [text, expected] of cases) assertEquals(formatIp(parseIp(text)!), expected, text);
});

Deno.test("normaliseAddress() writes mapped IPv4 addresses as IPv4 and keeps the rest", () => {
  const cases: [string, string][] = [
    ["::ffff:127.0.0.1", "127.0.0.1"],
    ["::FFFF:10.1.2.3", "10.1.2.3"],
    ["::ffff:a01:203", "10.1.2.3"],
    ["127.0.0.1", "127.0.0.1"],
    ["::1", "::1"],
    ["2001:DB8::1", "2001:DB8::1"],
    ["2001:db8:0:0::1", "2001:db8:0:0::1"],
    ["fe80::1%eth0", "fe80::1%eth0"],
    ["not an address", "not an address"],
  ];
  for (const [address, expected] of cases) assertEquals(normaliseAddress(address), expected);
});

Deno.test("parseCidrList() reads addresses, blocks and names", () => {
  const cases: [string, string[]][] = [
    ["127.0.0.1", ["127.0.0.1/32"]],
    ["10.0.0.0/8", ["10.0.0.0/8"]],
    ["::1", ["::1/128"]],
    ["fd00::/8", ["fd00::/8"]],
    ["2001:DB8::/32", ["2001:db8::/32"]],
    [" 10.0.0.0/8 ,::1 ", ["10.0.0.0/8", "::1/128"]],
    ["loopback", ["127.0.0.0/8", "::1/128"]],
    ["Private", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]],
    ["0.0.0.0/0", ["0.0.0.0/0"]],
    ["::/0", ["::/0"]],
    ["192.0.2.7/32", ["192.0.2.7/32"]],
  ];
  for (const [text, expected] of cases) {
    assertEquals(parseCidrList(text, "--trust-proxy").ranges, expected, text);
  }
});

Deno.test("parseCidrList() refuses entries that are not addresses, in one line", () => {
  for (
    const entry of [
      "",
      "any",
      "all",
      "*",
      "localhost",
      "10.0.0.0/33",
      "::/129",
      "10.0.0.0/",
      "10.0.0.0/08",
      "10.0.0.0/-1",
      "10.0.0.0/8/8",
      "10/8",
      "fe80::1%eth0",
      "[::1]",
      "1.2.3.4:80",
    ]
  ) {
    assertThrows(
      () => parseCidrList(`127.0.0.1, ${entry}`, "--trust-proxy"),
      UserError,
      `--trust-proxy: ${JSON.stringify(entry)} is not an IP address or CIDR ` +
        "(such as 10.0.0.0/8 or ::1)",
    );
  }
  // A trailing comma leaves an empty entry.
  assertThrows(() => parseCidrList("10.0.0.0/8,", "x"), UserError, 'x: "" is not an IP address');
});

Deno.test("parseCidrList() refuses blocks with host bits set and names the fix", () => {
  const cases: [string, string][] = [
    ["10.0.0.1/8", "write 10.0.0.0/8 for the block or 10.0.0.1 for the one address"],
    ["192.168.1.1/16", "write 192.168.0.0/16 for the block"],
    ["2001:db8::1/32", "write 2001:db8::/32 for the block or 2001:db8::1 for the one address"],
    ["1.2.3.4/0", "write 0.0.0.0/0 for the block"],
  ];
  for (const [entry, hint] of cases) {
    const error = assertThrows(() => parseCidrList(entry, "config proxy.trust"), UserError);
    assert(error.message.startsWith(`config proxy.trust: "${entry}" has bits set`), error.message);
    assert(error.message.includes(hint), error.message);
    assert(!error.message.includes("\n"));
  }
});

Deno.test("CidrList.contains() matches addresses against the ranges", () => {
  const list = parseCidrList("10.0.0.0/8, 192.168.1.7, 2001:db8::/32, ::1", "test");
  const cases: [string, boolean][] = [
    ["10.0.0.0", true],
    ["10.255.255.255", true],
    ["11.0.0.0", false],
    ["9.255.255.255", false],
    ["192.168.1.7", true],
    ["192.168.1.8", false],
    ["2001:db8::1", true],
    ["2001:DB8:ffff::", true],
    ["2001:db9::1", false],
    ["::1", true],
    ["::2", false],
    ["fe80::1%eth0", false],
    ["", false],
    ["garbage", false],
    ["10.0.0.1:80", false],
  ];
  for (const [address, expected] of cases) assertEquals(list.contains(address), expected, address);
});

Deno.test("CidrList.contains() matches IPv4-mapped IPv6 addresses against IPv4 ranges", () => {
  const list = parseCidrList("loopback, 172.16.0.0/12", "test");
  assert(list.contains("::ffff:127.0.0.1"));
  assert(list.contains("::ffff:172.31.255.255"));
  assert(list.contains("::FFFF:ac10:1"));
  assert(!list.contains("::ffff:172.32.0.0"));
  assert(!list.contains("::ffff:128.0.0.1"));
  // An IPv6 block over mapped space covers the IPv4 addresses it maps.
  const mapped = parseCidrList("::ffff:10.0.0.0/104", "test");
  assert(mapped.contains("10.1.2.3"));
  assert(mapped.contains("::ffff:10.1.2.3"));
  assert(!mapped.contains("11.0.0.0"));
  const everything = parseCidrList("::/0", "test");
  assert(everything.contains("203.0.113.1"));
  assert(everything.contains("2001:db8::1"));
  assert(!parseCidrList("2001:db8::/32", "test").contains("1.2.3.4"));
});

Deno.test("CidrList.contains() ignores an address's zone", () => {
  const list = parseCidrList("fe80::/10", "test");
  assert(list.contains("fe80::1%eth0"));
  assert(list.contains("fe80::1"));
  assert(!list.contains("fec0::1%eth0"));
});

Deno.test("CidrList.contains() takes /0 and /32 and /128 edges exactly", () => {
  assert(parseCidrList("0.0.0.0/0", "t").contains("255.255.255.255"));
  assert(!parseCidrList("0.0.0.0/0", "t").contains("::1"));
  assert(parseCidrList("128.0.0.0/1", "t").contains("200.0.0.1"));
  assert(!parseCidrList("128.0.0.0/1", "t").contains("127.255.255.255"));
  assert(parseCidrList("8000::/1", "t").contains("ffff::"));
  assert(!parseCidrList("8000::/1", "t").contains("7fff::"));
  assert(!parseCidrList("1.2.3.4", "t").contains("1.2.3.5"));
  assert(!parseCidrList("::1", "t").contains("::"));
  assert(parseCidrList("fc00::/7", "t").contains("fdff::1"));
  assert(!parseCidrList("fc00::/7", "t").contains("fe00::1"));
});

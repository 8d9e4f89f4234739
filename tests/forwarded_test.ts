import { assertEquals } from "./_deps.ts";
import { type ForwardedClient, forwardedClient } from "../lib/forwarded.ts";
import { parseCidrList } from "../lib/net/cidr.ts";

const TRUSTED = parseCidrList("10.0.0.0/8, fd00::/8", "--trust-proxy");

type Case = [
  name: string,
  peer: string,
  fields: Record<string, string> | [string, string][],
  expected: ForwardedClient,
];

function run(cases: readonly Case[]): void {
  for (const [name, peer, fields, expected] of cases) {
    assertEquals(forwardedClient(peer, new Headers(fields), TRUSTED), expected, name);
  }
}

function client(address: string, proto: "http" | "https" | null = null): ForwardedClient {
  return { address, proto };
}

Deno.test("forwardedClient() takes the peer when nothing is trusted", () => {
  const headers = new Headers({
    "forwarded": "for=203.0.113.9;proto=https",
    "x-forwarded-for": "203.0.113.9",
    "x-forwarded-proto": "https",
  });
  assertEquals(forwardedClient("10.0.0.1", headers, null), client("10.0.0.1"));
  assertEquals(forwardedClient("::ffff:10.0.0.1", headers, null), client("10.0.0.1"));
});

Deno.test("forwardedClient() ignores forwarding fields from an untrusted peer", () => {
  run([
    ["X-Forwarded-For", "198.51.100.7", { "x-forwarded-for": "10.0.0.5" }, client("198.51.100.7")],
    [
      "X-Forwarded-Proto",
      "198.51.100.7",
      { "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https" },
      client("198.51.100.7"),
    ],
    ["Forwarded", "198.51.100.7", { "forwarded": "for=1.2.3.4" }, client("198.51.100.7")],
    ["IPv6 peer", "2001:db8::7", { "x-forwarded-for": "1.2.3.4" }, client("2001:db8::7")],
    [
      "mapped peer",
      "::ffff:198.51.100.7",
      { "x-forwarded-for": "1.2.3.4" },
      client("198.51.100.7"),
    ],
  ]);
});

Deno.test("forwardedClient() walks X-Forwarded-For from the right past trusted proxies", () => {
  run([
    ["one proxy", "10.0.0.1", { "x-forwarded-for": "203.0.113.9" }, client("203.0.113.9")],
    [
      "chain of proxies",
      "10.0.0.1",
      { "x-forwarded-for": "203.0.113.9, 10.0.0.3, 10.0.0.2" },
      client("203.0.113.9"),
    ],
    [
      "spoofed leftmost values ignored",
      "10.0.0.1",
      { "x-forwarded-for": "10.9.9.9, 6.6.6.6, 203.0.113.9, 10.0.0.2" },
      client("203.0.113.9"),
    ],
    [
      "several fields joined in order",
      "10.0.0.1",
      [["x-forwarded-for", "1.1.1.1, 203.0.113.9"], ["x-forwarded-for", "10.0.0.2"]],
      client("203.0.113.9"),
    ],
    [
      "all trusted: the leftmost",
      "10.0.0.1",
      { "x-forwarded-for": "10.0.0.3, 10.0.0.2" },
      client("10.0.0.3"),
    ],
    ["no field: the peer", "10.0.0.1", {}, client("10.0.0.1")],
    ["empty field: the peer", "10.0.0.1", { "x-forwarded-for": "" }, client("10.0.0.1")],
    ["empty elements skipped", "10.0.0.1", { "x-forwarded-for": "1.2.3.4,, " }, client("1.2.3.4")],
    ["with a port", "10.0.0.1", { "x-forwarded-for": "203.0.113.9:4711" }, client("203.0.113.9")],
  ]);
});

Deno.test("forwardedClient() reads IPv6 and mapped IPv4 in X-Forwarded-For", () => {
  run([
    ["IPv6 peer", "fd00::1", { "x-forwarded-for": "2001:DB8::9" }, client("2001:db8::9")],
    [
      "mapped peer",
      "::ffff:10.0.0.1",
      { "x-forwarded-for": "203.0.113.9" },
      client("203.0.113.9"),
    ],
    [
      "mapped entry",
      "10.0.0.1",
      { "x-forwarded-for": "::ffff:203.0.113.9" },
      client("203.0.113.9"),
    ],
    [
      "mapped trusted entry is skipped",
      "10.0.0.1",
      { "x-forwarded-for": "203.0.113.9, ::ffff:10.0.0.2" },
      client("203.0.113.9"),
    ],
    [
      "bracketed with a port",
      "fd00::1",
      { "x-forwarded-for": "[2001:db8::9]:4711" },
      client("2001:db8::9"),
    ],
    [
      "mixed families",
      "10.0.0.1",
      { "x-forwarded-for": "203.0.113.9, fd00::2" },
      client("203.0.113.9"),
    ],
  ]);
});

Deno.test("forwardedClient() stops at a malformed X-Forwarded-For entry", () => {
  run([
    ["garbage next to the peer", "10.0.0.1", { "x-forwarded-for": "hello" }, client("10.0.0.1")],
    [
      "garbage behind a trusted proxy",
      "10.0.0.1",
      { "x-forwarded-for": "203.0.113.9, <script>, 10.0.0.2" },
      client("10.0.0.2"),
    ],
    [
      "garbage left of the client is never read",
      "10.0.0.1",
      { "x-forwarded-for": "<script>, 203.0.113.9" },
      client("203.0.113.9"),
    ],
    ["unknown", "10.0.0.1", { "x-forwarded-for": "unknown" }, client("10.0.0.1")],
    ["bad port", "10.0.0.1", { "x-forwarded-for": "1.2.3.4:99999999" }, client("10.0.0.1")],
    ["octal-looking", "10.0.0.1", { "x-forwarded-for": "010.0.0.1" }, client("10.0.0.1")],
    ["zone", "10.0.0.1", { "x-forwarded-for": "fe80::1%eth0" }, client("10.0.0.1")],
    ["brackets around IPv4", "10.0.0.1", { "x-forwarded-for": "[1.2.3.4]" }, client("10.0.0.1")],
  ]);
});

Deno.test("forwardedClient() takes the rightmost X-Forwarded-Proto from a trusted peer", () => {
  run([
    [
      "https",
      "10.0.0.1",
      { "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https" },
      client("203.0.113.9", "https"),
    ],
    [
      "rightmost of a list",
      "10.0.0.1",
      { "x-forwarded-for": "1.2.3.4", "x-forwarded-proto": "https, http" },
      client("1.2.3.4", "http"),
    ],
    [
      "case-insensitive",
      "10.0.0.1",
      { "x-forwarded-for": "1.2.3.4", "x-forwarded-proto": "HTTPS" },
      client("1.2.3.4", "https"),
    ],
    ["other schemes ignored", "10.0.0.1", { "x-forwarded-proto": "ftp" }, client("10.0.0.1")],
    ["alone", "10.0.0.1", { "x-forwarded-proto": "https" }, client("10.0.0.1", "https")],
  ]);
});

Deno.test("forwardedClient() walks Forwarded from the right with the same hop's proto", () => {
  run([
    [
      "one element",
      "10.0.0.1",
      { "forwarded": "for=203.0.113.9;proto=https;by=10.0.0.1" },
      client("203.0.113.9", "https"),
    ],
    [
      "chain of proxies, proto of the client's hop",
      "10.0.0.1",
      { "forwarded": "for=203.0.113.9;proto=https, for=10.0.0.2;proto=http" },
      client("203.0.113.9", "https"),
    ],
    [
      "spoofed leftmost elements ignored",
      "10.0.0.1",
      { "forwarded": "for=10.6.6.6;proto=http, for=203.0.113.9;proto=https" },
      client("203.0.113.9", "https"),
    ],
    [
      "all trusted: the leftmost",
      "10.0.0.1",
      { "forwarded": "for=10.0.0.3;proto=https, for=10.0.0.2" },
      client("10.0.0.3", "https"),
    ],
    [
      "several fields joined in order",
      "10.0.0.1",
      [["forwarded", "for=1.1.1.1"], ["forwarded", "for=203.0.113.9, for=10.0.0.2"]],
      client("203.0.113.9"),
    ],
    [
      "case-insensitive names, quoted values",
      "10.0.0.1",
      { "forwarded": 'For="203.0.113.9:4711";PROTO="HTTPS"' },
      client("203.0.113.9", "https"),
    ],
    [
      "quoted IPv6 with a port",
      "fd00::1",
      { "forwarded": 'for="[2001:db8:cafe::17]:4711"' },
      client("2001:db8:cafe::17"),
    ],
    [
      "quoted IPv6, mapped IPv4 peer",
      "::ffff:10.0.0.1",
      { "forwarded": 'for="[::ffff:203.0.113.9]"' },
      client("203.0.113.9"),
    ],
    [
      "Forwarded wins over X-Forwarded-*",
      "10.0.0.1",
      {
        "forwarded": "for=203.0.113.9",
        "x-forwarded-for": "1.2.3.4",
        "x-forwarded-proto": "https",
      },
      client("203.0.113.9"),
    ],
    [
      "a comma inside quotes does not split",
      "10.0.0.1",
      { "forwarded": 'for=203.0.113.9;ext="a,b"' },
      client("203.0.113.9"),
    ],
  ]);
});

Deno.test("forwardedClient() stops the Forwarded walk at hidden, unknown and malformed entries", () => {
  run([
    ["obfuscated", "10.0.0.1", { "forwarded": "for=_hidden;proto=https" }, client("10.0.0.1")],
    ["unknown", "10.0.0.1", { "forwarded": "for=unknown" }, client("10.0.0.1")],
    [
      "hidden behind a trusted proxy",
      "10.0.0.1",
      { "forwarded": "for=203.0.113.9, for=_secret, for=10.0.0.2;proto=https" },
      client("10.0.0.2", "https"),
    ],
    ["no for", "10.0.0.1", { "forwarded": "proto=https" }, client("10.0.0.1")],
    ["unquoted IPv6", "10.0.0.1", { "forwarded": "for=[2001:db8::1]" }, client("10.0.0.1")],
    ["unquoted port", "10.0.0.1", { "forwarded": "for=203.0.113.9:80" }, client("10.0.0.1")],
    ["repeated for", "10.0.0.1", { "forwarded": "for=1.2.3.4;for=5.6.7.8" }, client("10.0.0.1")],
    ["open quote", "10.0.0.1", { "forwarded": 'for="203.0.113.9' }, client("10.0.0.1")],
    ["no value", "10.0.0.1", { "forwarded": "for" }, client("10.0.0.1")],
    ["no name", "10.0.0.1", { "forwarded": "=1.2.3.4" }, client("10.0.0.1")],
    ["hostname", "10.0.0.1", { "forwarded": "for=example.com" }, client("10.0.0.1")],
    [
      "garbage left of the client is never read",
      "10.0.0.1",
      { "forwarded": '"""", for=203.0.113.9' },
      client("203.0.113.9"),
    ],
  ]);
});

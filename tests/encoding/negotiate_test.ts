import { assertEquals } from "../_deps.ts";
import {
  type Coding,
  CODINGS,
  type ContentCoding,
  encodingNegotiator,
  negotiateEncoding,
} from "../../lib/encoding/negotiate.ts";

/** Accept-Encoding values and the answer when all three codings are offered. */
const ALL_OFFERED: readonly [string | null, ContentCoding][] = [
  // No field or an empty one: send as is (RFC 9110 §12.5.3).
  [null, "identity"],
  ["", "identity"],
  ["gzip", "gzip"],
  ["br", "br"],
  ["zstd", "zstd"],
  // Browsers and tools.
  ["gzip, deflate, br, zstd", "br"], // Chrome
  ["gzip, deflate, br", "br"], // older Chrome
  ["gzip, deflate", "gzip"], // curl --compressed
  ["deflate", "identity"],
  // Ties go by the server's order, not the header's.
  ["gzip, zstd", "zstd"],
  ["br;q=0.5, gzip;q=0.5", "br"],
  ["gzip;q=0.5, br;q=0.5", "br"],
  ["zstd;q=0.5, gzip;q=0.5", "zstd"],
  // Quality decides before the server's order.
  ["gzip;q=1.0, br;q=0.5", "gzip"],
  ["br, gzip;q=0.001", "br"],
  ["gzip;q=0.001, br;q=0.002", "br"],
  ["gzip;q=0.001", "gzip"],
  ["br;q=0, gzip", "gzip"],
  ["gzip;q=0", "identity"],
  ["gzip;q=0.000", "identity"],
  ["gzip;q=0.", "identity"],
  ["gzip;q=1.", "gzip"],
  ["br;q=1.000, gzip", "br"],
  // `*` covers every coding not listed, identity included.
  ["*", "br"],
  ["*;q=0", "identity"],
  ["*;q=0, gzip", "gzip"],
  ["*;q=0.1, br;q=0", "zstd"],
  ["gzip;q=0.5, *", "br"],
  ["gzip;q=0.5, *;q=0.8", "br"],
  ["br;q=0, zstd;q=0, gzip;q=0.5, *;q=0.8", "identity"],
  // Identity wins only when listed with a strictly higher quality.
  ["identity", "identity"],
  ["identity;q=0", "identity"],
  ["identity;q=0, *;q=0", "identity"],
  ["identity;q=0.5", "identity"],
  ["gzip;q=0.5, identity;q=1", "identity"],
  ["gzip;q=0.5, identity;q=0.5", "gzip"],
  ["identity, gzip", "gzip"],
  ["gzip;q=0.5", "gzip"],
  // Case-insensitive tokens and parameter names.
  ["GZIP", "gzip"],
  ["Br", "br"],
  ["ZSTD;Q=0.5", "zstd"],
  ["gzip;Q=0.5", "gzip"],
  ["br;Q=0, gzip", "gzip"],
  ["IDENTITY;q=1, gzip;q=0.5", "identity"],
  // x-gzip is gzip (RFC 9110 §8.4.1.3).
  ["x-gzip", "gzip"],
  ["X-GZIP;q=0.5, br;q=0.4", "gzip"],
  // A coding listed twice counts at its highest quality.
  ["gzip;q=0, x-gzip", "gzip"],
  ["br;q=0.1, gzip;q=0.5, br;q=0.9", "br"],
  ["gzip, gzip;q=0", "gzip"],
  // Whitespace around everything, spaces or tabs.
  ["  gzip  ;  q=0.8 ", "gzip"],
  ["\tgzip\t;\tq=0.5\t,\tbr\t;\tq=0.4\t", "gzip"],
  [" br;q=0.4 ,gzip ; q=0.5", "gzip"],
  // Empty list elements and parameters are skipped.
  ["gzip,,br", "br"],
  [",gzip,", "gzip"],
  [", ,\t,", "identity"],
  ["gzip;;q=0.5", "gzip"],
  ["br;;q=0, gzip;q=0.1", "gzip"],
  // Unknown parameters are ignored; the member still counts.
  ["br;level=5", "br"],
  ["br;level=5;q=0, gzip", "gzip"],
  ["br;foo, gzip;q=0.5", "br"],
  // Malformed qvalues (RFC 9110 §12.4.2): the member is skipped, not clamped.
  ["gzip;q=2", "identity"],
  ["gzip;q=0.5.5", "identity"],
  ["gzip;q=abc", "identity"],
  ["gzip;q=0.1234", "identity"],
  ["gzip;q=-1", "identity"],
  ["gzip;q=", "identity"],
  ["gzip;q", "identity"],
  ['gzip;q="0.5"', "identity"],
  ["gzip;q=1.5", "identity"],
  ["gzip;q=1.001", "identity"],
  ["gzip;q=.5", "identity"],
  ["br;q=2, gzip;q=0.5", "gzip"],
  ["br;q, gzip;q=0.5", "gzip"],
  ["br;q=0.5;q=1, gzip;q=0.1", "gzip"], // a repeated q is ambiguous
  ["br;q =0, gzip;q=0.1", "gzip"], // no whitespace around "=" (RFC 9110 §5.6.6)
  // Unknown codings and non-tokens are ignored.
  ["compress, foo", "identity"],
  ["deflate;q=1, gzip;q=0.1", "gzip"],
  ["b r", "identity"],
  ["b r, gzip", "gzip"],
  ["gzip-x, brotli, zst", "identity"],
];

Deno.test("negotiateEncoding() answers a table of Accept-Encoding values", () => {
  for (const [accept, expected] of ALL_OFFERED) {
    assertEquals(negotiateEncoding(accept, CODINGS), expected, JSON.stringify(accept));
  }
});

Deno.test("negotiateEncoding() chooses among the offered codings only", () => {
  const cases: [readonly Coding[], string | null, ContentCoding][] = [
    [["gzip"], "br, gzip;q=0.1", "gzip"],
    [["gzip"], "br", "identity"],
    [["gzip"], "*", "gzip"],
    [["gzip"], "br, gzip;q=0.1, identity;q=0.5", "identity"],
    [["br"], "gzip, deflate", "identity"],
    [["zstd", "gzip"], "gzip, deflate, br, zstd", "zstd"],
    [["br", "gzip"], "br;q=0.5, gzip, identity;q=0.7", "gzip"],
    [[], "gzip, br", "identity"],
    [[], "*", "identity"],
    [[], null, "identity"],
  ];
  for (const [offered, accept, expected] of cases) {
    const label = `${JSON.stringify(offered)} ${JSON.stringify(accept)}`;
    assertEquals(negotiateEncoding(accept, offered), expected, label);
  }
});

Deno.test("negotiateEncoding() breaks ties by CODINGS order, not by the offered order", () => {
  assertEquals(CODINGS, ["br", "zstd", "gzip"]);
  const cases: [readonly Coding[], string, ContentCoding][] = [
    [["gzip", "br"], "br;q=0.5, gzip;q=0.5", "br"],
    [["gzip", "br"], "gzip, br", "br"],
    [["gzip", "zstd", "br"], "*", "br"],
    [["gzip", "zstd"], "gzip, zstd", "zstd"],
  ];
  for (const [offered, accept, expected] of cases) {
    assertEquals(negotiateEncoding(accept, offered), expected, `${offered} ${accept}`);
  }
});

Deno.test("encodingNegotiator() answers like negotiateEncoding() for every row, twice", () => {
  for (const offered of [CODINGS, ["gzip"], ["zstd", "br"], []] as const) {
    const negotiate = encodingNegotiator(offered);
    // The second round is answered from the memo.
    for (let round = 0; round < 2; round++) {
      for (const [accept] of ALL_OFFERED) {
        const label = `${JSON.stringify(offered)} ${JSON.stringify(accept)} round ${round}`;
        assertEquals(negotiate(accept), negotiateEncoding(accept, offered), label);
      }
    }
  }
});

Deno.test("encodingNegotiator() still answers correctly after more than 256 distinct values", () => {
  const negotiate = encodingNegotiator(CODINGS);
  const cases: [string, ContentCoding][] = [];
  for (let gzip = 2; gzip < 700; gzip++) {
    const br = 1000 - gzip;
    const accept = `gzip;q=0.${String(gzip).padStart(3, "0")}, br;q=0.${
      String(br).padStart(3, "0")
    }`;
    cases.push([accept, gzip > br ? "gzip" : "br"]);
  }
  for (let round = 0; round < 3; round++) {
    for (const [accept, expected] of cases) assertEquals(negotiate(accept), expected, accept);
  }
});

Deno.test("encodingNegotiator() answers long values it does not remember", () => {
  const negotiate = encodingNegotiator(CODINGS);
  const accept = `gzip;q=0.5, ${"foo, ".repeat(100)}br`;
  const other = `${"foo, ".repeat(100)}gzip`;
  for (let round = 0; round < 2; round++) {
    assertEquals(negotiate(accept), "br");
    assertEquals(negotiate(other), "gzip");
  }
});

Deno.test("encodingNegotiator() keeps the offered set it was given", () => {
  const offered: Coding[] = ["gzip"];
  const negotiate = encodingNegotiator(offered);
  offered.push("br");
  assertEquals(negotiate("br, gzip;q=0.5"), "gzip");
  assertEquals(negotiate("br"), "identity");
});

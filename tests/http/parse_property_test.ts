/**
 * Property-based tests of the request parser and body decoder (the
 * properties live in `_parse_properties.ts`): random valid requests round-trip,
 * and random or mutated input always ends in a head, a wait for more bytes,
 * or a documented status. Run counts are modest so `deno task test` stays
 * fast; `deno task fuzz` runs the same properties for as long as asked.
 */

import { assertEquals } from "../_deps.ts";
import { bytes } from "./_fake_source.ts";
import { parseOutcome, PARSER_PROPERTIES } from "./_parse_properties.ts";

for (const property of PARSER_PROPERTIES) {
  Deno.test(property.name, async () => {
    const result = await property.run({ numRuns: property.testRuns });
    if (result.failed) throw new Error(result.report ?? "Property failed");
  });
}

// Counterexamples the properties found, kept as fixed cases. The mutation
// property found this one by inserting 0xA0 into a Content-Length value:
// the parser trims list members with String.prototype.trim(), which also
// strips U+00A0, so a value that is not 1*DIGIT (RFC 9110 §8.6) or not a
// token (§10.1.4) is taken as a length or as chunked. RFC 9112 §6.3 makes an
// invalid Content-Length an unrecoverable 400; a proxy in front that reads
// it otherwise would frame the body differently (request smuggling).
const NBSP_FRAMING: ReadonlyArray<{ name: string; field: string }> = [
  { name: "after a Content-Length", field: "Content-Length: 5\xa0" },
  { name: "before a Content-Length", field: "Content-Length: \xa05" },
  { name: "in a Content-Length list", field: "Content-Length: 5,\xa05" },
  { name: "after chunked", field: "Transfer-Encoding: chunked\xa0" },
  { name: "before chunked", field: "Transfer-Encoding: \xa0chunked" },
];

for (const c of NBSP_FRAMING) {
  Deno.test(`parseRequestHead() answers 400 to 0xA0 ${c.name} (found by fuzzing)`, () => {
    const raw = bytes(`POST / HTTP/1.1\r\nHost: a\r\n${c.field}\r\n\r\n`);
    assertEquals(parseOutcome(raw), { kind: "error", status: 400 });
  });
}

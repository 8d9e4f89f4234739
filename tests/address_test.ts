/** Writing an address as a URL's authority. */

import { assertEquals } from "./_deps.ts";
import { authority } from "../lib/address.ts";

const CASES: ReadonlyArray<[hostname: string, port: number, expected: string]> = [
  ["127.0.0.1", 8000, "127.0.0.1:8000"],
  ["0.0.0.0", 0, "0.0.0.0:0"],
  ["::1", 8000, "[::1]:8000"],
  ["::", 443, "[::]:443"],
  ["fe80::1%eth0", 65535, "[fe80::1%eth0]:65535"],
  ["localhost", 80, "localhost:80"],
];

Deno.test("authority() writes host:port, with brackets around IPv6", () => {
  for (const [hostname, port, expected] of CASES) {
    assertEquals(authority({ transport: "tcp", hostname, port }), expected, hostname);
  }
});

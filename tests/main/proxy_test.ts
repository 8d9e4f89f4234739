/**
 * The PROXY protocol and health options on the command line: checked at
 * start-up, and carried through to the serving workers.
 */

import { assertEquals } from "../_deps.ts";
import { RawClient } from "../_helpers.ts";
import { assertUsageError, runMain, withMain } from "./_main.ts";

Deno.test("main.ts refuses a --proxy-protocol or --trust-proxy that is not a list of addresses", async () => {
  assertUsageError(await runMain(["--proxy-protocol", "10.0.0.0/33"]), "--proxy-protocol");
  assertUsageError(await runMain(["--trust-proxy", "proxy.example"]), "--trust-proxy");
  assertUsageError(await runMain(["--health", "healthz"]), "--health must be a path");
});

Deno.test("main.ts with --proxy-protocol logs the client a trusted proxy names", async () => {
  await withMain(["--proxy-protocol", "loopback", "--health", "/healthz"], async (main) => {
    const client = await RawClient.connect(main.port);
    try {
      await client.send(
        "PROXY TCP4 198.51.100.23 127.0.0.1 40000 80\r\n" +
          "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      const response = await client.read();
      assertEquals(response.status, 200);
      assertEquals(new TextDecoder().decode(response.body), "ok\n");
    } finally {
      client.close();
    }
    await main.waitFor(/198\.51\.100\.23 GET \/healthz 200/);
  });
});

/**
 * Forwarding fields through a listening server: believed from trusted
 * proxies only, for the handler's client address, the request's scheme and
 * the access log.
 */

import { parseCidrList } from "../lib/net/cidr.ts";
import { listen } from "../lib/server.ts";
import { assertEquals } from "./_deps.ts";
import { RawClient, recordingLogger } from "./_helpers.ts";

/** A server that answers with the client it was given and the request's URL. */
function echoServer(trusted: string | null, logger = recordingLogger()) {
  return listen({
    hostname: "127.0.0.1",
    port: 0,
    logger,
    trustProxy: trusted === null ? null : parseCidrList(trusted, "--trust-proxy"),
    handler: (request, info) => new Response(`${info.remoteAddr.hostname} ${request.url}`),
  });
}

/** Sends one GET with `fields` and returns the body. */
async function ask(port: number, fields: string): Promise<string> {
  const client = await RawClient.connect(port);
  try {
    await client.send(`GET /p HTTP/1.1\r\nHost: site.test\r\n${fields}Connection: close\r\n\r\n`);
    return new TextDecoder().decode((await client.read()).body);
  } finally {
    client.close();
  }
}

Deno.test("listen() with trustProxy takes the client and the scheme from a trusted proxy's fields", async () => {
  const logger = recordingLogger();
  const server = echoServer("loopback", logger);
  try {
    const port = server.addr.port;
    const cases: [string, string][] = [
      ["", "127.0.0.1 http://site.test/p"],
      ["X-Forwarded-For: 203.0.113.5\r\n", "203.0.113.5 http://site.test/p"],
      [
        "X-Forwarded-For: 198.51.100.1, 203.0.113.5, 127.0.0.2\r\n",
        "203.0.113.5 http://site.test/p",
      ],
      [
        "X-Forwarded-For: 203.0.113.5\r\nX-Forwarded-Proto: https\r\n",
        "203.0.113.5 https://site.test/p",
      ],
      ['Forwarded: for="[2001:db8::9]";proto=https\r\n', "2001:db8::9 https://site.test/p"],
    ];
    for (const [fields, expected] of cases) assertEquals(await ask(port, fields), expected, fields);
  } finally {
    await server.shutdown();
  }
  assertEquals(logger.lines.length, 5);
});

Deno.test("listen() believes no forwarding field from a peer that is not trusted", async () => {
  for (const trusted of [null, "10.0.0.0/8"]) {
    const server = echoServer(trusted);
    try {
      const spoofed = "X-Forwarded-For: 203.0.113.5\r\nX-Forwarded-Proto: https\r\n";
      assertEquals(
        await ask(server.addr.port, spoofed),
        "127.0.0.1 http://site.test/p",
        `${trusted}`,
      );
    } finally {
      await server.shutdown();
    }
  }
});

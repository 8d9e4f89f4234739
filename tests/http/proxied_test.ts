/**
 * The PROXY protocol through a listening server: trusted proxies' headers
 * name the client; a trusted peer without a valid header is closed; an
 * untrusted peer's PROXY line is a bad request; the server serves on after
 * each.
 */

import { listen, type Server } from "../../lib/server.ts";
import { parseCidrList } from "../../lib/net/cidr.ts";
import { assert, assertEquals, assertStringIncludes } from "../_deps.ts";
import { concat, RawClient, recordingLogger } from "../_helpers.ts";

const GET = "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/** A v2 header for TCP over IPv4 from `203.0.113.9:4242` to `127.0.0.1:80`. */
function v2Header(): Uint8Array {
  const signature = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
  const addresses = [203, 0, 113, 9, 127, 0, 0, 1, 0x10, 0x92, 0x00, 0x50];
  return new Uint8Array([...signature, 0x21, 0x11, 0x00, addresses.length, ...addresses]);
}

/** A server that answers with the client address it was given, trusting `proxies`. */
function whoServer(proxies: string, logger = recordingLogger()): Server {
  return listen({
    hostname: "127.0.0.1",
    port: 0,
    logger,
    limits: { headerTimeoutMs: 300 },
    proxyProtocol: parseCidrList(proxies, "--proxy-protocol"),
    handler: (_request, info) =>
      new Response(`${info.remoteAddr.hostname}:${info.remoteAddr.port}`),
  });
}

/** Sends `bytes` on a new connection and reads the answer. */
async function send(server: Server, bytes: string | Uint8Array) {
  const client = await RawClient.connect(server.addr.port);
  try {
    await client.send(bytes);
    const response = await client.read();
    return { status: response.status, body: new TextDecoder().decode(response.body) };
  } finally {
    client.close();
  }
}

/** Sends `bytes` on a new connection and tells whether the server closed it without answering. */
async function closedWithoutAnswer(server: Server, bytes: string | Uint8Array): Promise<boolean> {
  const client = await RawClient.connect(server.addr.port);
  try {
    if (bytes.length > 0) await client.send(bytes);
    return await client.closedByServer(10_000);
  } finally {
    client.close();
  }
}

Deno.test("listen() with proxyProtocol takes the client from a trusted proxy's v1 and v2 headers", async () => {
  const logger = recordingLogger();
  const server = whoServer("127.0.0.1", logger);
  try {
    const v1 = await send(server, `PROXY TCP4 198.51.100.7 127.0.0.1 5555 80\r\n${GET}`);
    assertEquals(v1, { status: 200, body: "198.51.100.7:5555" });
    const v6 = await send(server, `PROXY TCP6 2001:db8::7 ::1 6000 80\r\n${GET}`);
    assertEquals(v6, { status: 200, body: "2001:db8::7:6000" });
    const v2 = await send(server, concat([v2Header(), new TextEncoder().encode(GET)]));
    assertEquals(v2, { status: 200, body: "203.0.113.9:4242" });
    const unknown = await send(server, `PROXY UNKNOWN\r\n${GET}`);
    assertStringIncludes(unknown.body, "127.0.0.1:", "UNKNOWN keeps the socket's own peer");
  } finally {
    await server.shutdown();
  }
  assert(
    logger.lines.some((line) => line.includes("GET /who 200")),
    "the access log has the requests",
  );
});

Deno.test("listen() with proxyProtocol closes a trusted peer's connection without a valid header", async () => {
  const logger = recordingLogger();
  const server = whoServer("127.0.0.1", logger);
  try {
    const cases: [string, string | Uint8Array][] = [
      ["plain HTTP", GET],
      ["wrong signature", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n" + GET],
      ["truncated, then silence", "PROXY TCP4 198.51.100.7 "],
      ["nothing at all", ""],
      ["oversized", "PROXY UNKNOWN " + "x".repeat(200) + "\r\n" + GET],
    ];
    for (const [what, bytes] of cases) {
      assert(await closedWithoutAnswer(server, bytes), what);
      // The server serves on.
      const after = await send(server, `PROXY TCP4 192.0.2.1 127.0.0.1 1 80\r\n${GET}`);
      assertEquals(after.body, "192.0.2.1:1", `after ${what}`);
    }
  } finally {
    await server.shutdown();
  }
  assertEquals(logger.errors.length, 1, "reported once, not once per connection");
  assertStringIncludes(logger.errors[0], "without a valid PROXY header");
});

Deno.test("listen() with proxyProtocol answers 400 to an untrusted peer's PROXY line and serves its HTTP", async () => {
  const server = whoServer("10.0.0.0/8");
  try {
    const refused = await send(server, `PROXY TCP4 198.51.100.7 127.0.0.1 5555 80\r\n${GET}`);
    assertEquals(refused.status, 400);
    const plain = await send(server, GET);
    assertEquals(plain.status, 200);
    assertStringIncludes(plain.body, "127.0.0.1:");
  } finally {
    await server.shutdown();
  }
});

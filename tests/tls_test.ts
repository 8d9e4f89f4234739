/**
 * HTTPS through the same server: certificates from PEM text, ALPN, the
 * handshake deadline, plain HTTP on the TLS port, and a certificate
 * replaced while a download goes on.
 */

import { listen, type Server } from "../lib/server.ts";
import { assert, assertEquals, assertRejects } from "./_deps.ts";
import { ManualClock } from "./_clock.ts";
import { makeCertificates, type TestCertificates } from "./_certs.ts";
import { deadline, READ_TIMEOUT_MS, recordingLogger } from "./_helpers.ts";

const GET = new TextEncoder().encode(
  "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
);

/** Reads a connection to its end (with a deadline per read) as text. */
async function readAll(conn: Deno.Conn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(16 * 1024);
  while (true) {
    const n = await deadline(conn.read(buffer), READ_TIMEOUT_MS, "no answer");
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
  }
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((chunk) => [...chunk])));
}

/** Connects over TLS trusting `ca`, sends one GET and returns the answer and the ALPN result. */
async function httpsGet(port: number, ca: string): Promise<{ text: string; alpn: string | null }> {
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port,
    caCerts: [ca],
    alpnProtocols: ["http/1.1"],
  });
  try {
    const { alpnProtocol } = await deadline(conn.handshake(), READ_TIMEOUT_MS, "no handshake");
    await conn.write(GET);
    return { text: await readAll(conn), alpn: alpnProtocol };
  } finally {
    conn.close();
  }
}

function tlsServer(
  certificates: TestCertificates,
  extra: Partial<Parameters<typeof listen>[0]> = {},
) {
  return listen({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: certificates.cert, key: certificates.key },
    handler: () => new Response("secure hello"),
    ...extra,
  });
}

Deno.test("listen() with tls serves HTTPS with ALPN http/1.1 and counts handshakes", async () => {
  const certificates = await makeCertificates();
  const server = tlsServer(certificates);
  try {
    const { text, alpn } = await httpsGet(server.addr.port, certificates.ca);
    assert(text.startsWith("HTTP/1.1 200 OK\r\n"), text);
    assert(text.endsWith("secure hello"), text);
    assertEquals(alpn, "http/1.1");
    assertEquals(server.handshakes, { ok: 1, failed: 0 });
  } finally {
    await server.shutdown();
  }
});

Deno.test("listen() with tls closes plain HTTP sent to it without an HTTP answer", async () => {
  const certificates = await makeCertificates();
  const logger = recordingLogger();
  const server = tlsServer(certificates, { logger });
  try {
    for (let i = 0; i < 3; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      try {
        await conn.write(GET);
        const answer = await readAll(conn).catch(() => "");
        assert(!answer.includes("HTTP/1.1"), `a TLS alert at most, not HTTP: ${answer}`);
      } finally {
        conn.close();
      }
    }
    // It serves on.
    assert((await httpsGet(server.addr.port, certificates.ca)).text.endsWith("secure hello"));
    assertEquals(server.handshakes.failed, 3);
  } finally {
    await server.shutdown();
  }
  assertEquals(logger.errors.length, 1, "failures are reported once a minute, not per client");
});

Deno.test("listen() with tls closes a client that never finishes its handshake, and serves others meanwhile", async () => {
  const certificates = await makeCertificates();
  const clock = new ManualClock();
  const server = tlsServer(certificates, { clock, limits: { handshakeTimeoutMs: 10_000 } });
  try {
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    try {
      // A slow or silent hello does not hold up anyone else.
      assert((await httpsGet(server.addr.port, certificates.ca)).text.endsWith("secure hello"));
      assertEquals(server.connections, 1, "the silent client is still waited for");
      clock.advance(10_000);
      // Portico gives the connection up at its deadline. (Deno's TLS layer keeps the socket
      // itself until the client sends or leaves: it offers no way to drop a pending handshake.)
      const gaveUp = (async () => {
        while (server.connections > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      })();
      await deadline(gaveUp, READ_TIMEOUT_MS, "the silent client was not given up");
      assertEquals(server.handshakes, { ok: 1, failed: 1 });
    } finally {
      silent.close();
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("Server.setCertificate() serves new connections with the new certificate while a download goes on", async () => {
  const [first, second] = [await makeCertificates(), await makeCertificates({ serial: "0b" })];
  const body = new TransformStream<Uint8Array, Uint8Array>();
  const writer = body.writable.getWriter();
  const server: Server = tlsServer(first, {
    handler: (request) =>
      new URL(request.url).pathname === "/download"
        ? new Response(body.readable)
        : new Response("ok"),
  });
  try {
    const download = await Deno.connectTls({
      hostname: "localhost",
      port: server.addr.port,
      caCerts: [first.ca],
    });
    try {
      await download.write(
        new TextEncoder().encode("GET /download HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
      );
      await writer.write(new TextEncoder().encode("before "));
      await server.setCertificate({ cert: second.cert, key: second.key });
      // New connections get the second certificate: only its CA is trusted now.
      assert((await httpsGet(server.addr.port, second.ca)).text.endsWith("ok"));
      await assertRejects(() => httpsGet(server.addr.port, first.ca));
      await writer.write(new TextEncoder().encode("after"));
      await writer.close();
      const text = await readAll(download);
      assert(
        text.includes("before ") && text.includes("after") && text.endsWith("0\r\n\r\n"),
        text,
      );
    } finally {
      download.close();
    }
    // A key that does not match is refused, and the certificate in place stays.
    await assertRejects(() => server.setCertificate({ cert: second.cert, key: first.key }));
    assert((await httpsGet(server.addr.port, second.ca)).text.endsWith("ok"));
  } finally {
    await server.shutdown();
  }
});

import { ChallengeStore } from "../../lib/acme/challenges.ts";
import { obtainCertificate } from "../../lib/acme/manager.ts";
import { assert, assertEquals, assertRejects } from "../_deps.ts";
import { deadline, READ_TIMEOUT_MS } from "../_helpers.ts";
import { findProgram, type Pebble, PEBBLE_PROGRAMS, withPebble } from "./_pebble.ts";

const missing = Object.values(PEBBLE_PROGRAMS).filter((program) => findProgram(program) === null);
const IGNORED = missing.length === 0
  ? ""
  : ` (ignored: ${missing.join(", ")} not installed; apt-get install pebble)`;
if (missing.length > 0) {
  console.log(`pebble_test: ignored, ${missing.join(" and ")} not on PATH (Debian package pebble)`);
}

Deno.test({
  name:
    `obtainCertificate() gets a certificate from pebble that a client trusting its root accepts${IGNORED}`,
  ignore: missing.length > 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "portico_acme_" });
    const challenges = new ChallengeStore();
    const answered: string[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
      const { pathname } = new URL(request.url);
      answered.push(pathname);
      return challenges.answer(pathname) ?? new Response("not found", { status: 404 });
    });
    try {
      await withPebble(dir, server.addr.port, async (pebble) => {
        const lines: string[] = [];
        const options = {
          domains: ["test.example"],
          email: "admin@test.example",
          directoryUrl: pebble.directoryUrl,
          caCertPem: pebble.apiCaPem,
          storageDir: `${dir}/acme`,
          challenges,
        };
        const issued = await obtainCertificate(options, (line) => lines.push(line)).catch(
          (error) => {
            throw new Error(`${error}\n${lines.join("\n")}\n${pebble.output()}`);
          },
        );
        assertEquals(issued.source, "issued");
        assertEquals(issued.domains, ["test.example"]);
        assert(issued.notAfter.getTime() > Date.now(), "the certificate is valid");
        assertEquals(lines[0], "acme: account registered");
        assertEquals(lines[1], "acme: order created for test.example");
        assertEquals(lines[2], "acme: challenge for test.example answered");
        assert(lines[3].startsWith("acme: certificate issued, valid until "), lines[3]);
        assert(
          answered.some((path) => path.startsWith("/.well-known/acme-challenge/")),
          "pebble fetched the token",
        );
        assertEquals(challenges.size, 0, "the token is withdrawn");

        const root = await issuingRoot(pebble);
        assertEquals(await tlsHandshake(issued.certPem, issued.keyPem, root), "hello");
        await assertRejects(() => tlsHandshake(issued.certPem, issued.keyPem, pebble.apiCaPem));

        const again = await obtainCertificate(options, (line) => lines.push(line));
        assertEquals([again.source, again.serial], ["stored", issued.serial]);
      });
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** pebble's issuing root, from its management API. */
async function issuingRoot(pebble: Pebble): Promise<string> {
  const client = Deno.createHttpClient({ caCerts: [pebble.apiCaPem] });
  try {
    const response = await fetch(`${pebble.managementUrl}/roots/0`, { client });
    assertEquals(response.status, 200);
    return await response.text();
  } finally {
    client.close();
  }
}

/**
 * Serves the certificate with `Deno.listenTls` on port 0 and connects to it
 * as `test.example` (the TCP connection goes to 127.0.0.1; the TLS client
 * checks the name) trusting only `caPem`; returns what the server sent.
 */
async function tlsHandshake(certPem: string, keyPem: string, caPem: string): Promise<string> {
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: certPem, key: keyPem });
  const served = (async () => {
    const conn = await listener.accept();
    try {
      await conn.handshake();
      await conn.write(new TextEncoder().encode("hello"));
    } catch {
      // The client refused the certificate.
    } finally {
      conn.close();
    }
  })();
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const tls = await Deno.startTls(tcp, { hostname: "test.example", caCerts: [caPem] });
  try {
    await deadline(tls.handshake(), READ_TIMEOUT_MS, "no TLS handshake within the deadline");
    const buffer = new Uint8Array(5);
    const read = await deadline(tls.read(buffer), READ_TIMEOUT_MS, "no bytes within the deadline");
    return new TextDecoder().decode(buffer.subarray(0, read ?? 0));
  } finally {
    tls.close();
    await served;
    listener.close();
  }
}

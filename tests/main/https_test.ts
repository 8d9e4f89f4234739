/**
 * HTTPS from the command line: certificate files, the redirect from plain
 * HTTP, HSTS only over HTTPS, a renewed certificate picked up from disk
 * during a download, the wrong protocol on each port, and the refusals.
 */

import { assert, assertEquals, assertStringIncludes, join } from "../_deps.ts";
import { deadline, RawClient, READ_TIMEOUT_MS } from "../_helpers.ts";
import { makeCertificates, type TestCertificates, writeCertificates } from "../_certs.ts";
import { withTempDir } from "../static/_static.ts";
import { checkedLength, DOWNLOAD_BYTES, writeDownload } from "./_download.ts";
import { assertUsageError, MAIN, runMain, serveTaskArgs, startMain } from "./_main.ts";
import { spawnDeno, type Spawned } from "./_process.ts";

const HTTPS_URL = /https:\/\/127\.0\.0\.1:(\d+)\//;

/** Starts main.ts with `args` on 127.0.0.1 and a free port; resolves with its HTTPS port. */
async function withHttpsMain(
  args: string[],
  fn: (port: number, program: Spawned) => Promise<void>,
): Promise<void> {
  const program = spawnDeno([
    ...serveTaskArgs(),
    MAIN,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    ...args,
  ]);
  try {
    const [, port] = await program.waitFor(HTTPS_URL);
    await fn(Number(port), program);
  } finally {
    const stopped = await program.stop();
    assertEquals(stopped.status.code, 0, stopped.stderr);
  }
}

/** An HTTP client that trusts only `ca`. */
function trusting(ca: string): Deno.HttpClient {
  return Deno.createHttpClient({ caCerts: [ca] });
}

/** GET over HTTPS trusting `ca`; the status, a field and the body. */
async function httpsGet(port: number, path: string, ca: string) {
  const client = trusting(ca);
  try {
    const response = await fetch(`https://localhost:${port}${path}`, {
      client,
      redirect: "manual",
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  } finally {
    client.close();
  }
}

Deno.test("main.ts with --cert and --key serves HTTPS, redirects plain HTTP with 308 and sends HSTS over HTTPS only", async () => {
  const certificates = await makeCertificates();
  await withTempDir({ "index.html": "<p>secure</p>\n" }, async (dir) => {
    const files = await writeCertificates(dir, certificates);
    const args = [
      "--root",
      dir,
      "--cert",
      files.cert,
      "--key",
      files.key,
      "--hsts",
      "--redirect-http",
      "0",
    ];
    await withHttpsMain(args, async (port, program) => {
      const page = await httpsGet(port, "/", certificates.ca);
      assertEquals([page.status, page.text], [200, "<p>secure</p>\n"]);
      assertEquals(page.headers.get("strict-transport-security"), "max-age=31536000");
      // The cached file, now from the fast path, carries the field too.
      const again = await httpsGet(port, "/", certificates.ca);
      assertEquals(again.headers.get("strict-transport-security"), "max-age=31536000");

      const [, plainPort] = await program.waitFor(/plain HTTP on port (\d+) redirects to HTTPS/);
      const plain = await fetch(`http://127.0.0.1:${plainPort}/docs/?q=1`, { redirect: "manual" });
      await plain.body?.cancel();
      assertEquals(plain.status, 308);
      assertEquals(plain.headers.get("location"), `https://127.0.0.1:${port}/docs/?q=1`);
      assertEquals(plain.headers.get("strict-transport-security"), null, "never over plain HTTP");
    });
  });
});

Deno.test("main.ts answers a TLS hello on a plain port with 400 and closes plain HTTP on the TLS port", async () => {
  const certificates = await makeCertificates();
  await withTempDir({ "index.html": "x" }, async (dir) => {
    const files = await writeCertificates(dir, certificates);
    await withHttpsMain(["--root", dir, "--cert", files.cert, "--key", files.key], async (port) => {
      const plain = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await plain.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        let answer = "";
        const buffer = new Uint8Array(1024);
        while (true) {
          const n = await deadline(plain.read(buffer), READ_TIMEOUT_MS, "not closed");
          if (n === null) break;
          answer += new TextDecoder().decode(buffer.subarray(0, n));
        }
        assert(!answer.includes("HTTP/"), `a TLS alert at most, then the close: ${answer}`);
      } finally {
        plain.close();
      }
    });
  });
  const main = await startMain(["--quiet"]);
  try {
    const client = await RawClient.connect(main.port);
    try {
      await client.send(
        new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]),
      );
      const response = await client.read();
      assertEquals(response.status, 400);
      assertStringIncludes(new TextDecoder().decode(response.body), "This port speaks plain HTTP");
    } finally {
      client.close();
    }
  } finally {
    await main.stop();
  }
});

Deno.test("main.ts picks up a renewed certificate from disk while a 100 MiB download goes on", async () => {
  const [first, second]: TestCertificates[] = [
    await makeCertificates(),
    await makeCertificates({ serial: "0b" }),
  ];
  await withTempDir({ "index.html": "x" }, async (dir) => {
    const files = await writeCertificates(dir, first);
    await writeDownload(join(dir, "big.bin"));
    await withHttpsMain(
      ["--root", dir, "--cert", files.cert, "--key", files.key],
      async (port, program) => {
        const client = trusting(first.ca);
        try {
          const download = await fetch(`https://localhost:${port}/big.bin`, { client });
          const reader = download.body!.getReader();
          // Write the key first and the chain last, each by rename, as renewal tools do.
          await Deno.writeTextFile(files.key + ".new", second.key);
          await Deno.rename(files.key + ".new", files.key);
          await Deno.writeTextFile(files.cert + ".new", second.cert);
          await Deno.rename(files.cert + ".new", files.cert);
          await program.waitFor(/reloaded the certificate/);
          const fresh = await httpsGet(port, "/", second.ca);
          assertEquals(fresh.status, 200, "a new connection is served with the new certificate");
          assertEquals(await checkedLength(reader), DOWNLOAD_BYTES);
        } finally {
          client.close();
        }
      },
    );
  });
});

Deno.test("main.ts refuses certificate files it cannot use in one line, and warns about an expired one", async () => {
  const [good, other, expired] = [
    await makeCertificates(),
    await makeCertificates(),
    await makeCertificates({ expired: true }),
  ];
  await withTempDir({ "index.html": "x" }, async (dir) => {
    const files = await writeCertificates(dir, good);
    const otherKey = join(dir, "other.key");
    await Deno.writeTextFile(otherKey, other.key);
    assertUsageError(
      await runMain(["--cert", join(dir, "missing.pem"), "--key", files.key]),
      "file not found",
    );
    assertUsageError(
      await runMain(["--cert", files.cert, "--key", otherKey]),
      "is not the key of the certificate",
    );
    assertUsageError(await runMain(["--cert", files.cert]), "--cert needs --key");
    assertUsageError(await runMain(["--hsts"]), "--hsts needs HTTPS");
    const expiredFiles = await writeCertificates(await Deno.makeTempDir({ dir }), expired);
    await withHttpsMain(
      ["--root", dir, "--cert", expiredFiles.cert, "--key", expiredFiles.key],
      async (_port, program) => {
        await program.waitForError(/warning: the certificate expired on /);
      },
    );
  });
});

Deno.test("main.ts refuses HTTPS on a port another server holds, rather than share it", async () => {
  const certificates = await makeCertificates();
  await withTempDir({ "index.html": "x" }, async (dir) => {
    const files = await writeCertificates(dir, certificates);
    await withHttpsMain(["--root", dir, "--cert", files.cert, "--key", files.key], async (port) => {
      const second = await runMain([
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--cert",
        files.cert,
        "--key",
        files.key,
      ]);
      assertUsageError(second, String(port));
    });
  });
});

Deno.test("main.ts refuses a broken new certificate pair in one line and keeps serving the old one", async () => {
  const [first, other] = [await makeCertificates(), await makeCertificates({ serial: "0c" })];
  await withTempDir({ "index.html": "kept" }, async (dir) => {
    const files = await writeCertificates(dir, first);
    await withHttpsMain(
      ["--root", dir, "--cert", files.cert, "--key", files.key],
      async (port, program) => {
        // A new chain whose key never comes: the pair does not match.
        await Deno.writeTextFile(files.cert + ".new", other.cert);
        await Deno.rename(files.cert + ".new", files.cert);
        const [line] = await program.waitForError(/reload refused.*\n/);
        assertStringIncludes(line, "is not the key of the certificate");
        const page = await httpsGet(port, "/", first.ca);
        assertEquals([page.status, page.text], [200, "kept"]);
      },
    );
  });
});

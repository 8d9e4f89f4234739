/**
 * HTTPS for the benchmark: the run's certificate, made with `openssl` in
 * its temporary directory (a CA, and a leaf for 127.0.0.1 and localhost
 * signed by it), and the readiness probe of a server that speaks only TLS:
 * a GET over a connection that verifies the leaf against that CA.
 *
 * OpenSSL 3's `req -x509` marks its certificate CA:TRUE, which rustls
 * refuses as a server's own; so the leaf is signed separately, with
 * `basicConstraints=CA:FALSE`.
 *
 * @module
 */

import { HOST } from "./_http.ts";
import { capture, type Readiness, type TlsFiles } from "./_servers.ts";

/** The key of the CA and of the leaf: ECDSA on P-256, what sites commonly serve today. */
const KEY_ARGS = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"] as const;

/** Days both certificates are valid: a run lasts under an hour. */
const VALID_DAYS = "2";

/** The leaf's extensions: not a CA, a server's key, valid for the address the benchmark uses. */
export const LEAF_EXTENSIONS = [
  "basicConstraints=critical,CA:FALSE",
  "keyUsage=critical,digitalSignature",
  "extendedKeyUsage=serverAuth",
  `subjectAltName=IP:${HOST},DNS:localhost`,
] as const;

/** The openssl command lines, in order, each with the file paths it reads and writes in `dir`. */
function opensslSteps(dir: string): string[][] {
  const days = ["-days", VALID_DAYS];
  return [
    ["req", "-x509", ...KEY_ARGS, "-keyout", `${dir}/ca-key.pem`, "-out", `${dir}/ca.pem`]
      .concat(days, ["-subj", "/CN=portico bench CA"]),
    ["req", "-new", ...KEY_ARGS, "-keyout", `${dir}/key.pem`, "-out", `${dir}/leaf.csr`]
      .concat(["-subj", "/CN=localhost"]),
    ["x509", "-req", "-in", `${dir}/leaf.csr`, "-CA", `${dir}/ca.pem`, "-CAkey"]
      .concat([`${dir}/ca-key.pem`, "-set_serial", "2", "-extfile", `${dir}/leaf.cnf`])
      .concat(days, ["-out", `${dir}/cert.pem`]),
  ];
}

/**
 * Makes the run's certificate with openssl: a CA, then a leaf key and
 * certificate for 127.0.0.1 and localhost signed by it ({@linkcode LEAF_EXTENSIONS}).
 *
 * @param openssl The openssl executable.
 * @param dir An existing directory the files are written to.
 * @returns The paths of the CA certificate, the leaf certificate and the leaf's key.
 * @throws {Error} With openssl's last words when a step fails.
 *
 * @example
 * ```ts
 * const dir = await Deno.makeTempDir();
 * const files = await makeCertificate("openssl", dir);
 * files.cert; // `${dir}/cert.pem`
 * ```
 */
export async function makeCertificate(openssl: string, dir: string): Promise<TlsFiles> {
  await Deno.writeTextFile(`${dir}/leaf.cnf`, `${LEAF_EXTENSIONS.join("\n")}\n`);
  for (const args of opensslSteps(dir)) {
    const { code, stderr } = await capture(openssl, args);
    if (code !== 0) {
      const words = stderr.trim().split("\n").at(-1) || `exit code ${code}`;
      throw new Error(`openssl ${args[0]} failed: ${words}`);
    }
  }
  return { ca: `${dir}/ca.pem`, cert: `${dir}/cert.pem`, key: `${dir}/key.pem` };
}

/** The status code of a response head, or NaN when it is not one. */
function statusOf(head: string): number {
  return Number(/^HTTP\/1\.[01] ([0-9]{3}) /.exec(head)?.[1]);
}

/**
 * Sends one GET with `Connection: close` over TLS, verifying the server's
 * certificate for 127.0.0.1 against `ca`, and reads the response's status,
 * all within `timeoutMs` (the timer closes the connection).
 *
 * @param port The server's port on 127.0.0.1.
 * @param path The URL path.
 * @param ca The CA certificate (PEM text) the server's must be signed by.
 * @param timeoutMs Limit for connecting, the handshake, sending and receiving.
 * @returns The status code.
 * @throws {Error} When the handshake fails or there is no response head in time.
 *
 * @example
 * ```ts
 * const ca = await Deno.readTextFile("/tmp/bench/ca.pem");
 * await getOverTls(8443, "/12b", ca); // 200
 * ```
 */
export async function getOverTls(
  port: number,
  path: string,
  ca: string,
  timeoutMs = 2_000,
): Promise<number> {
  const tcp = await Deno.connect({ hostname: HOST, port, signal: AbortSignal.timeout(timeoutMs) });
  const conn = Deno.startTls(tcp, { hostname: HOST, caCerts: [ca] });
  const tls = await conn.catch((error) => {
    tcp.close();
    throw error;
  });
  const timer = setTimeout(() => tls.close(), timeoutMs);
  try {
    const request = `GET ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nConnection: close\r\n\r\n`;
    await tls.write(new TextEncoder().encode(request));
    const chunk = new Uint8Array(4096);
    let head = "";
    while (!head.includes("\r\n")) {
      const n = await tls.read(chunk);
      if (n === null) throw new Error("connection closed before a response head");
      head += new TextDecoder("latin1").decode(chunk.subarray(0, n));
    }
    const status = statusOf(head);
    if (Number.isNaN(status)) throw new Error(`bad status line: ${head.slice(0, 60)}`);
    return status;
  } finally {
    clearTimeout(timer);
    try {
      tls.close();
    } catch {
      // Closed already by the timer.
    }
  }
}

/**
 * The readiness probe of an HTTPS server: {@linkcode getOverTls} every few
 * milliseconds until one is answered 200.
 *
 * @param ca The CA certificate (PEM text) of the run.
 * @returns A probe for `startServer`.
 *
 * @example
 * ```ts
 * const ready = tlsReadiness(await Deno.readTextFile("/tmp/bench/ca.pem"));
 * await ready(8443, "/12b", 10_000, () => null);
 * ```
 */
export function tlsReadiness(ca: string): Readiness {
  return async (port, path, limitMs, stopped) => {
    const deadline = performance.now() + limitMs;
    let last = "no attempt";
    for (; performance.now() < deadline && stopped() === null; await pause(2)) {
      const outcome = await getOverTls(port, path, ca, 1_000).then(
        (status) => status === 200 ? null : `answered ${status}`,
        (error) => error instanceof Error ? error.message : String(error),
      );
      if (outcome === null) return;
      last = outcome;
    }
    throw new Error(
      stopped() ?? `not serving ${path} over TLS after ${limitMs / 1000} s (${last})`,
    );
  };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

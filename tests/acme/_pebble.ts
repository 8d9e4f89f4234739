/**
 * Runs pebble (a test ACME server) and pebble-challtestsrv (its mock DNS,
 * answering 127.0.0.1 for every name) as child processes for the ACME
 * tests, on ports the OS hands out, with a test CA made here for pebble's
 * HTTPS API.
 *
 * @module
 */

import { join, loadX509 } from "../../lib/deps.ts";
import { encodePem } from "../../lib/acme/pem.ts";
import { exportPrivateKeyPem, generateEcKeyPair } from "../../lib/acme/jws.ts";

/** The programs the Debian package `pebble` installs. */
export const PEBBLE_PROGRAMS = { pebble: "pebble", dns: "pebble-challtestsrv" } as const;

/** The file, in the folder given to {@linkcode withPebble}, holding the CA of pebble's HTTPS. */
const API_CA_FILE = "api.ca.pem";

/** How long pebble and the mock DNS get to start. */
const START_LIMIT_MS = 20_000;

/** A running pebble. */
export interface Pebble {
  /** The ACME directory URL. */
  readonly directoryUrl: string;
  /** The management API's base URL (`/roots/0` is the issuing root). */
  readonly managementUrl: string;
  /** The CA certificate that signed pebble's HTTPS certificate, PEM. */
  readonly apiCaPem: string;
  /** The same CA as a file, for a program's `--acme-ca-cert`. */
  readonly apiCaFile: string;
  /** What pebble and the DNS printed so far, for failure messages. */
  output(): string;
}

/**
 * The absolute path of a program on PATH, or null.
 *
 * @param name The program.
 * @returns Its path, or null when it is not installed.
 */
export function findProgram(name: string): string | null {
  for (const folder of (Deno.env.get("PATH") ?? "").split(":")) {
    const path = join(folder, name);
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not in this folder.
    }
  }
  return null;
}

/** A port the OS hands out on 127.0.0.1, released for the child to take. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Starts the mock DNS and pebble (validating for real, with its default
 * nonce rejection, without the random validation delay), runs `fn`, then
 * stops both.
 *
 * @param dir A temporary folder for the configuration and certificates.
 * @param httpPort The port pebble connects to for HTTP-01.
 * @param fn The test body.
 * @returns What `fn` returns, once both are stopped.
 */
export async function withPebble<T>(
  dir: string,
  httpPort: number,
  fn: (pebble: Pebble) => Promise<T>,
): Promise<T> {
  const ports = { acme: freePort(), management: freePort(), dns: freePort(), dnsAdmin: freePort() };
  const apiCaPem = await writeApiCertificate(dir);
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${ports.acme}`,
      managementListenAddress: `127.0.0.1:${ports.management}`,
      certificate: join(dir, "api.cert.pem"),
      privateKey: join(dir, "api.key.pem"),
      httpPort,
      tlsPort: freePort(),
      ocspResponderURL: "",
      externalAccountBindingRequired: false,
    },
  };
  await Deno.writeTextFile(join(dir, "pebble.json"), JSON.stringify(config));
  const output: string[] = [];
  const children: Deno.ChildProcess[] = [];
  const client = Deno.createHttpClient({ caCerts: [apiCaPem] });
  try {
    children.push(spawn(PEBBLE_PROGRAMS.dns, dnsArgs(ports.dns, ports.dnsAdmin), {}, output));
    await waitFor(`http://127.0.0.1:${ports.dnsAdmin}/`, undefined, output);
    // Validate for real even when the environment says otherwise; skip only the random delay.
    const env = { PEBBLE_VA_NOSLEEP: "1", PEBBLE_VA_ALWAYS_VALID: "0" };
    const args = ["-config", join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${ports.dns}`];
    children.push(spawn(PEBBLE_PROGRAMS.pebble, args, env, output));
    const directoryUrl = `https://127.0.0.1:${ports.acme}/dir`;
    await waitFor(directoryUrl, client, output);
    const managementUrl = `https://127.0.0.1:${ports.management}`;
    const apiCaFile = join(dir, API_CA_FILE);
    return await fn({
      directoryUrl,
      managementUrl,
      apiCaPem,
      apiCaFile,
      output: () => output.join(""),
    });
  } finally {
    client.close();
    for (const child of children) await stop(child);
  }
}

/**
 * The root that pebble's certificates chain to, from its management API. Pebble makes a new
 * one each time it starts.
 *
 * @param pebble The running pebble.
 * @returns The root certificate, PEM.
 */
export async function issuingRoot(pebble: Pebble): Promise<string> {
  const client = Deno.createHttpClient({ caCerts: [pebble.apiCaPem] });
  try {
    const response = await fetch(`${pebble.managementUrl}/roots/0`, {
      client,
      signal: AbortSignal.timeout(START_LIMIT_MS),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`pebble's /roots/0 answered ${response.status}`);
    }
    return await response.text();
  } finally {
    client.close();
  }
}

function dnsArgs(dnsPort: number, adminPort: number): string[] {
  return [
    "-dns01",
    `127.0.0.1:${dnsPort}`,
    "-management",
    `127.0.0.1:${adminPort}`,
    "-http01",
    "",
    "-https01",
    "",
    "-tlsalpn01",
    "",
    "-defaultIPv4",
    "127.0.0.1",
    // No AAAA answers: the challenge server listens on 127.0.0.1 only.
    "-defaultIPv6",
    "",
  ];
}

function spawn(
  program: string,
  args: string[],
  env: Record<string, string>,
  output: string[],
): Deno.ChildProcess {
  const child = new Deno.Command(program, { args, env, stdout: "piped", stderr: "piped" }).spawn();
  for (const stream of [child.stdout, child.stderr]) {
    stream.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (text) => void output.push(text) }),
    ).catch(() => {});
  }
  return child;
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // Already exited.
  }
  await child.status;
}

/** Polls a URL until it answers at all, with a deadline. */
async function waitFor(
  url: string,
  client: Deno.HttpClient | undefined,
  output: readonly string[],
): Promise<void> {
  const giveUpAt = performance.now() + START_LIMIT_MS;
  while (true) {
    try {
      const response = await fetch(url, { client, signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      return;
    } catch (error) {
      if (performance.now() > giveUpAt) {
        throw new Error(
          `${url} did not answer within ${START_LIMIT_MS} ms: ${error}\n${output.join("")}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * Writes a CA ({@linkcode API_CA_FILE}) and, signed by it, pebble's HTTPS certificate for 127.0.0.1;
 * returns the CA.
 */
async function writeApiCertificate(dir: string): Promise<string> {
  const x509 = await loadX509();
  const signing = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const [caKeys, apiKeys] = [await generateEcKeyPair(), await generateEcKeyPair()];
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=Portico test CA",
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: signing,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const api = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: "CN=127.0.0.1",
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: apiKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: signing,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: "ip", value: "127.0.0.1" },
        { type: "dns", value: "localhost" },
      ]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const caPem = encodePem("CERTIFICATE", new Uint8Array(ca.rawData));
  await Deno.writeTextFile(join(dir, API_CA_FILE), caPem);
  await Deno.writeTextFile(
    join(dir, "api.cert.pem"),
    encodePem("CERTIFICATE", new Uint8Array(api.rawData)),
  );
  await Deno.writeTextFile(join(dir, "api.key.pem"), await exportPrivateKeyPem(apiKeys.privateKey));
  return caPem;
}

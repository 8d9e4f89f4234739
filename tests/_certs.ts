/**
 * Test certificates made in memory with `@peculiar/x509`: a CA and a leaf
 * for `localhost` and 127.0.0.1 signed by it, valid for a day (or expired),
 * so no key material is committed.
 *
 * @module
 */

import { exportPrivateKeyPem, generateEcKeyPair } from "../lib/acme/jws.ts";
import { encodePem } from "../lib/acme/pem.ts";
import { loadX509 } from "../lib/deps.ts";
import { join } from "./_deps.ts";

/** A CA, and a certificate with its key signed by it. */
export interface TestCertificates {
  /** The CA's certificate (PEM), for clients to trust. */
  readonly ca: string;
  /** The leaf certificate (PEM). */
  readonly cert: string;
  /** The leaf's private key (PKCS#8 PEM). */
  readonly key: string;
  /** The leaf's serial number (hex). */
  readonly serial: string;
}

const SIGNING = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const DAY_MS = 86_400_000;

/**
 * Makes a CA and a leaf certificate for `localhost` and 127.0.0.1.
 *
 * @param options `expired`: a leaf whose validity ended a day ago; `serial`: the leaf's serial (hex).
 * @returns The PEM texts.
 */
export async function makeCertificates(
  options: { expired?: boolean; serial?: string } = {},
): Promise<TestCertificates> {
  const x509 = await loadX509();
  const [caKeys, leafKeys] = [await generateEcKeyPair(), await generateEcKeyPair()];
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=Portico test CA",
    notBefore: new Date(now - DAY_MS * 3),
    notAfter: new Date(now + DAY_MS),
    keys: caKeys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const serial = options.serial ?? "0a";
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: "CN=localhost",
    issuer: ca.subject,
    notBefore: new Date(now - DAY_MS * 2),
    notAfter: new Date(options.expired ? now - DAY_MS : now + DAY_MS),
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.SubjectAlternativeNameExtension([
        { type: "dns", value: "localhost" },
        { type: "ip", value: "127.0.0.1" },
      ]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  return {
    ca: encodePem("CERTIFICATE", new Uint8Array(ca.rawData)),
    cert: encodePem("CERTIFICATE", new Uint8Array(leaf.rawData)),
    key: await exportPrivateKeyPem(leafKeys.privateKey),
    serial,
  };
}

/**
 * Writes a certificate and its key as `cert.pem` and `key.pem` in `dir`.
 *
 * @returns The two paths.
 */
export async function writeCertificates(
  dir: string,
  certificates: TestCertificates,
): Promise<{ cert: string; key: string }> {
  const paths = { cert: join(dir, "cert.pem"), key: join(dir, "key.pem") };
  await Deno.writeTextFile(paths.cert, certificates.cert);
  await Deno.writeTextFile(paths.key, certificates.key);
  return paths;
}

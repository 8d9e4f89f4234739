/**
 * The certificate side of ACME: a certificate signing request (PKCS#10) for
 * a set of domains, and what the client reads from the issued chain (validity
 * and serial for renewal and logs; whether a stored key belongs to it).
 * X.509 work goes through `@peculiar/x509`; keys are WebCrypto's.
 *
 * @module
 */

import { loadX509 } from "../deps.ts";
import { decodePem } from "./pem.ts";
import { EC_P256, importEcKeyPairPem } from "./jws.ts";

/** What the client reads from an issued certificate (the first of its chain). */
export interface CertificateInfo {
  /** The start of validity. */
  readonly notBefore: Date;
  /** The end of validity. */
  readonly notAfter: Date;
  /** The serial number, hexadecimal. */
  readonly serial: string;
  /** The DNS names of the subject alternative name extension. */
  readonly domains: readonly string[];
}

/** The CSR signature: ECDSA with SHA-256, matching the P-256 certificate key. */
const CSR_SIGNING = { ...EC_P256, hash: "SHA-256" } as const;

/**
 * Makes a certificate signing request (RFC 2986) for the domains, the first
 * as common name and all as DNS subject alternative names (RFC 8555 §7.4).
 *
 * @param domains The domains, at least one.
 * @param keys The certificate's key pair (ECDSA P-256).
 * @returns The CSR in DER.
 *
 * @example
 * ```ts
 * const der = await createCsr(["a.example"], await generateEcKeyPair());
 * ```
 */
export async function createCsr(
  domains: readonly string[],
  keys: CryptoKeyPair,
): Promise<Uint8Array<ArrayBuffer>> {
  if (domains.length === 0) throw new RangeError("A certificate request needs a domain");
  const x509 = await loadX509();
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [domains[0]] }],
    keys,
    signingAlgorithm: CSR_SIGNING,
    extensions: [
      new x509.SubjectAlternativeNameExtension(
        domains.map((value) => ({ type: "dns" as const, value })),
      ),
    ],
  });
  return new Uint8Array(request.rawData);
}

/**
 * Reads the first certificate of a PEM chain.
 *
 * @param chainPem The chain, leaf first.
 * @returns Its validity, serial and DNS names.
 * @throws {SyntaxError} When the text holds no certificate.
 *
 * @example
 * ```ts
 * const info = await readCertificate(chainPem);
 * console.log(info.notAfter.toISOString(), info.serial);
 * ```
 */
export async function readCertificate(chainPem: string): Promise<CertificateInfo> {
  const x509 = await loadX509();
  const leaf = new x509.X509Certificate(leafDer(chainPem));
  const names = leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return {
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    serial: leaf.serialNumber.toLowerCase(),
    domains: names.filter((name) => name.type === "dns").map((name) => name.value),
  };
}

/**
 * Whether a PKCS#8 private key is the one the chain's first certificate was
 * issued for (a key and certificate written apart may not be a pair).
 *
 * @param chainPem The chain, leaf first.
 * @param keyPem The private key, PKCS#8 PEM.
 * @returns True when the public keys agree; false when they differ or either cannot be read.
 *
 * @example
 * ```ts
 * if (!await keyMatchesCertificate(chainPem, keyPem)) console.log("not a pair");
 * ```
 */
export async function keyMatchesCertificate(chainPem: string, keyPem: string): Promise<boolean> {
  try {
    const x509 = await loadX509();
    const leaf = new x509.X509Certificate(leafDer(chainPem));
    const certified = await leaf.publicKey.export(EC_P256, ["verify"]);
    const { publicKey } = await importEcKeyPairPem(keyPem);
    const [a, b] = await Promise.all([certified, publicKey].map((key) => spki(key)));
    return a === b;
  } catch {
    return false;
  }
}

async function spki(key: CryptoKey): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.exportKey("spki", key));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function leafDer(chainPem: string): Uint8Array<ArrayBuffer> {
  const leaf = decodePem(chainPem).find((block) => block.label === "CERTIFICATE");
  if (leaf === undefined) throw new SyntaxError("No CERTIFICATE block in the chain");
  return leaf.der;
}

import { createCsr, keyMatchesCertificate, readCertificate } from "../../lib/acme/certificate.ts";
import { exportPrivateKeyPem, generateEcKeyPair } from "../../lib/acme/jws.ts";
import { encodePem } from "../../lib/acme/pem.ts";
import { loadX509 } from "../../lib/deps.ts";
import { assert, assertEquals } from "../_deps.ts";

const SIGNING = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

async function selfSigned(keys: CryptoKeyPair, domains: string[]): Promise<string> {
  const x509 = await loadX509();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "0a1b",
    name: `CN=${domains[0]}`,
    notBefore: new Date(Date.UTC(2030, 0, 1)),
    notAfter: new Date(Date.UTC(2030, 3, 1)),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.SubjectAlternativeNameExtension(
        domains.map((value) => ({ type: "dns" as const, value })),
      ),
    ],
  });
  return encodePem("CERTIFICATE", new Uint8Array(certificate.rawData));
}

Deno.test("createCsr() names every domain as a DNS SAN and is signed by the certificate key", async () => {
  const x509 = await loadX509();
  const keys = await generateEcKeyPair();
  const der = await createCsr(["a.example", "b.example"], keys);
  const csr = new x509.Pkcs10CertificateRequest(der);
  assert(await csr.verify(), "the signature verifies");
  assertEquals(csr.subject, "CN=a.example");
  const san = csr.extensions.find((extension) =>
    extension instanceof x509.SubjectAlternativeNameExtension
  );
  assert(san instanceof x509.SubjectAlternativeNameExtension, "a SAN extension");
  assertEquals(san.names.items.map((name) => [name.type, name.value]), [
    ["dns", "a.example"],
    ["dns", "b.example"],
  ]);
});

Deno.test("readCertificate() reads validity, serial and DNS names of the chain's first certificate", async () => {
  const leaf = await selfSigned(await generateEcKeyPair(), ["a.example", "www.a.example"]);
  const other = await selfSigned(await generateEcKeyPair(), ["ca.example"]);
  const info = await readCertificate(leaf + other);
  assertEquals(info, {
    notBefore: new Date(Date.UTC(2030, 0, 1)),
    notAfter: new Date(Date.UTC(2030, 3, 1)),
    serial: "0a1b",
    domains: ["a.example", "www.a.example"],
  });
});

Deno.test("keyMatchesCertificate() tells the certificate's key from another", async () => {
  const keys = await generateEcKeyPair();
  const chain = await selfSigned(keys, ["a.example"]);
  const otherKey = (await generateEcKeyPair()).privateKey;
  assertEquals(
    await keyMatchesCertificate(chain, await exportPrivateKeyPem(keys.privateKey)),
    true,
  );
  assertEquals(await keyMatchesCertificate(chain, await exportPrivateKeyPem(otherKey)), false);
  assertEquals(await keyMatchesCertificate("not pem", "not pem"), false);
});

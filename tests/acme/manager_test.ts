import { ChallengeStore } from "../../lib/acme/challenges.ts";
import { exportPrivateKeyPem, generateEcKeyPair } from "../../lib/acme/jws.ts";
import { obtainCertificate } from "../../lib/acme/manager.ts";
import { encodePem } from "../../lib/acme/pem.ts";
import { writeCertificatePair } from "../../lib/acme/storage.ts";
import { loadX509 } from "../../lib/deps.ts";
import { assertEquals, assertRejects } from "../_deps.ts";

const DAY = 86_400_000;
const START = Date.UTC(2030, 0, 1);

async function certificate(keys: CryptoKeyPair): Promise<string> {
  const x509 = await loadX509();
  const made = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "07",
    name: "CN=a.example",
    notBefore: new Date(START),
    notAfter: new Date(START + 90 * DAY),
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
  });
  return encodePem("CERTIFICATE", new Uint8Array(made.rawData));
}

/** Runs obtainCertificate() at `now` against a stored pair, with a fetch that records calls and fails. */
async function obtainWithStored(now: number, matchingKey: boolean) {
  const dir = await Deno.makeTempDir({ prefix: "portico_acme_manager_" });
  const keys = await generateEcKeyPair();
  const keyPem = await exportPrivateKeyPem(
    matchingKey ? keys.privateKey : (await generateEcKeyPair()).privateKey,
  );
  await writeCertificatePair(dir, ["a.example"], { certPem: await certificate(keys), keyPem });
  const fetched: string[] = [];
  const lines: string[] = [];
  const options = {
    domains: ["a.example"],
    directoryUrl: "https://ca.test/dir",
    storageDir: dir,
    challenges: new ChallengeStore(),
    now: () => now,
    fetch: (url: string) => {
      fetched.push(url);
      return Promise.reject(new TypeError("offline"));
    },
  };
  try {
    const result = await obtainCertificate(options, (line) => lines.push(line)).catch((e) => e);
    return { result, fetched, lines };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("obtainCertificate() returns a stored certificate before its renewal time without a request", async () => {
  const { result, fetched, lines } = await obtainWithStored(START + 10 * DAY, true);
  assertEquals([result.source, result.serial, fetched], ["stored", "07", []]);
  assertEquals(lines, [
    "acme: stored certificate for a.example valid until 2030-04-01T00:00:00.000Z",
  ]);
});

Deno.test("obtainCertificate() orders anew once the stored certificate is due", async () => {
  const { result, fetched } = await obtainWithStored(START + 61 * DAY, true);
  assertEquals([result instanceof TypeError, fetched], [true, ["https://ca.test/dir"]]);
});

Deno.test("obtainCertificate() orders anew when the stored key is not the certificate's", async () => {
  const { fetched } = await obtainWithStored(START + 10 * DAY, false);
  assertEquals(fetched, ["https://ca.test/dir"]);
});

Deno.test("obtainCertificate() stores a new account key 0600 before the first request", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portico_acme_manager_" });
  try {
    const options = {
      domains: ["a.example"],
      directoryUrl: "https://ca.test/dir",
      storageDir: `${dir}/acme`,
      challenges: new ChallengeStore(),
      fetch: () => Promise.reject(new TypeError("offline")),
    };
    await assertRejects(() => obtainCertificate(options, () => {}), TypeError, "offline");
    const stat = await Deno.stat(`${dir}/acme/account.key.pem`);
    if (Deno.build.os !== "windows") assertEquals(stat.mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

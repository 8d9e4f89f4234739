/**
 * Obtaining a certificate for a set of domains from start to end: the stored
 * one while it is valid and not yet due for renewal, otherwise an account
 * (created or found), an order, the HTTP-01 challenges answered through a
 * {@linkcode ChallengeStore}, finalization with a new key and the download,
 * stored before it is returned. One log line per step.
 *
 * @module
 */

import { AcmeClient, type AcmeClientLimits, type FetchFunction } from "./client.ts";
import type { AcmeOrder } from "./client.ts";
import { createCsr, keyMatchesCertificate, readCertificate } from "./certificate.ts";
import type { CertificateInfo } from "./certificate.ts";
import type { ChallengeStore } from "./challenges.ts";
import { exportPrivateKeyPem, generateEcKeyPair, importEcKeyPairPem } from "./jws.ts";
import { AcmeError } from "./problem.ts";
import { renewalDue } from "./renewal.ts";
import {
  type CertificatePair,
  readAccountKey,
  readCertificatePair,
  writeAccountKey,
  writeCertificatePair,
} from "./storage.ts";

/** Let's Encrypt's production directory, the default. */
export const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";
/** Let's Encrypt's staging directory, for trials (its certificates are not trusted). */
export const LETS_ENCRYPT_STAGING_DIRECTORY =
  "https://acme-staging-v02.api.letsencrypt.org/directory";

/** What {@linkcode obtainCertificate} needs. */
export interface ObtainOptions {
  /** The domains of the certificate, the first its common name. */
  readonly domains: readonly string[];
  /** The account's contact address (`--acme-email`). */
  readonly email?: string;
  /** The directory URL (`--acme-directory`); Let's Encrypt production by default. */
  readonly directoryUrl?: string;
  /** A PEM CA certificate to trust for the ACME server (`--acme-ca-cert`). */
  readonly caCertPem?: string;
  /** The storage folder (`--acme-dir`). */
  readonly storageDir: string;
  /** Where the HTTP-01 answers are published for the plain listener. */
  readonly challenges: ChallengeStore;
  /** The `fetch` to call; the global one by default. */
  readonly fetch?: FetchFunction;
  /** Waits between polls; `setTimeout` by default. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The clock, epoch milliseconds; `Date.now` by default. */
  readonly now?: () => number;
  /** The client's retry and polling numbers. */
  readonly limits?: Partial<AcmeClientLimits>;
}

/** A certificate ready for `Deno.listenTls`. */
export interface ObtainedCertificate extends CertificatePair, CertificateInfo {
  /** `stored` when it came from the folder, `issued` when ordered now. */
  readonly source: "stored" | "issued";
}

/**
 * The certificate for the domains: the stored one when it is valid, belongs
 * to its key and is not yet due for renewal (returned at once; call again at
 * `renewalTime()` to renew), otherwise a new one from the ACME server.
 *
 * @param options The domains, the server, the folder and the challenge store.
 * @param log Receives one line per step, such as `acme: account registered`.
 * @returns The chain, key, validity and serial.
 * @throws {AcmeError} When the server refuses a step; `retryAfterMs` says when to try again.
 *
 * @example
 * ```ts
 * const challenges = new ChallengeStore();
 * const obtained = await obtainCertificate(
 *   { domains: ["a.example"], email: "admin@a.example", storageDir: "/srv/acme", challenges },
 *   console.log,
 * );
 * Deno.listenTls({ port: 443, cert: obtained.certPem, key: obtained.keyPem });
 * ```
 */
export async function obtainCertificate(
  options: ObtainOptions,
  log: (line: string) => void,
): Promise<ObtainedCertificate> {
  const now = options.now ?? Date.now;
  const stored = await loadStoredCertificate(options.storageDir, options.domains);
  if (stored !== null && !renewalDue(stored, now())) {
    log(`acme: stored certificate for ${options.domains.join(", ")} valid until ${iso(stored)}`);
    return stored;
  }
  const client = new AcmeClient({
    directoryUrl: options.directoryUrl ?? LETS_ENCRYPT_DIRECTORY,
    accountKey: await loadOrCreateAccountKey(options.storageDir),
    caCertPem: options.caCertPem,
    fetch: options.fetch,
    sleep: options.sleep,
    now: options.now,
    limits: options.limits,
  });
  try {
    return await issue(client, options, log);
  } finally {
    client.close();
  }
}

/**
 * The stored chain and key for the domains when they can be read, belong
 * together and the chain has not expired; null otherwise. At start-up a
 * caller may serve this at once even when it is due for renewal.
 *
 * @param storageDir The storage folder.
 * @param domains The domains.
 * @param now Epoch milliseconds.
 * @returns The certificate, or null.
 *
 * @example
 * ```ts
 * const stored = await loadStoredCertificate("/srv/acme", ["a.example"]);
 * ```
 */
export async function loadStoredCertificate(
  storageDir: string,
  domains: readonly string[],
  now: number = Date.now(),
): Promise<ObtainedCertificate | null> {
  const pair = await readCertificatePair(storageDir, domains);
  if (pair === null || !await keyMatchesCertificate(pair.certPem, pair.keyPem)) return null;
  const info = await readCertificate(pair.certPem).catch(() => null);
  if (info === null || info.notAfter.getTime() <= now) return null;
  return { ...pair, ...info, source: "stored" };
}

async function loadOrCreateAccountKey(storageDir: string): Promise<CryptoKeyPair> {
  const pem = await readAccountKey(storageDir);
  if (pem !== null) return await importEcKeyPairPem(pem);
  const keys = await generateEcKeyPair();
  await writeAccountKey(storageDir, await exportPrivateKeyPem(keys.privateKey));
  return keys;
}

async function issue(
  client: AcmeClient,
  options: ObtainOptions,
  log: (line: string) => void,
): Promise<ObtainedCertificate> {
  const account = await client.account(options.email);
  log(account.created ? "acme: account registered" : "acme: account found");
  const { url, order } = await client.newOrder(options.domains);
  log(`acme: order created for ${options.domains.join(", ")}`);
  for (const authorization of order.authorizations) {
    await authorize(client, authorization, options.challenges, log);
  }
  await client.pollOrder(url, ["pending"]);
  const keys = await generateEcKeyPair();
  await client.finalize(order.finalize, await createCsr(options.domains, keys));
  const certPem = await client.downloadCertificate(
    certificateUrl(await client.pollOrder(url, ["ready", "processing"])),
  );
  const pair = { certPem, keyPem: await exportPrivateKeyPem(keys.privateKey) };
  await writeCertificatePair(options.storageDir, options.domains, pair);
  const info = await readCertificate(certPem);
  log(`acme: certificate issued, valid until ${iso(info)}, serial ${info.serial}`);
  return { ...pair, ...info, source: "issued" };
}

/** Proves control of one authorization's domain by HTTP-01, unless it is already valid. */
async function authorize(
  client: AcmeClient,
  url: string,
  challenges: ChallengeStore,
  log: (line: string) => void,
): Promise<void> {
  const authorization = await client.authorization(url);
  const domain = authorization.identifier.value;
  if (authorization.status === "valid") return log(`acme: ${domain} already authorized`);
  const challenge = authorization.challenges.find((candidate) => candidate.type === "http-01");
  if (challenge === undefined) {
    throw new AcmeError({ type: "about:blank", detail: `No http-01 challenge for ${domain}` });
  }
  challenges.set(challenge.token, await client.keyAuthorization(challenge.token));
  try {
    await client.respondToChallenge(challenge.url);
    await client.pollAuthorization(url);
  } finally {
    challenges.delete(challenge.token);
  }
  log(`acme: challenge for ${domain} answered`);
}

function certificateUrl(order: AcmeOrder): string {
  if (order.status !== "valid" || order.certificate === undefined) {
    throw new AcmeError({
      type: "about:blank",
      detail: `Order is ${order.status}, no certificate`,
    });
  }
  return order.certificate;
}

function iso(validity: { readonly notAfter: Date }): string {
  return validity.notAfter.toISOString();
}

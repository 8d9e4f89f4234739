/**
 * The main thread's side of HTTPS: read and check the certificate files
 * (the serving workers get PEM text, never the files), the HSTS field, the
 * plain-HTTP listener that redirects to HTTPS and answers ACME challenges,
 * and the ACME certificate's renewal schedule. The workers only ever see a
 * certificate; everything that writes (the ACME storage folder) happens here.
 *
 * @module
 */

import { ACME_CHALLENGE_PREFIX, ChallengeStore } from "./acme/challenges.ts";
import { readCertificate } from "./acme/certificate.ts";
import { obtainCertificate, type ObtainedCertificate } from "./acme/manager.ts";
import { AcmeError } from "./acme/problem.ts";
import { renewalTime, retryDelay } from "./acme/renewal.ts";
import { defaultAcmeDir } from "./acme/storage.ts";
import type { GroupValues } from "./options.ts";
import { UserError } from "./errors.ts";
import { firstLine } from "./log.ts";
import type { Handler } from "./handler.ts";
import { errorResponse } from "./http/error_page.ts";
import type { TlsCertificate } from "./tls.ts";

/** The HTTPS options (`--cert`, `--acme`, `--hsts`, ...). */
export type HttpsOptions = Readonly<GroupValues<"https">>;

/**
 * Checks that the HTTPS options go together.
 *
 * @param https The options.
 * @throws {UserError} For `--cert` without `--key` (or the reverse), both files and `--acme`,
 * or `--hsts`/`--redirect-http` without either.
 */
export function checkHttpsOptions(https: HttpsOptions): void {
  if ((https.cert === null) !== (https.key === null)) {
    throw new UserError(https.cert === null ? "--key needs --cert" : "--cert needs --key");
  }
  if (https.cert !== null && https.acme !== null) {
    throw new UserError("--acme obtains its own certificate: leave out --cert and --key");
  }
  const tls = https.cert !== null || https.acme !== null;
  if (!tls && https.hsts) {
    throw new UserError("--hsts needs HTTPS: pass --cert and --key, or --acme");
  }
  if (!tls && https.redirectHttp !== null) {
    throw new UserError("--redirect-http needs HTTPS: pass --cert and --key, or --acme");
  }
  redirectPort(https);
}

/**
 * The plain-HTTP port `--redirect-http` names, or null.
 *
 * @param https The options.
 * @returns The port.
 * @throws {UserError} For anything but a number from 0 to 65535.
 */
export function redirectPort(https: HttpsOptions): number | null {
  const text = https.redirectHttp;
  if (text === null) return null;
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UserError(`--redirect-http must be a port from 0 to 65535, not "${text}"`);
  }
  return Number(text);
}

/**
 * The `Strict-Transport-Security` value `--hsts` asks for, or null.
 *
 * @param https The options.
 * @returns `max-age=31536000; includeSubDomains`, or null without `--hsts`.
 *
 * @example
 * ```ts
 * hstsValue({ ...options, hsts: true, hstsMaxAge: 600 }); // "max-age=600"
 * ```
 */
export function hstsValue(https: HttpsOptions): string | null {
  if (!https.hsts) return null;
  return [
    `max-age=${https.hstsMaxAge}`,
    ...(https.hstsSubdomains ? ["includeSubDomains"] : []),
    ...(https.hstsPreload ? ["preload"] : []),
  ].join("; ");
}

/** How a failure to read one of the files is told, by the error's class. */
const READ_FAILURES: readonly (readonly [new (...args: never[]) => Error, string])[] = [
  [Deno.errors.NotFound, "file not found"],
  [Deno.errors.IsADirectory, "is a directory, not a file"],
  [Deno.errors.PermissionDenied, "permission denied"],
];

/** Reads a PEM file named by a flag, or says in one line why it cannot. */
async function readPem(path: string, flag: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const known = READ_FAILURES.find(([kind]) => error instanceof kind);
    throw new UserError(`${flag} ${path}: ${known?.[1] ?? "cannot be read"}`);
  }
}

/**
 * Reads a certificate chain and its key and checks that they can serve
 * HTTPS together (a listener is opened with them on a free loopback port
 * and closed at once).
 *
 * @param certPath `--cert`.
 * @param keyPath `--key`.
 * @returns The PEM texts.
 * @throws {UserError} When a file cannot be read, holds no certificate or key, or the key
 * does not belong to the certificate.
 */
export async function readCertificatePair(
  certPath: string,
  keyPath: string,
): Promise<TlsCertificate> {
  const pair = { cert: await readPem(certPath, "--cert"), key: await readPem(keyPath, "--key") };
  try {
    Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...pair }).close();
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    if (/KeyMismatch|not be consistent/i.test(text)) {
      throw new UserError(`--key ${keyPath} is not the key of the certificate in ${certPath}`);
    }
    if (/no certificates/i.test(text)) {
      throw new UserError(`--cert ${certPath} holds no PEM certificate`);
    }
    throw new UserError(
      `--cert ${certPath} and --key ${keyPath} cannot be used: ${firstLine(text)}`,
    );
  }
  return pair;
}

/**
 * Warnings about a certificate's dates: expired, or not valid yet. Serving
 * goes on (a renewed file may be on its way), but browsers will refuse it.
 *
 * @param pair The certificate.
 * @param now The time, epoch milliseconds.
 * @returns One line per problem (none for a certificate valid now).
 */
export async function certificateWarnings(pair: TlsCertificate, now: number): Promise<string[]> {
  const { notBefore, notAfter } = await readCertificate(pair.cert);
  if (notAfter.getTime() <= now) {
    return [`the certificate expired on ${notAfter.toISOString()}; browsers will refuse it`];
  }
  if (notBefore.getTime() > now) {
    return [`the certificate is not valid before ${notBefore.toISOString()}`];
  }
  return [];
}

/**
 * The plain-HTTP listener's handler: ACME HTTP-01 challenges answered, and
 * every other request sent with 308 to the same path and query on HTTPS.
 *
 * @param httpsPort The HTTPS port (left out of the location when 443), asked on each request
 * (it is known only once the workers listen).
 * @param challenges The challenges being answered, or null without ACME.
 * @returns The handler.
 *
 * @example
 * ```ts
 * const handler = redirectHandler(() => 443, null);
 * ```
 */
export function redirectHandler(
  httpsPort: () => number,
  challenges: ChallengeStore | null,
): Handler {
  return (request) => {
    const url = new URL(request.url);
    const answer = challenges?.answer(url.pathname) ?? null;
    if (answer !== null) return answer;
    // A challenge path is never sent to HTTPS: a token not (or no longer) published is missing.
    if (url.pathname.startsWith(ACME_CHALLENGE_PREFIX)) return errorResponse(404);
    const host = request.headers.get("host");
    if (host === null || host === "") {
      return errorResponse(400, "A Host field is needed to redirect to HTTPS");
    }
    // While the first certificate is obtained, the HTTPS port is not open yet.
    if (httpsPort() === 0) {
      return errorResponse(503, "HTTPS is starting", { "retry-after": "5" });
    }
    const name = hostName(host);
    const port = httpsPort() === 443 ? "" : `:${httpsPort()}`;
    const location = `https://${name}${port}${url.pathname}${url.search}`;
    return new Response(null, { status: 308, headers: { location, "cache-control": "no-store" } });
  };
}

/** A Host field without its port (`[::1]:80` → `[::1]`). */
function hostName(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

/** The ACME settings from the options and the environment. */
export interface AcmePlan {
  readonly domains: readonly string[];
  readonly email?: string;
  readonly directoryUrl: string;
  readonly caCertPem?: string;
  readonly storageDir: string;
  readonly challenges: ChallengeStore;
}

/**
 * The ACME settings `--acme` and its companions ask for.
 *
 * @param https The options.
 * @param env Reads `HOME`, `XDG_DATA_HOME`, `APPDATA`.
 * @returns The plan, or null without `--acme`.
 * @throws {UserError} For a domain list with an empty or invalid name, or an unreadable CA file.
 */
export async function acmePlan(
  https: HttpsOptions,
  env: { get(name: string): string | undefined },
): Promise<AcmePlan | null> {
  if (https.acme === null) return null;
  const domains = https.acme.split(",").map((name) => name.trim().toLowerCase());
  for (const domain of domains) {
    if (
      !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/.test(
        domain,
      )
    ) {
      throw new UserError(`--acme needs domain names such as example.com, not "${domain}"`);
    }
  }
  const storageDir = https.acmeDir ?? storageFolder(env);
  return {
    domains,
    email: https.acmeEmail ?? undefined,
    directoryUrl: https.acmeDirectory,
    caCertPem: https.acmeCaCert === null
      ? undefined
      : await readPem(https.acmeCaCert, "--acme-ca-cert"),
    storageDir,
    challenges: new ChallengeStore(),
  };
}

/** The default ACME folder, or a one-line refusal when the environment cannot place it. */
function storageFolder(env: { get(name: string): string | undefined }): string {
  const read = (name: string) => {
    try {
      return env.get(name);
    } catch {
      return undefined; // Not allowed to read it: as if unset.
    }
  };
  try {
    return defaultAcmeDir({
      os: Deno.build.os,
      HOME: read("HOME"),
      XDG_DATA_HOME: read("XDG_DATA_HOME"),
      APPDATA: read("APPDATA"),
    });
  } catch {
    throw new UserError("--acme needs --acme-dir DIR here: the user's data folder is unknown");
  }
}

/**
 * Obtains the ACME certificate (the stored one when it is still good).
 *
 * @param plan The ACME settings.
 * @param log One line per step.
 * @returns The certificate.
 * @throws {UserError} When the CA refuses (one line with its problem).
 */
export async function acmeCertificate(
  plan: AcmePlan,
  log: (line: string) => void,
): Promise<ObtainedCertificate> {
  try {
    return await obtainCertificate(plan, log);
  } catch (error) {
    if (error instanceof AcmeError) throw new UserError(`acme: ${error.message}`, 1);
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new UserError(
        `--acme-dir ${plan.storageDir}: cannot write there (allow it: --allow-write=DIR)`,
      );
    }
    throw error;
  }
}

/**
 * Keeps an ACME certificate renewed: at its renewal time (two thirds of its
 * lifetime, with jitter) it is obtained again and handed on; failures are
 * retried with back-off and the server's Retry-After.
 *
 * @param plan The ACME settings.
 * @param first The certificate served now.
 * @param install Puts a new certificate in place; resolves with why it could not, or null.
 * @param log One line per step.
 * @returns Stops the schedule.
 */
export function renewAcme(
  plan: AcmePlan,
  first: ObtainedCertificate,
  install: (pair: TlsCertificate) => Promise<string | null>,
  log: (line: string) => void,
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  const schedule = (at: number) => {
    // setTimeout holds at most about 24.8 days; a later time is reached in steps.
    const wait = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    timer = setTimeout(() => Date.now() >= at ? renew() : schedule(at), wait);
  };
  const renew = async () => {
    try {
      const next = await obtainCertificate(plan, log);
      const refused = await install({ cert: next.certPem, key: next.keyPem });
      if (refused !== null) throw new Error(refused);
      failures = 0;
      schedule(renewalTime(next, Math.random()));
    } catch (error) {
      failures++;
      const retryAfter = error instanceof AcmeError ? error.retryAfterMs : undefined;
      const delay = retryDelay(failures, retryAfter);
      log(
        `acme: renewal failed (${firstLine(String(error))}); trying again in ${
          Math.round(delay / 1000)
        } s`,
      );
      schedule(Date.now() + delay);
    }
  };
  schedule(renewalTime(first, Math.random()));
  return () => clearTimeout(timer);
}

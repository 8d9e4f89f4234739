/**
 * An ACME client (RFC 8555): the directory, replay nonces, the account, an
 * order and its authorizations, the HTTP-01 challenge, finalization and the
 * certificate download. Every POST is a JWS signed with the account key; the
 * server's problem documents become {@linkcode AcmeError}s, except a bad nonce
 * (sent again with the nonce the error carried) and a short rate limit
 * (waited out). `fetch`, the sleep and the clock are injectable for tests.
 *
 * @module
 */

import {
  encodeBase64Url,
  jwkThumbprint,
  type JwsPayload,
  type JwsSigner,
  publicJwk,
  signJws,
} from "./jws.ts";
import { AcmeError, problemAction, readProblem, retryAfterMs } from "./problem.ts";
import type { Problem } from "./problem.ts";

/** The `fetch` the client calls: the global one, or a fake. */
export type FetchFunction = (
  url: string,
  init: RequestInit & { client?: Deno.HttpClient },
) => Promise<Response>;

/** The directory's URLs (RFC 8555 §7.1.1), those the client uses. */
export interface AcmeDirectory {
  /** Where nonces come from. */
  readonly newNonce: string;
  /** Where accounts are created and found. */
  readonly newAccount: string;
  /** Where orders are placed. */
  readonly newOrder: string;
}

/** An identifier of an order or authorization. */
export interface AcmeIdentifier {
  /** `dns`. */
  readonly type: string;
  /** The domain. */
  readonly value: string;
}

/** An order (RFC 8555 §7.1.3). */
export interface AcmeOrder {
  /** `pending`, `ready`, `processing`, `valid` or `invalid`. */
  readonly status: string;
  /** The domains ordered. */
  readonly identifiers: readonly AcmeIdentifier[];
  /** The authorization URLs, one per identifier. */
  readonly authorizations: readonly string[];
  /** Where the CSR goes. */
  readonly finalize: string;
  /** Where the certificate is, once valid. */
  readonly certificate?: string;
  /** Why the order failed, when invalid. */
  readonly error?: Problem;
}

/** A challenge (RFC 8555 §7.1.5). */
export interface AcmeChallenge {
  /** `http-01`, `dns-01`, `tls-alpn-01`. */
  readonly type: string;
  /** Where to say that the challenge is ready. */
  readonly url: string;
  /** `pending`, `processing`, `valid` or `invalid`. */
  readonly status: string;
  /** The token of HTTP-01 and the others. */
  readonly token: string;
  /** Why validation failed. */
  readonly error?: Problem;
}

/** An authorization (RFC 8555 §7.1.4). */
export interface AcmeAuthorization {
  /** `pending`, `valid`, `invalid`, `deactivated`, `expired` or `revoked`. */
  readonly status: string;
  /** The domain it is for. */
  readonly identifier: AcmeIdentifier;
  /** The ways to prove control. */
  readonly challenges: readonly AcmeChallenge[];
}

/** An order with its URL. */
export interface PlacedOrder {
  /** The order's URL (its `Location`). */
  readonly url: string;
  /** The order. */
  readonly order: AcmeOrder;
}

/** The client's retry and polling numbers. */
export interface AcmeClientLimits {
  /** How often one request is sent again after `badNonce`. */
  readonly badNonceRetries: number;
  /** How often one request is sent again after `rateLimited`. */
  readonly rateLimitRetries: number;
  /** The longest Retry-After waited out in place; a longer one fails with it. */
  readonly longestWaitMs: number;
  /** The poll interval when the server gives no Retry-After. */
  readonly pollIntervalMs: number;
  /** How long an authorization or order is polled before giving up. */
  readonly pollTimeoutMs: number;
}

/** Ten bad nonces in a row, three rate limits of at most 5 min, polls every second for 5 min. */
export const DEFAULT_ACME_LIMITS: AcmeClientLimits = Object.freeze({
  badNonceRetries: 10,
  rateLimitRetries: 3,
  longestWaitMs: 300_000,
  pollIntervalMs: 1000,
  pollTimeoutMs: 300_000,
});

/** Options of {@linkcode AcmeClient}. */
export interface AcmeClientOptions {
  /** The directory URL, such as `https://acme-v02.api.letsencrypt.org/directory`. */
  readonly directoryUrl: string;
  /** The account key pair (ECDSA P-256). */
  readonly accountKey: CryptoKeyPair;
  /** A PEM CA certificate to trust for the server (`--acme-ca-cert`). */
  readonly caCertPem?: string;
  /** The `fetch` to call; the global one by default. */
  readonly fetch?: FetchFunction;
  /** Waits; `setTimeout` by default. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The clock, in epoch milliseconds; `Date.now` by default. */
  readonly now?: () => number;
  /** Retry and polling numbers; {@linkcode DEFAULT_ACME_LIMITS} for those not given. */
  readonly limits?: Partial<AcmeClientLimits>;
}

/** A successful response, read. */
interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

const JOSE = "application/jose+json";

/**
 * Speaks ACME to one server with one account key.
 *
 * @example
 * ```ts
 * const client = new AcmeClient({ directoryUrl, accountKey: await generateEcKeyPair() });
 * try {
 *   await client.account("admin@a.example");
 *   const { url, order } = await client.newOrder(["a.example"]);
 * } finally {
 *   client.close();
 * }
 * ```
 */
export class AcmeClient {
  readonly #options: AcmeClientOptions;
  readonly #limits: AcmeClientLimits;
  readonly #fetch: FetchFunction;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  readonly #httpClient?: Deno.HttpClient;
  #directory?: AcmeDirectory;
  #nonce?: string;
  #accountUrl?: string;

  /** @param options The server, the key, and what to inject. */
  constructor(options: AcmeClientOptions) {
    this.#options = options;
    this.#limits = { ...DEFAULT_ACME_LIMITS, ...options.limits };
    this.#fetch = options.fetch ?? fetch;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#now = options.now ?? Date.now;
    if (options.caCertPem !== undefined) {
      this.#httpClient = Deno.createHttpClient({ caCerts: [options.caCertPem] });
    }
  }

  /** Releases the HTTP client made for the CA certificate. */
  close(): void {
    this.#httpClient?.close();
  }

  /**
   * The directory, fetched once.
   *
   * @returns Its URLs.
   */
  async directory(): Promise<AcmeDirectory> {
    if (this.#directory !== undefined) return this.#directory;
    const reply = await this.#send(this.#options.directoryUrl, { method: "GET" });
    this.#directory = readObject<AcmeDirectory>(reply.text, ["newNonce", "newAccount", "newOrder"]);
    return this.#directory;
  }

  /**
   * A fresh nonce from `newNonce` (RFC 8555 §7.2: HEAD).
   *
   * @returns The nonce.
   */
  async newNonce(): Promise<string> {
    const { newNonce } = await this.directory();
    const reply = await this.#send(newNonce, { method: "HEAD" });
    const nonce = reply.headers.get("replay-nonce");
    if (nonce === null) throw malformed(`no Replay-Nonce from ${newNonce}`);
    return nonce;
  }

  /**
   * Creates the account for the key, or finds the one it has (RFC 8555
   * §7.3), agreeing to the terms of service.
   *
   * @param email The contact address, if any.
   * @returns The account URL, and whether it was created now.
   */
  async account(email?: string): Promise<{ url: string; created: boolean }> {
    const { newAccount } = await this.directory();
    const jwk = await publicJwk(this.#options.accountKey.publicKey);
    const payload = {
      termsOfServiceAgreed: true,
      ...(email === undefined ? {} : { contact: [`mailto:${email}`] }),
    };
    const reply = await this.#post(newAccount, payload, { jwk });
    const url = reply.headers.get("location");
    if (url === null) throw malformed("no Location for the account");
    this.#accountUrl = url;
    return { url, created: reply.status === 201 };
  }

  /**
   * Places an order for the domains (RFC 8555 §7.4).
   *
   * @param domains The domains.
   * @returns The order and its URL.
   */
  async newOrder(domains: readonly string[]): Promise<PlacedOrder> {
    const { newOrder } = await this.directory();
    const identifiers = domains.map((value) => ({ type: "dns", value }));
    const reply = await this.#post(newOrder, { identifiers });
    const url = reply.headers.get("location");
    if (url === null) throw malformed("no Location for the order");
    return { url, order: readOrder(reply.text) };
  }

  /**
   * Fetches an order (POST-as-GET).
   *
   * @param url The order's URL.
   * @returns The order.
   */
  async order(url: string): Promise<AcmeOrder> {
    return readOrder((await this.#post(url, null)).text);
  }

  /**
   * Fetches an authorization (POST-as-GET).
   *
   * @param url The authorization's URL.
   * @returns The authorization.
   */
  async authorization(url: string): Promise<AcmeAuthorization> {
    const reply = await this.#post(url, null);
    return readObject<AcmeAuthorization>(reply.text, ["status", "identifier", "challenges"]);
  }

  /**
   * The key authorization for a token (RFC 8555 §8.1): the token, a dot,
   * and the account key's thumbprint.
   *
   * @param token The challenge's token.
   * @returns What the HTTP-01 resource must hold.
   */
  async keyAuthorization(token: string): Promise<string> {
    const thumbprint = await jwkThumbprint({
      ...await publicJwk(this.#options.accountKey.publicKey),
    });
    return `${token}.${thumbprint}`;
  }

  /**
   * Tells the server a challenge is ready to be validated (RFC 8555 §7.5.1).
   *
   * @param url The challenge's URL.
   */
  async respondToChallenge(url: string): Promise<void> {
    await this.#post(url, {});
  }

  /**
   * Polls an authorization until it is no longer pending or processing.
   *
   * @param url The authorization's URL.
   * @returns The valid authorization.
   * @throws {AcmeError} With the challenge's error when it became invalid.
   */
  async pollAuthorization(url: string): Promise<AcmeAuthorization> {
    const authorization = await this.#poll(
      url,
      ["pending", "processing"],
      (text) => readObject<AcmeAuthorization>(text, ["status", "identifier", "challenges"]),
    );
    if (authorization.status === "valid") return authorization;
    const failed = authorization.challenges.find((challenge) => challenge.error !== undefined);
    throw new AcmeError(
      failed?.error ??
        unexpected(`authorization for ${authorization.identifier.value}`, authorization.status),
    );
  }

  /**
   * Polls an order while its status is one of `waiting`.
   *
   * @param url The order's URL.
   * @param waiting The statuses to wait through.
   * @returns The order in its next status.
   * @throws {AcmeError} With the order's error when it became invalid.
   */
  async pollOrder(url: string, waiting: readonly string[]): Promise<AcmeOrder> {
    const order = await this.#poll(url, waiting, readOrder);
    if (order.status === "invalid") {
      throw new AcmeError(order.error ?? unexpected("order", "invalid"));
    }
    return order;
  }

  /**
   * Sends the CSR (RFC 8555 §7.4).
   *
   * @param finalizeUrl The order's `finalize` URL.
   * @param csrDer The CSR in DER.
   * @returns The order as the server answered.
   */
  async finalize(finalizeUrl: string, csrDer: Uint8Array): Promise<AcmeOrder> {
    return readOrder((await this.#post(finalizeUrl, { csr: encodeBase64Url(csrDer) })).text);
  }

  /**
   * Downloads the certificate chain (RFC 8555 §7.4.2).
   *
   * @param url The order's `certificate` URL.
   * @returns The chain in PEM, leaf first.
   */
  async downloadCertificate(url: string): Promise<string> {
    return (await this.#post(url, null, undefined, "application/pem-certificate-chain")).text;
  }

  async #poll<T extends { readonly status: string }>(
    url: string,
    waiting: readonly string[],
    read: (text: string) => T,
  ): Promise<T> {
    const giveUpAt = this.#now() + this.#limits.pollTimeoutMs;
    while (true) {
      const reply = await this.#post(url, null);
      const value = read(reply.text);
      if (!waiting.includes(value.status)) return value;
      const wait = retryAfterMs(reply.headers.get("retry-after"), this.#now()) ??
        this.#limits.pollIntervalMs;
      if (this.#now() + wait > giveUpAt) {
        throw new AcmeError(
          unexpected(`${url} after ${this.#limits.pollTimeoutMs} ms`, value.status),
        );
      }
      await this.#sleep(wait);
    }
  }

  async #post(
    url: string,
    payload: JwsPayload,
    signer?: JwsSigner,
    accept?: string,
  ): Promise<Reply> {
    let badNonces = 0;
    let rateLimits = 0;
    while (true) {
      const nonce = this.#nonce ?? await this.newNonce();
      this.#nonce = undefined;
      const body = await signJws(
        this.#options.accountKey.privateKey,
        signer ?? this.#kid(),
        nonce,
        url,
        payload,
      );
      const headers: Record<string, string> = { "content-type": JOSE };
      if (accept !== undefined) headers.accept = accept;
      const response = await this.#call(url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
      });
      if (response.ok) return await read(response);
      const wait = retryAfterMs(response.headers.get("retry-after"), this.#now());
      const problem = readProblem(response.status, await response.text());
      const action = problemAction(problem.type);
      if (action === "retry" && badNonces++ < this.#limits.badNonceRetries) continue;
      if (
        action === "wait" && this.#mayWait(wait) && rateLimits++ < this.#limits.rateLimitRetries
      ) {
        await this.#sleep(wait);
        continue;
      }
      throw new AcmeError(problem, wait);
    }
  }

  #mayWait(wait: number | undefined): wait is number {
    return wait !== undefined && wait <= this.#limits.longestWaitMs;
  }

  #kid(): JwsSigner {
    if (this.#accountUrl === undefined) {
      throw new Error("No ACME account yet: call account() first");
    }
    return { kid: this.#accountUrl };
  }

  async #send(url: string, init: RequestInit): Promise<Reply> {
    const response = await this.#call(url, init);
    if (!response.ok) throw new AcmeError(readProblem(response.status, await response.text()));
    return await read(response);
  }

  /** Every response may carry a fresh nonce (RFC 8555 §6.5); the next request uses it. */
  async #call(url: string, init: RequestInit): Promise<Response> {
    const response = await this.#fetch(url, { ...init, client: this.#httpClient });
    const nonce = response.headers.get("replay-nonce");
    if (nonce !== null) this.#nonce = nonce;
    return response;
  }
}

async function read(response: Response): Promise<Reply> {
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function readOrder(text: string): AcmeOrder {
  return readObject<AcmeOrder>(text, ["status", "authorizations", "finalize"]);
}

/** Parses a JSON object the server sent and checks that it has the members the client reads. */
function readObject<T>(text: string, members: readonly string[]): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed(`not JSON: ${text.slice(0, 100)}`);
  }
  if (typeof value !== "object" || value === null) throw malformed("not a JSON object");
  const missing = members.filter((member) => !(member in value));
  if (missing.length > 0) throw malformed(`missing ${missing.join(", ")}`);
  return value as T;
}

function malformed(detail: string): AcmeError {
  return new AcmeError({ type: "about:blank", detail: `Malformed ACME response: ${detail}` });
}

function unexpected(what: string, status: string): Problem {
  return { type: "about:blank", detail: `${what} is ${status}` };
}

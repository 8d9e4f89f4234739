/**
 * The signatures ACME requests carry (RFC 8555 §6.2): an account key pair
 * made with WebCrypto (ECDSA P-256, `ES256`), its public JWK and thumbprint
 * (RFC 7638), and JWS in the flattened JSON serialisation (RFC 7515 §7.2.2)
 * whose protected header names the key by `jwk` (new accounts) or by `kid`
 * (the account URL), with the replay nonce and the request URL.
 *
 * @module
 */

import { decodePem, encodePem } from "./pem.ts";

/** The account and certificate key algorithm: ECDSA on P-256, signing with SHA-256. */
export const EC_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
/** The signature parameters for `ES256` (RFC 7518 §3.4). */
const ES256 = { name: "ECDSA", hash: "SHA-256" } as const;

/** A public ECDSA key as a JWK with only the members RFC 7638 hashes. */
export interface EcPublicJwk {
  /** Key type, `EC`. */
  readonly kty: "EC";
  /** Curve, `P-256`. */
  readonly crv: string;
  /** The x coordinate, base64url. */
  readonly x: string;
  /** The y coordinate, base64url. */
  readonly y: string;
}

/** A JWS in the flattened JSON serialisation. */
export interface FlattenedJws {
  /** The protected header, base64url JSON. */
  readonly protected: string;
  /** The payload, base64url JSON, or empty for POST-as-GET. */
  readonly payload: string;
  /** The signature, base64url. */
  readonly signature: string;
}

/** How the protected header names the signing key. */
export type JwsSigner =
  | { readonly jwk: EcPublicJwk }
  | { readonly kid: string };

/** A JSON object payload, or null for POST-as-GET (RFC 8555 §6.3: empty payload). */
export type JwsPayload = Readonly<Record<string, unknown>> | null;

/**
 * RFC 7638 §3.2: the members each key type's thumbprint covers, in
 * lexicographic order.
 */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ["crv", "kty", "x", "y"],
  RSA: ["e", "kty", "n"],
  OKP: ["crv", "kty", "x"],
};

const utf8 = new TextEncoder();

/**
 * Encodes bytes, or a string as UTF-8, in base64url without padding
 * (RFC 7515 §2).
 *
 * @param data The bytes or text.
 * @returns The encoding.
 *
 * @example
 * ```ts
 * encodeBase64Url("{}"); // "e30"
 * ```
 */
export function encodeBase64Url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? utf8.encode(data) : data;
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
}

/**
 * Decodes base64url text, with or without padding.
 *
 * @param text The encoding.
 * @returns The bytes.
 * @throws {SyntaxError} When the text is not base64url.
 *
 * @example
 * ```ts
 * decodeBase64Url("e30"); // Uint8Array [123, 125]
 * ```
 */
export function decodeBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) throw new SyntaxError(`Not base64url: ${text}`);
  const base64 = text.replace(/=+$/, "").replaceAll("-", "+").replaceAll("_", "/");
  const binary = atob(base64 + "=".repeat((4 - base64.length % 4) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Makes a new ECDSA P-256 key pair; the private key is extractable so that
 * it can be stored.
 *
 * @returns The key pair.
 *
 * @example
 * ```ts
 * const keys = await generateEcKeyPair();
 * keys.privateKey.algorithm.name; // "ECDSA"
 * ```
 */
export async function generateEcKeyPair(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(EC_P256, true, ["sign", "verify"]);
}

/**
 * Exports a private key as PKCS#8 PEM (`PRIVATE KEY`), the form
 * `Deno.listenTls` and the storage folder take.
 *
 * @param key An extractable private key.
 * @returns The PEM text.
 *
 * @example
 * ```ts
 * const pem = await exportPrivateKeyPem((await generateEcKeyPair()).privateKey);
 * pem.startsWith("-----BEGIN PRIVATE KEY-----"); // true
 * ```
 */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return encodePem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)));
}

/**
 * Imports an ECDSA P-256 key pair from its PKCS#8 PEM private key (the public
 * key is rebuilt from the coordinates the private key carries).
 *
 * @param pem The PEM text with a `PRIVATE KEY` block.
 * @returns The key pair, the private key extractable.
 * @throws {SyntaxError} When the text holds no `PRIVATE KEY` block.
 *
 * @example
 * ```ts
 * const pem = await exportPrivateKeyPem((await generateEcKeyPair()).privateKey);
 * const keys = await importEcKeyPairPem(pem);
 * ```
 */
export async function importEcKeyPairPem(pem: string): Promise<CryptoKeyPair> {
  const block = decodePem(pem).find((candidate) => candidate.label === "PRIVATE KEY");
  if (block === undefined) throw new SyntaxError("No PRIVATE KEY block in the key file");
  const privateKey = await crypto.subtle.importKey("pkcs8", block.der, EC_P256, true, ["sign"]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = await crypto.subtle.importKey("jwk", { kty, crv, x, y }, EC_P256, true, [
    "verify",
  ]);
  return { privateKey, publicKey };
}

/**
 * The public JWK of an ECDSA key, with only `kty`, `crv`, `x` and `y`.
 *
 * @param key The public key (extractable, as public keys are).
 * @returns The JWK.
 *
 * @example
 * ```ts
 * (await publicJwk((await generateEcKeyPair()).publicKey)).crv; // "P-256"
 * ```
 */
export async function publicJwk(key: CryptoKey): Promise<EcPublicJwk> {
  const { crv, x, y } = await crypto.subtle.exportKey("jwk", key);
  if (crv === undefined || x === undefined || y === undefined) {
    throw new TypeError("Not an elliptic-curve public key");
  }
  return { kty: "EC", crv, x, y };
}

/**
 * The JWK thumbprint (RFC 7638): SHA-256 over the key type's required
 * members in lexicographic order without whitespace, base64url.
 *
 * @param jwk A public JWK (EC, RSA or OKP).
 * @returns The thumbprint.
 * @throws {TypeError} When the key type is unknown or a member is missing.
 *
 * @example
 * ```ts
 * const thumbprint = await jwkThumbprint({ kty: "EC", crv: "P-256", x: "…", y: "…" });
 * ```
 */
export async function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): Promise<string> {
  const members = THUMBPRINT_MEMBERS[String(jwk.kty)];
  if (members === undefined) throw new TypeError(`Unknown JWK key type: ${String(jwk.kty)}`);
  const fields = members.map((name) => {
    if (typeof jwk[name] !== "string") throw new TypeError(`JWK member missing: ${name}`);
    return `${JSON.stringify(name)}:${JSON.stringify(jwk[name])}`;
  });
  const digest = await crypto.subtle.digest("SHA-256", utf8.encode(`{${fields.join(",")}}`));
  return encodeBase64Url(new Uint8Array(digest));
}

/**
 * Signs an ACME request body (RFC 8555 §6.2): protected header with `alg`
 * ES256, the signer (`jwk` or `kid`), `nonce` and `url`.
 *
 * @param privateKey The account's private key.
 * @param signer How the header names the key.
 * @param nonce The replay nonce the server handed out.
 * @param url The URL the request is sent to.
 * @param payload The JSON payload, or null for POST-as-GET.
 * @returns The flattened JWS.
 *
 * @example
 * ```ts
 * const keys = await generateEcKeyPair();
 * const jwk = await publicJwk(keys.publicKey);
 * const jws = await signJws(keys.privateKey, { jwk }, "nonce", "https://ca/acct", {});
 * ```
 */
export async function signJws(
  privateKey: CryptoKey,
  signer: JwsSigner,
  nonce: string,
  url: string,
  payload: JwsPayload,
): Promise<FlattenedJws> {
  const header = { alg: "ES256", ...signer, nonce, url };
  const protectedPart = encodeBase64Url(JSON.stringify(header));
  const payloadPart = payload === null ? "" : encodeBase64Url(JSON.stringify(payload));
  const signingInput = utf8.encode(`${protectedPart}.${payloadPart}`);
  // WebCrypto's ECDSA signature is r || s, the fixed-width form JWS wants (RFC 7518 §3.4).
  const signature = await crypto.subtle.sign(ES256, privateKey, signingInput);
  return {
    protected: protectedPart,
    payload: payloadPart,
    signature: encodeBase64Url(new Uint8Array(signature)),
  };
}

import {
  decodeBase64Url,
  encodeBase64Url,
  exportPrivateKeyPem,
  generateEcKeyPair,
  importEcKeyPairPem,
  jwkThumbprint,
  publicJwk,
  signJws,
} from "../../lib/acme/jws.ts";
import { assert, assertEquals, assertThrows } from "../_deps.ts";

/** RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint. */
const RFC7638_KEY = {
  kty: "RSA",
  n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP" +
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvzq" +
    "Y368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f" +
    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
  e: "AQAB",
  alg: "RS256",
  kid: "2011-04-29",
};

const decoder = new TextDecoder();

Deno.test("jwkThumbprint() matches the RFC 7638 example, ignoring members outside the hash", async () => {
  assertEquals(await jwkThumbprint(RFC7638_KEY), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
});

Deno.test("jwkThumbprint() of an EC key hashes crv, kty, x, y in that order", async () => {
  const jwk = { y: "Y", x: "X", kty: "EC", crv: "P-256" };
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode('{"crv":"P-256","kty":"EC","x":"X","y":"Y"}'),
  );
  assertEquals(await jwkThumbprint(jwk), encodeBase64Url(new Uint8Array(digest)));
});

Deno.test("encodeBase64Url() and decodeBase64Url() use the URL alphabet without padding", () => {
  const bytes = new Uint8Array([0xfb, 0xff, 0xbf, 0x01]);
  assertEquals(encodeBase64Url(bytes), "-_-_AQ");
  assertEquals(decodeBase64Url("-_-_AQ"), bytes);
  assertEquals(encodeBase64Url("{}"), "e30");
  assertThrows(() => decodeBase64Url("a+b/"), SyntaxError);
});

Deno.test("signJws() signs protected.payload with ES256 and names the key by jwk or kid", async () => {
  const keys = await generateEcKeyPair();
  const jwk = await publicJwk(keys.publicKey);
  const url = "https://ca.test/acct";
  for (const signer of [{ jwk }, { kid: "https://ca.test/acct/1" }]) {
    const jws = await signJws(keys.privateKey, signer, "n0nce", url, { hello: "world" });
    const header = JSON.parse(decoder.decode(decodeBase64Url(jws.protected)));
    assertEquals(header, { alg: "ES256", ...signer, nonce: "n0nce", url });
    assertEquals(JSON.parse(decoder.decode(decodeBase64Url(jws.payload))), { hello: "world" });
    const signature = decodeBase64Url(jws.signature);
    assertEquals(signature.length, 64, "r || s, 32 bytes each");
    const input = new TextEncoder().encode(`${jws.protected}.${jws.payload}`);
    const params = { name: "ECDSA", hash: "SHA-256" };
    assert(await crypto.subtle.verify(params, keys.publicKey, signature, input), "verifies");
  }
});

Deno.test("signJws() sends an empty payload for POST-as-GET", async () => {
  const keys = await generateEcKeyPair();
  const jws = await signJws(keys.privateKey, { kid: "k" }, "n", "https://ca.test/x", null);
  assertEquals(jws.payload, "");
});

Deno.test("importEcKeyPairPem() restores the pair exportPrivateKeyPem() wrote", async () => {
  const keys = await generateEcKeyPair();
  const pem = await exportPrivateKeyPem(keys.privateKey);
  assert(pem.startsWith("-----BEGIN PRIVATE KEY-----\n"), pem);
  const restored = await importEcKeyPairPem(pem);
  assertEquals(await publicJwk(restored.publicKey), await publicJwk(keys.publicKey));
});

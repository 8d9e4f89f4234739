/**
 * The HTTP-01 challenge resources (RFC 8555 §8.3) the plain listener serves
 * while an order is being validated: `/.well-known/acme-challenge/<token>`
 * answered with the key authorization.
 *
 * @module
 */

/** The path prefix of HTTP-01 resources. */
export const ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

/** RFC 8555 §8.1: tokens are base64url. */
const TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * The tokens being validated, with their key authorizations.
 *
 * @example
 * ```ts
 * const store = new ChallengeStore();
 * store.set("tok", "tok.thumb");
 * await store.answer("/.well-known/acme-challenge/tok")?.text(); // "tok.thumb"
 * store.answer("/index.html"); // null
 * ```
 */
export class ChallengeStore {
  readonly #answers = new Map<string, string>();

  /**
   * Publishes a token's key authorization.
   *
   * @param token The challenge's token.
   * @param keyAuthorization The token, a dot and the account key's thumbprint.
   */
  set(token: string, keyAuthorization: string): void {
    if (!TOKEN.test(token)) throw new SyntaxError(`Not an ACME token: ${token}`);
    this.#answers.set(token, keyAuthorization);
  }

  /**
   * Withdraws a token once its challenge is decided.
   *
   * @param token The challenge's token.
   */
  delete(token: string): void {
    this.#answers.delete(token);
  }

  /** How many tokens are published. */
  get size(): number {
    return this.#answers.size;
  }

  /**
   * The response for a request path: 200 `text/plain` with the key
   * authorization for a published token, otherwise null (the caller goes on
   * as for any other path).
   *
   * @param pathname The request's path, such as `/.well-known/acme-challenge/abc`.
   * @returns The response, or null.
   */
  answer(pathname: string): Response | null {
    if (!pathname.startsWith(ACME_CHALLENGE_PREFIX)) return null;
    const keyAuthorization = this.#answers.get(pathname.slice(ACME_CHALLENGE_PREFIX.length));
    if (keyAuthorization === undefined) return null;
    return new Response(keyAuthorization, {
      headers: { "content-type": "text/plain", "cache-control": "no-store" },
    });
  }
}

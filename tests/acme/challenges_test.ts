import { ChallengeStore } from "../../lib/acme/challenges.ts";
import { assertEquals, assertThrows } from "../_deps.ts";

Deno.test("ChallengeStore.answer() serves a published token's key authorization as text/plain", async () => {
  const store = new ChallengeStore();
  store.set("tok_en-1", "tok_en-1.thumb");
  const response = store.answer("/.well-known/acme-challenge/tok_en-1");
  assertEquals(response?.status, 200);
  assertEquals(response?.headers.get("content-type"), "text/plain");
  assertEquals(await response?.text(), "tok_en-1.thumb");
});

Deno.test("ChallengeStore.answer() is null for other paths and unknown or withdrawn tokens", () => {
  const store = new ChallengeStore();
  store.set("abc", "abc.thumb");
  for (
    const path of [
      "/",
      "/abc",
      "/.well-known/acme-challenge/",
      "/.well-known/acme-challenge/abd",
      "/.well-known/acme-challenge/abc/",
      "/x/.well-known/acme-challenge/abc",
    ]
  ) {
    assertEquals(store.answer(path), null, path);
  }
  store.delete("abc");
  assertEquals(store.answer("/.well-known/acme-challenge/abc"), null);
  assertEquals(store.size, 0);
});

Deno.test("ChallengeStore.set() refuses a token that is not base64url", () => {
  assertThrows(() => new ChallengeStore().set("../etc", "x"), SyntaxError);
});

import { ChallengeStore } from "../lib/acme/challenges.ts";
import { UserError } from "../lib/errors.ts";
import { checkHttpsOptions, hstsValue, redirectHandler, redirectPort } from "../lib/https.ts";
import { optionDefaults } from "../lib/options.ts";
import { assertEquals, assertThrows } from "./_deps.ts";
import { testInfo } from "./_helpers.ts";

const DEFAULTS = optionDefaults("https");

Deno.test("hstsValue() writes max-age and the chosen directives, or nothing without --hsts", () => {
  assertEquals(hstsValue(DEFAULTS), null);
  assertEquals(hstsValue({ ...DEFAULTS, hsts: true }), "max-age=31536000");
  assertEquals(
    hstsValue({
      ...DEFAULTS,
      hsts: true,
      hstsMaxAge: 600,
      hstsSubdomains: true,
      hstsPreload: true,
    }),
    "max-age=600; includeSubDomains; preload",
  );
});

Deno.test("checkHttpsOptions() refuses options that do not go together, one line each", () => {
  const cases: [Partial<typeof DEFAULTS>, string][] = [
    [{ cert: "c.pem" }, "--cert needs --key"],
    [{ key: "k.pem" }, "--key needs --cert"],
    [{ cert: "c.pem", key: "k.pem", acme: "a.example" }, "--acme obtains its own certificate"],
    [{ hsts: true }, "--hsts needs HTTPS"],
    [{ redirectHttp: "80" }, "--redirect-http needs HTTPS"],
    [{ cert: "c.pem", key: "k.pem", redirectHttp: "http" }, "--redirect-http must be a port"],
  ];
  for (const [options, message] of cases) {
    assertThrows(() => checkHttpsOptions({ ...DEFAULTS, ...options }), UserError, message);
  }
  checkHttpsOptions({ ...DEFAULTS, cert: "c.pem", key: "k.pem", hsts: true, redirectHttp: "80" });
  assertEquals(redirectPort({ ...DEFAULTS, redirectHttp: "8080" }), 8080);
});

Deno.test("redirectHandler() sends every path to HTTPS, answers challenges, and refuses what it cannot redirect", async () => {
  const challenges = new ChallengeStore();
  challenges.set("tok", "tok.thumb");
  let port = 0;
  const handler = redirectHandler(() => port, challenges);
  const ask = async (path: string, host: string | null) => {
    const headers = host === null ? undefined : { host };
    const response = await handler(new Request(`http://x${path}`, { headers }), testInfo(path));
    return { status: response.status, location: response.headers.get("location") };
  };
  assertEquals((await ask("/a", "site.test")).status, 503, "HTTPS is not open yet");
  port = 8443;
  assertEquals(await ask("/a/b?c=1", "site.test:8080"), {
    status: 308,
    location: "https://site.test:8443/a/b?c=1",
  });
  port = 443;
  assertEquals((await ask("/", "[::1]:80")).location, "https://[::1]/");
  assertEquals((await ask("/", "")).status, 400);
  assertEquals((await ask("/.well-known/acme-challenge/tok", "site.test")).status, 200);
  assertEquals((await ask("/.well-known/acme-challenge/other", "site.test")).status, 404);
});

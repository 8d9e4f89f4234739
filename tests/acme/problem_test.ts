import { problemAction, readProblem, retryAfterMs } from "../../lib/acme/problem.ts";
import { assertEquals } from "../_deps.ts";

Deno.test("problemAction() retries badNonce, waits on rateLimited and fails otherwise", () => {
  const actions = ["badNonce", "rateLimited", "unauthorized", "malformed"].map((type) =>
    problemAction(`urn:ietf:params:acme:error:${type}`)
  );
  assertEquals(actions, ["retry", "wait", "fail", "fail"]);
});

Deno.test("readProblem() reads a problem document, and makes one from any other body", () => {
  const body = '{"type":"urn:ietf:params:acme:error:malformed","detail":"bad JWS"}';
  assertEquals(readProblem(400, body), {
    type: "urn:ietf:params:acme:error:malformed",
    detail: "bad JWS",
    status: 400,
  });
  assertEquals(readProblem(502, "<html>\n Bad gateway</html>"), {
    type: "about:blank",
    detail: "HTTP 502 <html> Bad gateway</html>",
    status: 502,
  });
});

Deno.test("retryAfterMs() reads seconds and HTTP dates", () => {
  const now = Date.UTC(2030, 0, 1);
  assertEquals(retryAfterMs("120", now), 120_000);
  assertEquals(retryAfterMs(new Date(now + 30_000).toUTCString(), now), 30_000);
  assertEquals(retryAfterMs(new Date(now - 30_000).toUTCString(), now), 0);
  assertEquals(retryAfterMs(null, now), undefined);
  assertEquals(retryAfterMs("soon", now), undefined);
});

import { AcmeClient, type AcmeClientLimits } from "../../lib/acme/client.ts";
import {
  decodeBase64Url,
  generateEcKeyPair,
  jwkThumbprint,
  publicJwk,
} from "../../lib/acme/jws.ts";
import { AcmeError } from "../../lib/acme/problem.ts";
import { assert, assertEquals, assertRejects } from "../_deps.ts";

const CA = "https://ca.test";
const DIRECTORY = { newNonce: `${CA}/nonce`, newAccount: `${CA}/account`, newOrder: `${CA}/order` };
const ERROR = "urn:ietf:params:acme:error:";

/** A request the fake server saw: the URL and, for POSTs, the decoded JWS parts. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly header?: Record<string, unknown>;
  readonly payload?: string;
}

/** A reply the fake server gives to one POST: status, JSON body, extra headers. */
type Reply = readonly [number, unknown, Record<string, string>?];

/**
 * A fake ACME server: GET of the directory, HEAD of newNonce (numbered
 * nonces), and each POST answered by the next queued reply for its URL.
 */
function fakeServer(replies: Record<string, Reply[]>) {
  const seen: Seen[] = [];
  let nonces = 0;
  const fetch = (url: string, init: RequestInit): Promise<Response> => {
    const method = init.method ?? "GET";
    if (method === "GET" && url === `${CA}/dir`) {
      seen.push({ method, url });
      return Promise.resolve(Response.json(DIRECTORY));
    }
    const nonce = { "replay-nonce": `nonce-${++nonces}` };
    if (method === "HEAD") {
      seen.push({ method, url });
      return Promise.resolve(new Response(null, { headers: nonce }));
    }
    const jws = JSON.parse(String(init.body));
    const decode = (part: string) => new TextDecoder().decode(decodeBase64Url(part));
    seen.push({
      method,
      url,
      header: JSON.parse(decode(jws.protected)),
      payload: decode(jws.payload),
    });
    const [status, body, headers] = replies[url]?.shift() ?? [500, "no reply queued"];
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return Promise.resolve(new Response(text, { status, headers: { ...nonce, ...headers } }));
  };
  return { fetch, seen };
}

async function client(
  fetch: ReturnType<typeof fakeServer>["fetch"],
  slept: number[] = [],
  limits: Partial<AcmeClientLimits> = {},
): Promise<AcmeClient> {
  return new AcmeClient({
    directoryUrl: `${CA}/dir`,
    accountKey: await generateEcKeyPair(),
    fetch,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    now: () => 0,
    limits,
  });
}

const CREATED: Reply = [201, { status: "valid" }, { location: `${CA}/acct/1` }];

function problem(type: string, detail: string) {
  return { type: `${ERROR}${type}`, detail, status: 400 };
}

Deno.test("AcmeClient.account() agrees to the terms with a mailto contact, signed with the jwk", async () => {
  const server = fakeServer({ [DIRECTORY.newAccount]: [CREATED] });
  const acme = await client(server.fetch);
  assertEquals(await acme.account("ann@a.example"), { url: `${CA}/acct/1`, created: true });
  const post = server.seen.find((request) => request.method === "POST");
  assertEquals(JSON.parse(post?.payload ?? ""), {
    termsOfServiceAgreed: true,
    contact: ["mailto:ann@a.example"],
  });
  assert(post?.header?.jwk !== undefined && post.header.kid === undefined, "jwk, not kid");
  assertEquals(post?.header?.url, DIRECTORY.newAccount);
});

Deno.test("AcmeClient sends again after badNonce with the nonce the error response carried", async () => {
  const server = fakeServer({
    [DIRECTORY.newAccount]: [[400, problem("badNonce", "stale")], CREATED],
  });
  await (await client(server.fetch)).account();
  const posts = server.seen.filter((request) => request.method === "POST");
  const heads = server.seen.filter((request) => request.method === "HEAD");
  assertEquals(heads.length, 1, "the error's nonce is used, not a new HEAD");
  assertEquals(posts.map((post) => post.header?.nonce), ["nonce-1", "nonce-2"]);
});

Deno.test("AcmeClient gives up after the configured number of badNonce retries", async () => {
  const bad: Reply = [400, problem("badNonce", "stale")];
  const server = fakeServer({ [DIRECTORY.newAccount]: [bad, bad, bad, CREATED] });
  const acme = await client(server.fetch, [], { badNonceRetries: 2 });
  const error = await assertRejects(() => acme.account(), AcmeError);
  assertEquals((error as AcmeError).type, `${ERROR}badNonce`);
  assertEquals(server.seen.filter((request) => request.method === "POST").length, 3);
});

Deno.test("AcmeClient waits out rateLimited for the Retry-After, then sends again", async () => {
  const limited: Reply = [429, problem("rateLimited", "slow down"), { "retry-after": "7" }];
  const server = fakeServer({ [DIRECTORY.newAccount]: [limited, CREATED] });
  const slept: number[] = [];
  await (await client(server.fetch, slept)).account();
  assertEquals(slept, [7000]);
});

Deno.test("AcmeClient fails at once on rateLimited with a Retry-After beyond the longest wait", async () => {
  const limited: Reply = [429, problem("rateLimited", "too many"), { "retry-after": "3600" }];
  const server = fakeServer({ [DIRECTORY.newAccount]: [limited, CREATED] });
  const slept: number[] = [];
  const acme = await client(server.fetch, slept);
  const error = await assertRejects(() => acme.account(), AcmeError) as AcmeError;
  assertEquals([error.type, error.retryAfterMs, slept], [`${ERROR}rateLimited`, 3_600_000, []]);
});

Deno.test("AcmeClient fails with the problem type and detail on one line", async () => {
  const refused: Reply = [403, problem("unauthorized", "account\nis deactivated")];
  const server = fakeServer({ [DIRECTORY.newAccount]: [refused] });
  const error = await assertRejects(() => client(server.fetch).then((acme) => acme.account()));
  assertEquals(
    error.message,
    "ACME request failed: urn:ietf:params:acme:error:unauthorized: account is deactivated",
  );
});

Deno.test("AcmeClient.pollAuthorization() sleeps for Retry-After while pending", async () => {
  const authz = `${CA}/authz/1`;
  const body = (status: string) => ({
    status,
    identifier: { type: "dns", value: "a.example" },
    challenges: [],
  });
  const server = fakeServer({
    [DIRECTORY.newAccount]: [CREATED],
    [authz]: [[200, body("pending"), { "retry-after": "2" }], [200, body("pending")], [
      200,
      body("valid"),
    ]],
  });
  const slept: number[] = [];
  const acme = await client(server.fetch, slept, { pollIntervalMs: 500 });
  await acme.account();
  assertEquals((await acme.pollAuthorization(authz)).status, "valid");
  assertEquals(slept, [2000, 500]);
  const polls = server.seen.filter((request) => request.url === authz);
  assertEquals(polls.map((post) => [post.header?.kid, post.payload]), [
    [`${CA}/acct/1`, ""],
    [`${CA}/acct/1`, ""],
    [`${CA}/acct/1`, ""],
  ]);
});

Deno.test("AcmeClient.pollAuthorization() fails with the challenge's error when invalid", async () => {
  const authz = `${CA}/authz/1`;
  const failed = {
    status: "invalid",
    identifier: { type: "dns", value: "a.example" },
    challenges: [{
      type: "http-01",
      url: `${CA}/chall/1`,
      status: "invalid",
      token: "t",
      error: problem("connection", "refused"),
    }],
  };
  const server = fakeServer({ [DIRECTORY.newAccount]: [CREATED], [authz]: [[200, failed]] });
  const acme = await client(server.fetch);
  await acme.account();
  const error = await assertRejects(() => acme.pollAuthorization(authz), AcmeError) as AcmeError;
  assertEquals([error.type, error.detail], [`${ERROR}connection`, "refused"]);
});

Deno.test("AcmeClient.keyAuthorization() is the token, a dot and the key's thumbprint", async () => {
  const accountKey = await generateEcKeyPair();
  const acme = new AcmeClient({
    directoryUrl: `${CA}/dir`,
    accountKey,
    fetch: fakeServer({}).fetch,
  });
  const thumbprint = await jwkThumbprint({ ...await publicJwk(accountKey.publicKey) });
  assertEquals(await acme.keyAuthorization("tok"), `tok.${thumbprint}`);
});

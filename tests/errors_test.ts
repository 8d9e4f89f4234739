import { errorToResponse, HttpError, isDisconnect, ParseError, UserError } from "../lib/errors.ts";
import { assert, assertEquals, assertStringIncludes } from "./_deps.ts";

const cases: Array<{
  name: string;
  error: unknown;
  status: number;
  reported: boolean;
  text?: string;
  header?: [string, string];
}> = [
  { name: "an HttpError", error: new HttpError(404), status: 404, reported: false },
  {
    name: "an HttpError with its message",
    error: new HttpError(413, "Request body is larger than the limit"),
    status: 413,
    reported: false,
    text: "Request body is larger than the limit",
  },
  {
    name: "an HttpError with fields",
    error: new HttpError(503, undefined, { "retry-after": "1" }),
    status: 503,
    reported: false,
    header: ["retry-after", "1"],
  },
  {
    name: "a ParseError",
    error: new ParseError(431, "Too many fields"),
    status: 431,
    reported: false,
  },
  { name: "a bodiless status", error: new HttpError(304), status: 304, reported: false },
  { name: "a TypeError", error: new TypeError("/etc/passwd: secret"), status: 500, reported: true },
  { name: "a thrown string", error: "boom", status: 500, reported: true },
  { name: "an HttpError out of range", error: new HttpError(99), status: 500, reported: true },
  {
    name: "an HttpError 500's message",
    error: new HttpError(500, "db at 10.0.0.1"),
    status: 500,
    reported: false,
  },
];

for (const { name, error, status, reported, text, header } of cases) {
  Deno.test(`errorToResponse() answers ${name} with ${status}`, async () => {
    const seen: unknown[] = [];
    const response = errorToResponse(error, (e) => seen.push(e));
    assertEquals(response.status, status);
    assertEquals(seen.length, reported ? 1 : 0);
    if (reported) assertEquals(seen[0], error);
    const body = response.body === null ? "" : await response.text();
    if (status === 304) assertEquals(body, "");
    if (text !== undefined) assertStringIncludes(body, text);
    if (header !== undefined) assertEquals(response.headers.get(header[0]), header[1]);
    // No internal text reaches the client.
    assert(!body.includes("secret") && !body.includes("10.0.0.1") && !body.includes("boom"));
  });
}

Deno.test("UserError carries exit code 2 unless told otherwise", () => {
  assertEquals(new UserError("--port must be a number").exitCode, 2);
  assertEquals(new UserError("cannot start", 1).exitCode, 1);
  assertEquals(new UserError("x").name, "UserError");
});

Deno.test("isDisconnect() tells a peer that left from a fault", () => {
  assert(isDisconnect(new Deno.errors.ConnectionReset("reset")));
  assert(isDisconnect(new Deno.errors.BrokenPipe("pipe")));
  assert(isDisconnect(new Deno.errors.Interrupted("cut")));
  assert(!isDisconnect(new Deno.errors.PermissionDenied("denied")));
  assert(!isDisconnect(new TypeError("bug")));
});

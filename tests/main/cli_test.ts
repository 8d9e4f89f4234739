/**
 * The program started from the command line the way `deno task serve`
 * starts it (same permissions): start-up errors, help and version, a real
 * request, an application, and a clean stop.
 */

import { assertEquals, assertMatch, assertStringIncludes } from "../_deps.ts";
import { HELP_TEXT } from "../../lib/cli.ts";
import { VERSION } from "../../lib/config.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { assertUsageError, MAIN, runMain, withMain } from "./_main.ts";

Deno.test("main.ts exits 2 with one line for a bad flag value", async () => {
  assertUsageError(await runMain(["--port", "abc"]), "--port must be a number");
  assertUsageError(await runMain(["--nope"]), "unknown option --nope");
});

Deno.test("main.ts exits 2 with one line for a root that is missing or not a directory", async () => {
  assertUsageError(await runMain(["--root", "/nonexistent/site"]), "does not exist");
  assertUsageError(await runMain(["--root", MAIN]), "is not a directory");
});

Deno.test("main.ts exits 2 with one line when the port is in use", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = String((taken.addr as Deno.NetAddr).port);
    assertUsageError(
      await runMain(["--host", "127.0.0.1", "--port", port]),
      `port ${port} is already in use`,
    );
  } finally {
    taken.close();
  }
});

Deno.test("main.ts prints help with examples and the version", async () => {
  const help = await runMain(["--help"]);
  assertEquals(help.code, 0);
  assertEquals(help.stdout.trim(), HELP_TEXT.trim());
  assertStringIncludes(help.stdout, "Examples:");
  const version = await runMain(["--version"]);
  assertEquals(version.code, 0);
  assertEquals(version.stdout.trim(), `portico ${VERSION}`);
  assertEquals(VERSION, denoJson.version);
});

Deno.test("main.ts serves, logs each request and exits 0 on SIGTERM", async () => {
  await withMain([], async ({ url, waitFor }) => {
    const response = await fetch(url);
    assertEquals(response.status, 200);
    await response.body?.cancel();
    // The access line is written once the response has been sent.
    assertMatch(await waitFor(/ GET \/ 200 /), /^\S+Z 127\.0\.0\.1 GET \/ 200 \d+ [\d.]+ms$/m);
  });
});

const WWW_INDEX = new URL("../../www/index.html", import.meta.url);
const GUESTBOOK = new URL("../fixtures/apps/guestbook.ts", import.meta.url).pathname;

Deno.test("main.ts --app runs the example application next to the files of --root", async () => {
  const root = new URL("../../www", import.meta.url).pathname;
  await withMain(["--quiet", "--root", root, "--app", GUESTBOOK], async ({ url }) => {
    const index = await fetch(url);
    assertEquals(await index.text(), await Deno.readTextFile(WWW_INDEX));

    const form = new URLSearchParams({ name: "Ada", message: "Hello <there>" });
    const posted = await fetch(`${url}guestbook`, {
      method: "POST",
      body: form,
      redirect: "manual",
    });
    assertEquals([posted.status, posted.headers.get("location")], [303, "/guestbook"]);
    await posted.body?.cancel();
    const page = await (await fetch(`${url}guestbook`)).text();
    assertStringIncludes(page, "<b>Ada</b>: Hello &#60;there&#62;");

    const created = await fetch(`${url}api/entries`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Bob", message: "Hi" }),
    });
    assertEquals(created.status, 201);
    assertEquals(await created.json(), { name: "Bob", message: "Hi" });
    const list = await fetch(`${url}api/entries`);
    assertEquals(await list.json(), [
      { name: "Ada", message: "Hello <there>" },
      { name: "Bob", message: "Hi" },
    ]);
    const bad = await fetch(`${url}api/entries`, { method: "POST", body: "{not json" });
    assertEquals([bad.status, await bad.json()], [400, { error: "invalid JSON" }]);
    const missing = await fetch(`${url}missing.html`);
    assertEquals([missing.status, await missing.json()], [404, { error: "not found" }]);
  });
});

Deno.test("main.ts --app without --root sends every request to the application", async () => {
  await withMain(["--quiet", "--app", GUESTBOOK], async ({ url }) => {
    const response = await fetch(url);
    assertEquals([response.status, await response.json()], [404, { error: "not found" }]);
  });
});

Deno.test("main.ts exits 2 with one line for an application it cannot use", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portico_cli_app_" });
  try {
    await Deno.writeTextFile(`${dir}/none.ts`, "export const x = 1;\n");
    await Deno.writeTextFile(`${dir}/broken.ts`, "export default {\n");
    assertUsageError(await runMain(["--app", `${dir}/missing.ts`]), "does not exist");
    assertUsageError(await runMain(["--app", `${dir}/none.ts`]), "has no default export");
    assertUsageError(await runMain(["--app", `${dir}/broken.ts`]), "cannot load app");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts keeps serving after an application leaves a promise rejected", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portico_cli_app_" });
  try {
    await Deno.writeTextFile(
      `${dir}/careless.ts`,
      'export default () => {\n  Promise.reject(new Error("forgotten"));\n  return new Response("ok");\n};\n',
    );
    await withMain(["--quiet", "--app", `${dir}/careless.ts`], async ({ url }) => {
      for (let i = 0; i < 3; i++) {
        const response = await fetch(url);
        assertEquals([response.status, await response.text()], [200, "ok"]);
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts --dev with --app needs --root, and --dev-app needs --dev", async () => {
  assertUsageError(await runMain(["--dev", "--app", GUESTBOOK]), "--dev watches files");
  assertUsageError(await runMain(["--dev-app"]), "--dev-app needs --dev");
});

Deno.test("main.ts --dev says so at start-up and ends its event streams on SIGTERM", async () => {
  const root = await Deno.makeTempDir({ prefix: "portico-dev-main-" });
  let events: ReadableStreamDefaultReader<Uint8Array> | null = null;
  try {
    await Deno.writeTextFile(`${root}/index.html`, "<!doctype html><body>hi</body>");
    // A shutdown that waited for the stream would outlast the stop's 30 s limit.
    const args = ["--dev", "--root", root, "--shutdown-timeout", "5m"];
    await withMain(args, async ({ url, waitFor }) => {
      assertMatch(await waitFor(/development mode/), /do not let the internet reach/);
      const page = await fetch(url);
      assertStringIncludes(await page.text(), '<script src="/.portico/live.js"></script></body>');
      const stream = await fetch(new URL("/.portico/events", url));
      assertEquals(stream.headers.get("content-type"), "text/event-stream; charset=utf-8");
      events = stream.body!.getReader();
      assertStringIncludes(new TextDecoder().decode((await events.read()).value), "retry:");
    });
    // withMain stopped it with SIGTERM and saw exit code 0: the stream has ended.
    assertEquals((await events!.read()).done, true);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

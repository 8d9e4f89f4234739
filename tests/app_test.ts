/**
 * Loading `--app` modules: the two default-export shapes, and a one-line
 * UserError for every module that cannot be used.
 */

import { appHandler, loadApp } from "../lib/app.ts";
import { UserError } from "../lib/errors.ts";
import type { ServeInfo } from "../lib/handler.ts";
import { assertEquals, assertRejects, assertThrows, join } from "./_deps.ts";
import { testInfo } from "./_helpers.ts";

const INFO: ServeInfo = testInfo();
const APPS = new URL("./fixtures/apps/", import.meta.url).pathname;

/** Writes `files` to a temporary directory, runs `fn` on it, then removes it. */
async function withModules(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "portico_app_" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("appHandler() takes a default function as the handler", async () => {
  const handler = appHandler({ default: (r: Request) => new Response(r.method) }, "a.ts");
  assertEquals(
    await (await handler(new Request("http://x/", { method: "PUT" }), INFO)).text(),
    "PUT",
  );
});

Deno.test("appHandler() calls an object's fetch with the object as this", async () => {
  const app = {
    greeting: "hello",
    fetch(this: { greeting: string }, _request: Request, info: ServeInfo) {
      return new Response(`${this.greeting} ${info.remoteAddr.hostname}`);
    },
  };
  const handler = appHandler({ default: app }, "a.ts");
  assertEquals(await (await handler(new Request("http://x/"), INFO)).text(), "hello 127.0.0.1");
});

Deno.test("appHandler() refuses a module without a usable default export", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{}, "no default export"],
    [{ fetch: () => new Response() }, "no default export"],
    [{ default: 42 }, "default export of type number"],
    [{ default: null }, "default export of type null"],
    [{ default: { fetch: "no" } }, "default export of type object"],
    [{ default: [] }, "default export of type array"],
  ];
  for (const [exports, message] of cases) {
    const error = assertThrows(() => appHandler(exports, "m.ts"), UserError, message);
    assertEquals(error.message.includes("\n"), false);
  }
});

Deno.test("loadApp() loads the fixture applications", async () => {
  const handler = await loadApp(join(APPS, "handler_function.ts"));
  const request = new Request("http://h/x?y", { method: "POST", body: "hi" });
  assertEquals(await (await handler(request, INFO)).json(), {
    method: "POST",
    url: "http://h/x?y",
    body: "hi",
    remote: "127.0.0.1",
  });
  const guestbook = await loadApp(join(APPS, "guestbook.ts"));
  assertEquals((await guestbook(new Request("http://h/api/entries"), INFO)).status, 200);
});

Deno.test("loadApp() reports unusable modules in one line", async () => {
  await withModules({
    "broken.ts": "export default {\n  fetch() { return new Response(1;\n  },\n};\n",
    "throws.ts": 'throw new Error("cannot reach the database");\n',
    "none.ts": "export const x = 1;\n",
    "number.ts": "export default 42;\n",
  }, async (dir) => {
    const cases: [string, string][] = [
      [join(dir, "missing.ts"), "does not exist"],
      [dir, "is not a file"],
      [join(dir, "broken.ts"), "cannot load app"],
      [join(dir, "throws.ts"), "cannot reach the database"],
      [join(dir, "none.ts"), "no default export"],
      [join(dir, "number.ts"), "default export of type number"],
    ];
    for (const [path, message] of cases) {
      const error = await assertRejects(() => loadApp(path), UserError, message);
      assertEquals(error.message.includes("\n"), false, error.message);
    }
  });
});

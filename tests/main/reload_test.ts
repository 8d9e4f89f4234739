/**
 * Reloading the program's configuration: SIGHUP and a changed rule file
 * switch new requests to the new rules without touching a download in
 * progress, and a configuration that cannot be used is refused in one line
 * while the old one keeps serving.
 */

import { assert, assertEquals, join } from "../_deps.ts";
import { deadline, READ_TIMEOUT_MS } from "../_helpers.ts";
import { withTempDir } from "../static/_static.ts";
import { checkedLength, DOWNLOAD_BYTES, writeDownload } from "./_download.ts";
import { assertUsageError, runMain, withMain } from "./_main.ts";

/** A configuration that sets `x-version` on every response. */
function versionConfig(version: string): string {
  return JSON.stringify({
    $schema: "./portico.schema.json",
    // A comment-free file is valid JSON with comments too.
    rules: [{ path: "/*", headers: { set: { "x-version": version } } }],
  });
}

/** The `x-version` a fresh request sees. */
async function versionSeen(url: string): Promise<string | null> {
  const response = await fetch(url);
  await response.body?.cancel();
  return response.headers.get("x-version");
}

Deno.test("main.ts on SIGHUP serves new requests with the new rules and finishes a download byte for byte", async () => {
  await withTempDir({ "index.html": "<p>hi</p>\n" }, async (dir) => {
    const config = join(dir, "portico.json");
    await Deno.writeTextFile(config, versionConfig("1"));
    await writeDownload(join(dir, "big.bin"));
    await withMain(["--root", dir, "--config", config], async (main) => {
      assertEquals(await versionSeen(main.url), "1");
      const download = await fetch(main.url + "big.bin");
      assertEquals(download.headers.get("x-version"), "1");
      const reader = download.body!.getReader();
      const first = await deadline(reader.read(), READ_TIMEOUT_MS, "no first chunk");
      assert(!first.done);

      await Deno.writeTextFile(config, versionConfig("2"));
      main.child.kill("SIGHUP");
      await main.waitFor(/reloaded the configuration and the rule files/);
      assertEquals(await versionSeen(main.url), "2");

      assertEquals(await checkedLength(reader, first.value), DOWNLOAD_BYTES);
    });
  });
});

Deno.test("main.ts refuses an invalid configuration on SIGHUP in one line and keeps serving the old one", async () => {
  await withTempDir({ "index.html": "<p>hi</p>\n" }, async (dir) => {
    const config = join(dir, "portico.json");
    await Deno.writeTextFile(config, versionConfig("1"));
    await withMain(["--root", dir, "--config", config], async (main) => {
      const wrong = { rules: [{ path: "/a", redirect: "/b", status: 299 }] };
      await Deno.writeTextFile(config, JSON.stringify(wrong));
      main.child.kill("SIGHUP");
      const [line] = await main.waitForError(/reload refused.*\n/);
      assert(
        line.includes("rules[0].status: expected 301, 302, 303, 307 or 308"),
        `the refusal names the value: ${line}`,
      );
      assertEquals(await versionSeen(main.url), "1");
    });
  });
});

Deno.test("main.ts picks up a changed _redirects without a signal", async () => {
  await withTempDir(
    { "index.html": "<p>hi</p>\n", "_redirects": "/a /index.html 302\n" },
    async (dir) => {
      await withMain(["--root", dir], async (main) => {
        const before = await fetch(main.url + "b", { redirect: "manual" });
        await before.body?.cancel();
        assertEquals(before.status, 404);
        await Deno.writeTextFile(join(dir, "_redirects"), "/b /index.html 307\n");
        await main.waitFor(/reloaded the configuration and the rule files/);
        const after = await fetch(main.url + "b", { redirect: "manual" });
        await after.body?.cancel();
        assertEquals([after.status, after.headers.get("location")], [307, "/index.html"]);
      });
    },
  );
});

Deno.test("main.ts refuses an invalid rule at start-up in one line with exit code 2", async () => {
  await withTempDir({ "index.html": "<p>hi</p>\n", "_redirects": "/a\n" }, async (dir) => {
    assertUsageError(await runMain(["--root", dir, "--port", "0"]), "_redirects:1");
  });
  await withTempDir({ "index.html": "" }, async (dir) => {
    const config = join(dir, "portico.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({ cors: [{ path: "/*", origins: "*", credentials: true }] }),
    );
    assertUsageError(
      await runMain(["--root", dir, "--port", "0", "--config", config]),
      "cors[0].credentials",
    );
  });
});

Deno.test("main.ts announces the configuration file it read", async () => {
  await withTempDir({ "index.html": "" }, async (dir) => {
    const config = join(dir, "portico.json");
    await Deno.writeTextFile(config, versionConfig("1"));
    await withMain(["--root", dir, "--config", config], async (main) => {
      await main.waitFor(/configuration: .*portico\.json/);
      assertEquals(await versionSeen(main.url), "1");
    });
  });
});

Deno.test("main.ts reports an unsupported _redirects line once, at start-up only", async () => {
  const redirects = "/fr/* /fr/index.html 200 Country=fr\n/a /index.html 302\n";
  await withTempDir({ "index.html": "", "_redirects": redirects }, async (dir) => {
    let stderr = "";
    await withMain(["--root", dir], async (main) => {
      await main.waitForError(/_redirects:1: .*Country=/);
      main.child.kill("SIGHUP");
      await main.waitFor(/reloaded the configuration and the rule files/);
      const response = await fetch(main.url + "a", { redirect: "manual" });
      await response.body?.cancel();
      assertEquals(response.status, 302, "the supported line is served");
      stderr = (await main.waitForError(/[^]*/))[0];
    });
    assertEquals(stderr.match(/Country=/g)?.length, 1, stderr);
  });
});

Deno.test("main.ts with two workers switches both on SIGHUP before it says so", async () => {
  await withTempDir({ "index.html": "<p>hi</p>\n" }, async (dir) => {
    const config = join(dir, "portico.json");
    await Deno.writeTextFile(config, versionConfig("1"));
    await withMain(["--root", dir, "--config", config, "--workers", "2"], async (main) => {
      await Deno.writeTextFile(config, versionConfig("2"));
      main.child.kill("SIGHUP");
      await main.waitFor(/reloaded the configuration and the rule files/);
      // Each request on its own connection, so both workers answer some of them.
      for (let i = 0; i < 12; i++) {
        const response = await fetch(main.url, { headers: { connection: "close" } });
        await response.body?.cancel();
        assertEquals(response.headers.get("x-version"), "2", `request ${i}`);
      }
    });
  });
});

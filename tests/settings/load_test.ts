import { assert, assertEquals, assertRejects, join } from "../_deps.ts";
import type { CliOptions } from "../../lib/cli.ts";
import { UserError } from "../../lib/errors.ts";
import { loadSettings, type Settings } from "../../lib/settings/load.ts";
import { withTempDir } from "../static/_static.ts";

const noEnv = { get: (_: string): string | undefined => undefined };
const env = (vars: Record<string, string>) => ({ get: (name: string) => vars[name] });

/** The serving options of loaded settings, which must serve. */
function optionsOf(settings: Settings): CliOptions {
  assert(settings.command.kind === "serve");
  return settings.command.options;
}

/** The message `loadSettings()` refuses with in `cwd`. */
async function refusal(args: string[], cwd: string): Promise<string> {
  return (await assertRejects(() => loadSettings(args, noEnv, cwd, 1), UserError)).message;
}

Deno.test("loadSettings() reads portico.json from the working directory", async () => {
  const text = '{ "maxBodyBytes": "1M", "spa": true, "errorPages": { "404": "404.html" } }';
  await withTempDir({ "portico.json": text }, async (dir) => {
    const settings = await loadSettings([], noEnv, dir, 1);
    assertEquals(settings.configPath, join(dir, "portico.json"));
    assertEquals(optionsOf(settings).limits.maxBodyBytes, 1024 * 1024);
    assertEquals(optionsOf(settings).site.spa, true);
    assertEquals(settings.errorPages, { "404": "404.html" });
  });
});

Deno.test("loadSettings() reads portico.jsonc with comments and trailing commas", async () => {
  const text = '{\n  // Serve the build.\n  "root": "dist",\n  "rules": [{ "path": "/a" },],\n}\n';
  await withTempDir({ "portico.jsonc": text }, async (dir) => {
    const settings = await loadSettings([], noEnv, dir, 1);
    assertEquals(settings.configPath, join(dir, "portico.jsonc"));
    assertEquals([optionsOf(settings).root, optionsOf(settings).rootGiven], ["dist", true]);
    assertEquals(settings.rules, [{ path: "/a" }]);
    assertEquals(settings.cors, undefined);
  });
});

Deno.test("loadSettings() without a file gives the command line's settings", async () => {
  await withTempDir({ "other.json": "{ nonsense" }, async (dir) => {
    const settings = await loadSettings(["--port", "0"], noEnv, dir, 1);
    assertEquals(settings.configPath, null);
    assertEquals([settings.rules, settings.cors, settings.errorPages], [undefined, undefined, {}]);
    assertEquals(optionsOf(settings).port, 0);
  });
});

Deno.test("loadSettings() ranks a flag over PORT over the file over the default", async () => {
  const text = '{ "port": 9000, "maxBodyBytes": "1M", "idleTimeoutMs": 2 }';
  await withTempDir({ "portico.json": text }, async (dir) => {
    const fromFile = optionsOf(await loadSettings([], noEnv, dir, 1));
    assertEquals([fromFile.port, fromFile.limits.maxBodyBytes], [9000, 1024 * 1024]);
    assertEquals(fromFile.limits.headerTimeoutMs, 10_000);
    const byPort = optionsOf(await loadSettings([], env({ PORT: "3000" }), dir, 1));
    assertEquals(byPort.port, 3000);
    const args = ["--port", "7000", "--max-body", "2M"];
    const byFlag = optionsOf(await loadSettings(args, env({ PORT: "3000" }), dir, 1));
    assertEquals([byFlag.port, byFlag.limits.maxBodyBytes], [7000, 2 * 1024 * 1024]);
    assertEquals(byFlag.limits.idleTimeoutMs, 2000);
  });
});

Deno.test("loadSettings() reads the file --config names, from the working directory", async () => {
  const files = { "conf/prod.json": '{ "quiet": true }', "portico.json": '{ "dev": true }' };
  await withTempDir(files, async (dir) => {
    const settings = await loadSettings(["--config", "conf/prod.json"], noEnv, dir, 1);
    assertEquals(settings.configPath, join(dir, "conf", "prod.json"));
    assertEquals([optionsOf(settings).quiet, optionsOf(settings).dev], [true, false]);
    assertEquals(optionsOf(settings).config, "conf/prod.json");
  });
});

Deno.test("loadSettings() refuses a --config file that is missing or not a file", async () => {
  await withTempDir({ "conf/x.json": "{}" }, async (dir) => {
    assertEquals(
      await refusal(["--config", "portico.prod.json"], dir),
      "--config portico.prod.json: file not found",
    );
    assertEquals(
      await refusal(["--config=conf"], dir),
      "--config conf: is a directory, not a file",
    );
  });
});

Deno.test("loadSettings() names a file by the path given or the name found", async () => {
  const files = { "conf/prod.json": '{ "spa": "yes" }', "portico.jsonc": '{ "colour": "blue" }' };
  await withTempDir(files, async (dir) => {
    assertEquals(
      await refusal(["--config", "conf/prod.json"], dir),
      'conf/prod.json: spa: expected true or false, not "yes"',
    );
    assertEquals(
      await refusal([], dir),
      "portico.jsonc: colour: unknown key; see portico.schema.json",
    );
  });
});

Deno.test("loadSettings() refuses both portico.json and portico.jsonc", async () => {
  await withTempDir({ "portico.json": "{}", "portico.jsonc": "{}" }, async (dir) => {
    assertEquals(
      await refusal([], dir),
      `portico.json and portico.jsonc are both in ${dir}; keep one of them`,
    );
    const chosen = await loadSettings(["--config", "portico.jsonc"], noEnv, dir, 1);
    assertEquals(chosen.configPath, join(dir, "portico.jsonc"));
  });
});

Deno.test("loadSettings() refuses a file that is not UTF-8", async () => {
  const files = { "portico.json": new Uint8Array([0x7b, 0xff, 0x7d]) };
  await withTempDir(files, async (dir) => {
    assertEquals(await refusal([], dir), "portico.json: not UTF-8 text");
  });
});

Deno.test("loadSettings() reads no file for --help and --version", async () => {
  await withTempDir({ "portico.json": "{ broken" }, async (dir) => {
    assertEquals((await loadSettings(["--help"], noEnv, dir, 1)).command.kind, "help");
    const version = await loadSettings(["--version", "--config", "missing.json"], noEnv, dir, 1);
    assertEquals([version.command.kind, version.configPath], ["version", null]);
    assertEquals(
      await refusal([], dir),
      'portico.json: not valid JSON with comments: unexpected token "broken" at line 1, column 3',
    );
  });
});

Deno.test("loadSettings() reports a command-line mistake before reading the file", async () => {
  await withTempDir({ "portico.json": "{ broken" }, async (dir) => {
    assertEquals(await refusal(["--bogus"], dir), "unknown option --bogus; see --help");
  });
});

Deno.test("loadSettings() gives the same settings when it reads the same bytes again", async () => {
  const text =
    '{ "workers": "auto", "rules": [{ "path": "/x" }], "errorPages": { "500": "e.html" } }';
  await withTempDir({ "portico.json": text }, async (dir) => {
    const first = await loadSettings([], noEnv, dir, 4);
    const again = await loadSettings([], noEnv, dir, 4);
    assertEquals(again, first);
    assertEquals(optionsOf(first).workers, 4);
  });
});

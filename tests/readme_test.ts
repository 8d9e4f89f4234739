/**
 * The README is the truth about set-up: its quick-start commands are the
 * tasks deno.json defines, and CI runs the same test command.
 */

import { assert, assertEquals, assertStringIncludes } from "./_deps.ts";
import { loadApp } from "../lib/app.ts";
import { HELP_TEXT } from "../lib/cli.ts";
import { DEFAULT_LIMITS } from "../lib/config.ts";
import denoJson from "../deno.json" with { type: "json" };
import { testInfo } from "./_helpers.ts";

const README = await Deno.readTextFile(new URL("../README.md", import.meta.url));
const CI = await Deno.readTextFile(new URL("../.ci/run", import.meta.url));

/** The commands of the code blocks in a README section, in order. */
function sectionCommands(title: string): string[] {
  const start = README.indexOf(`## ${title}\n`);
  assert(start !== -1, `README has a "${title}" section`);
  const end = README.indexOf("\n## ", start + 1);
  const section = README.slice(start, end === -1 ? undefined : end);
  const commands: string[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1].split("\n")) {
      const command = line.replace(/\s+#.*$/, "").trim();
      if (command !== "") commands.push(command);
    }
  }
  return commands;
}

Deno.test("README quick start shows the npx commands first, then the plain tasks", () => {
  const commands = sectionCommands("Quick start");
  assertEquals(commands.slice(0, 4), [
    "npx -y deno@2.9.6 task serve",
    "npx -y deno@2.9.6 task test",
    "deno task serve",
    "deno task test",
  ]);
});

Deno.test("README quick-start commands name tasks that deno.json defines", () => {
  const tasks = denoJson.tasks as Record<string, string>;
  for (const command of sectionCommands("Quick start")) {
    const task = /deno(?:@[\d.]+)? task (\w+)/.exec(command)?.[1];
    assert(task !== undefined, command);
    assert(task in tasks, `deno.json has no task "${task}" for: ${command}`);
  }
  assert(tasks.test.startsWith("deno test "), "the test task runs deno test");
  assert(tasks.serve.endsWith(" main.ts"), "the serve task runs main.ts");
});

Deno.test("CI runs the README's test command", () => {
  assertStringIncludes(CI, "npx -y deno@2.9.6 task test");
});

Deno.test("README documents the serve task's permissions and unstable flags", () => {
  const flags = denoJson.tasks.serve.split(/\s+/).filter((w) => /^--(allow|unstable)-/.test(w));
  assert(flags.includes("--unstable-net") && flags.includes("--unstable-worker-options"));
  for (const flag of flags) {
    assertStringIncludes(README, `\`${flag}\``);
  }
});

Deno.test("README documents the default limits", () => {
  const row = (name: string, value: string) =>
    assert(
      new RegExp(`\\|\\s*${name}\\s*\\|\\s*${value}\\s*\\|`).test(README),
      `README limits table: ${name} = ${value}`,
    );
  row("request-target", `${DEFAULT_LIMITS.maxTargetBytes / 1024} KiB`);
  row("header section", `${DEFAULT_LIMITS.maxHeadBytes / 1024} KiB`);
  row("header fields", `${DEFAULT_LIMITS.maxHeaderFields}`);
  row("request body \\(`--max-body`\\)", `${DEFAULT_LIMITS.maxBodyBytes / 1024 / 1024} MiB`);
  row("unread request body dropped", `${DEFAULT_LIMITS.maxDrainBytes / 1024} KiB`);
  row("time to receive a request head", `${DEFAULT_LIMITS.headerTimeoutMs / 1000} s`);
  row("idle time between requests", `${DEFAULT_LIMITS.idleTimeoutMs / 1000} s`);
  row("body without progress", `${DEFAULT_LIMITS.bodyTimeoutMs / 1000} s`);
  row("simultaneous connections", `${DEFAULT_LIMITS.maxConnections}`);
  row("requests per connection", DEFAULT_LIMITS.maxRequestsPerConnection === 0 ? "none" : "?");
  row("time to finish at shutdown", `${DEFAULT_LIMITS.shutdownTimeoutMs / 1000} s`);
  row("memory for cached files", `${DEFAULT_LIMITS.cacheBytes / 1024 / 1024} MiB`);
  row("largest cached file", `${DEFAULT_LIMITS.cacheFileBytes / 1024} KiB`);
  row("file send buffers", `${DEFAULT_LIMITS.fileBuffers}`);
});

Deno.test("README documents every command-line flag", () => {
  for (const flag of HELP_TEXT.matchAll(/^\s+(--[a-z-]+)/gm)) {
    assertStringIncludes(README, `\`${flag[1]}`, flag[1]);
  }
});

/** The TypeScript code blocks of a README section. */
function sectionCode(title: string): string[] {
  const start = README.indexOf(`## ${title}\n`);
  assert(start !== -1, `README has a "${title}" section`);
  const end = README.indexOf("\n## ", start + 1);
  const section = README.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

Deno.test("README's application example answers through loadApp()", async () => {
  const [code] = sectionCode("Applications");
  const dir = await Deno.makeTempDir({ prefix: "portico_readme_" });
  try {
    await Deno.writeTextFile(`${dir}/app.ts`, code);
    const handler = await loadApp(`${dir}/app.ts`);
    const info = testInfo();
    const hello = await handler(new Request("http://x/api/hello?name=Ada"), info);
    assertEquals(await hello.json(), { hello: "Ada" });
    const echo = await handler(
      new Request("http://x/api/echo", { method: "POST", body: "hi" }),
      info,
    );
    assertEquals(await echo.text(), "hi");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README's library example type-checks against lib/mod.ts", async () => {
  const [code] = sectionCode("Library");
  const mod = new URL("../lib/mod.ts", import.meta.url).href;
  assertStringIncludes(code, '"./lib/mod.ts"');
  const dir = await Deno.makeTempDir({ prefix: "portico_readme_" });
  try {
    await Deno.writeTextFile(`${dir}/server.ts`, code.replace('"./lib/mod.ts"', `"${mod}"`));
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--config", new URL("../deno.json", import.meta.url).pathname, "server.ts"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README's Performance section shows the latest bench/results.md table and its command", async () => {
  const results = await Deno.readTextFile(new URL("../bench/results.md", import.meta.url));
  const start = README.indexOf("## Performance\n");
  assert(start !== -1, "README has a Performance section");
  const section = README.slice(start, README.indexOf("\n## ", start + 1));
  assertStringIncludes(section, "deno task bench");
  const rows = results.split("\n").filter((line) =>
    /^\| (ours|nginx|python|Deno\.serve)/.test(line)
  );
  assert(rows.length >= 4, "results.md has the server and ratio rows");
  for (const row of rows) assertStringIncludes(section, row);
});

/**
 * The README is the truth about set-up: its quick-start commands are the
 * tasks deno.json defines, and CI runs the same test command.
 */

import { assert, assertEquals, assertStringIncludes } from "../lib/deps.ts";
import { DEFAULT_LIMITS } from "../lib/config.ts";
import denoJson from "../deno.json" with { type: "json" };

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

Deno.test("README documents the serve task's permissions", () => {
  for (const flag of denoJson.tasks.serve.split(/\s+/).filter((w) => w.startsWith("--allow"))) {
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
  row("request body", `${DEFAULT_LIMITS.maxBodyBytes / 1024 / 1024} MiB`);
  row("time to receive a request head", `${DEFAULT_LIMITS.headerTimeoutMs / 1000} s`);
  row("idle time between requests", `${DEFAULT_LIMITS.idleTimeoutMs / 1000} s`);
});

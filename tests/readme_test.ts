/**
 * The README and docs/ are the truth about set-up: the quick-start commands
 * are the tasks deno.json defines, CI runs the same test command, and the
 * tables and examples are those the code draws and runs.
 */

import { assert, assertEquals, assertStringIncludes } from "./_deps.ts";
import { loadApp } from "../lib/app.ts";
import { MAX_CHUNK_LINE_BYTES, MAX_TRAILER_BYTES } from "../lib/http/body.ts";
import { CODINGS, negotiateEncoding } from "../lib/encoding/negotiate.ts";
import { renderFlagTable, renderLimitsTable } from "../lib/options.ts";
import { isFingerprinted } from "../lib/static/cache_control.ts";
import denoJson from "../deno.json" with { type: "json" };
import { testInfo } from "./_helpers.ts";

const README = await Deno.readTextFile(new URL("../README.md", import.meta.url));
const CI = await Deno.readTextFile(new URL("../.ci/run", import.meta.url));

/** A document of docs/. */
function doc(name: string): string {
  return Deno.readTextFileSync(new URL(`../docs/${name}`, import.meta.url));
}

/** A `## title` section of a document (the README unless named), up to the next one. */
function section(title: string, text = README): string {
  const start = text.indexOf(`## ${title}\n`);
  assert(start !== -1, `there is a "${title}" section`);
  const end = text.indexOf("\n## ", start + 1);
  return text.slice(start, end === -1 ? undefined : end);
}

/** The commands of the code blocks in a README section, in order. */
function sectionCommands(title: string): string[] {
  const commands: string[] = [];
  for (const block of section(title).matchAll(/```sh\n([\s\S]*?)```/g)) {
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

Deno.test("docs/running.md documents the serve task's permissions", () => {
  const flags = denoJson.tasks.serve.split(/\s+/).filter((w) => /^--(allow|unstable)-/.test(w));
  assert(flags.some((flag) => flag.startsWith("--allow-net")), "the serve task listens");
  const permissions = section("Permissions", doc("running.md"));
  for (const flag of flags) {
    assertStringIncludes(permissions, `\`${flag}\``);
  }
});

/** The first markdown table of a section. */
function sectionTable(title: string, text = README): string {
  const lines = section(title, text).split("\n");
  const first = lines.findIndex((line) => line.startsWith("|"));
  assert(first !== -1, `the "${title}" section has a table`);
  const end = lines.findIndex((line, i) => i > first && !line.startsWith("|"));
  return lines.slice(first, end).join("\n");
}

Deno.test("README's Command line table is the one renderFlagTable() draws from the options", () => {
  assertEquals(sectionTable("Command line"), renderFlagTable());
});

Deno.test("README's limits table is the one renderLimitsTable() draws from the options", () => {
  // The body framing's own bounds are constants of lib/http/body.ts, not options.
  const fixed = [
    {
      after: "maxDrainBytes",
      limit: "chunk-size line",
      bytes: MAX_CHUNK_LINE_BYTES,
      excess: "400 and close",
    },
    {
      after: "maxDrainBytes",
      limit: "trailer section",
      bytes: MAX_TRAILER_BYTES,
      excess: "400 and close",
    },
  ] as const;
  assertEquals(sectionTable("Limits and security", doc("security.md")), renderLimitsTable(fixed));
});

/** The TypeScript code blocks of a section of docs/applications.md. */
function sectionCode(title: string): string[] {
  const code = section(title, doc("applications.md")).matchAll(/```ts\n([\s\S]*?)```/g);
  return [...code].map((m) => m[1]);
}

Deno.test("docs/applications.md's application example answers through loadApp()", async () => {
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

Deno.test("docs/applications.md's library example type-checks against lib/mod.ts", async () => {
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

Deno.test("docs/performance.md shows the latest bench/results.md table and its command", async () => {
  const results = await Deno.readTextFile(new URL("../bench/results.md", import.meta.url));
  const performance = section("Performance", doc("performance.md"));
  assertStringIncludes(performance, "deno task bench");
  const rows = results.split("\n").filter((line) =>
    /^\| (ours|nginx|python|Deno\.serve)/.test(line)
  );
  assert(rows.length >= 4, "results.md has the server and ratio rows");
  for (const row of rows) assertStringIncludes(performance, row);
});

/** The rows of the markdown tables in a section, as cells with the backticks taken off. */
function tableRows(title: string, text: string): string[][] {
  return section(title, text).split("\n")
    .filter((line) => line.startsWith("|") && !line.startsWith("| -"))
    .map((line) => line.slice(1, -1).split("|").map((cell) => cell.trim()));
}

/** A table cell's code (`gzip, br` from "`gzip, br` (curl)"), or the cell itself. */
function codeOf(cell: string): string {
  return /`([^`]*)`/.exec(cell)?.[1] ?? cell;
}

Deno.test("docs/http.md's Accept-Encoding table is what negotiateEncoding() answers", () => {
  const rows = tableRows("Compression", doc("http.md")).filter(([first]) =>
    first !== "`Accept-Encoding`"
  );
  assert(rows.length >= 8, `${rows.length} rows`);
  for (const [accept, answer] of rows) {
    const value = accept === "none" ? null : codeOf(accept);
    assertEquals(negotiateEncoding(value, CODINGS), answer, accept);
  }
});

Deno.test("docs/http.md's table of hashed names is what isFingerprinted() says", () => {
  const rows = tableRows("Caching", doc("http.md")).filter(([first]) => first.includes("`"));
  const named = rows.filter((row) => row.length === 2);
  assert(named.length >= 6, `${named.length} rows`);
  for (const [hashed, plain] of named) {
    assert(isFingerprinted(codeOf(hashed)), hashed);
    assert(!isFingerprinted(codeOf(plain)), plain);
  }
});

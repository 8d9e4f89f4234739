/**
 * The table of options is consistent, and everything derived from it (the
 * flags and their checks, the help, the library's types and defaults, the
 * README tables) follows it.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes, assertThrows } from "./_deps.ts";
import { type CliOptions, HELP_TEXT, parseCli } from "../lib/cli.ts";
import {
  DEFAULT_CONTENT,
  DEFAULT_HOST,
  DEFAULT_LIMITS,
  DEFAULT_PORT,
  DEFAULT_ROOT,
  DEFAULT_TUNING,
  type Limits,
  type Tuning,
} from "../lib/config.ts";
import { UserError } from "../lib/errors.ts";
import {
  formatDuration,
  formatSize,
  OPTION_GROUPS,
  OPTION_ROWS,
  type OptionRow,
  OPTIONS,
  renderFlagTable,
  renderHelp,
  renderLimitsTable,
} from "../lib/options.ts";

const noEnv = { get: (_: string): string | undefined => undefined };

/** The contract with the rest of the code: these fields, no more, no fewer. */
const LIMIT_KEYS: (keyof Limits)[] = [
  "maxTargetBytes",
  "maxHeadBytes",
  "maxHeaderFields",
  "maxBodyBytes",
  "maxDrainBytes",
  "headerTimeoutMs",
  "idleTimeoutMs",
  "bodyTimeoutMs",
  "maxConnections",
  "listenBacklog",
  "maxRequestsPerConnection",
  "shutdownTimeoutMs",
  "handshakeTimeoutMs",
  "drainDelayMs",
];
const TUNING_KEYS: (keyof Tuning)[] = [
  "cacheBytes",
  "cacheFileBytes",
  "openFiles",
  "ioEventsPerTick",
  "fileBufferBytes",
  "fileBuffers",
];

/** What each numeric kind's value is called. */
const PLACEHOLDERS: Record<string, string> = { size: "SIZE", duration: "TIME", count: "N" };

const numeric = (row: OptionRow) =>
  row.kind === "size" || row.kind === "duration" || row.kind === "count";

/** A value as its flag takes it. */
const asFlag = (row: OptionRow, value: number) =>
  row.kind === "size"
    ? formatSize(value)
    : row.kind === "duration"
    ? formatDuration(value)
    : String(value);

Deno.test("OPTIONS has exactly one row for every Limits and Tuning key", () => {
  const keysOf = (group: string) =>
    OPTION_ROWS.filter((row) => row.group === group).map((row) => row.key);
  assertEquals(keysOf("limits"), LIMIT_KEYS);
  assertEquals(keysOf("tuning"), TUNING_KEYS);
  assertEquals(Object.keys(DEFAULT_LIMITS), LIMIT_KEYS);
  assertEquals(Object.keys(DEFAULT_TUNING), TUNING_KEYS);
});

/** True when A and B are the same type (readonly and optional modifiers included). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

Deno.test("Limits, Tuning and CliOptions are the table's rows with their kinds' types", () => {
  // Checked when the test is type-checked; the values only record that it was.
  const limits: Same<Limits, Record<(typeof LIMIT_KEYS)[number], number>> = true;
  const tuning: Same<Tuning, Record<(typeof TUNING_KEYS)[number], number>> = true;
  const serve: Same<
    Omit<CliOptions, "rootGiven" | "limits" | "tuning" | "content" | "site" | "https">,
    {
      readonly root: string;
      readonly app: string | null;
      readonly port: number;
      readonly hostname: string;
      readonly workers: number;
      readonly quiet: boolean;
      readonly dev: boolean;
      readonly devApp: boolean;
      readonly config: string | null;
      readonly health: string | null;
      readonly admin: string | null;
      readonly proxyProtocol: string | null;
      readonly trustProxy: string | null;
      readonly logFormat: "text" | "combined" | "json";
      readonly requestIdHeader: boolean;
    }
  > = true;
  const site: Same<
    CliOptions["site"],
    {
      readonly spa: boolean;
      readonly spaPage: string;
      readonly cleanUrls: boolean;
      readonly trailingSlash: "auto" | "always" | "never" | "as-is";
      readonly list: boolean;
    }
  > = true;
  assertEquals([limits, tuning, serve, site], [true, true, true, true]);
});

Deno.test("OPTIONS names each flag and alias once, in lower case", () => {
  const flags = OPTION_ROWS.map((row) => row.flag);
  assertEquals(new Set(flags).size, flags.length);
  for (const flag of flags) assert(/^[a-z][a-z-]*[a-z]$/.test(flag), flag);
  const shorts = OPTION_ROWS.flatMap((row) => row.short ?? []);
  assertEquals(new Set(shorts).size, shorts.length);
});

Deno.test("OPTIONS rows have the fields their kind needs, and defaults within range", () => {
  for (const row of OPTION_ROWS) {
    const name = `--${row.flag}`;
    assert(row.help !== "" && !row.help.includes("\n"), `${name}: one help line`);
    assert(row.meaning !== "" && !row.meaning.includes("|"), `${name}: a README meaning`);
    assertEquals(row.excess !== undefined, row.limit !== undefined, `${name}: limit and excess`);
    if (row.kind === "command" || row.kind === "boolean") {
      assertEquals(row.placeholder, undefined, name);
      continue;
    }
    assert(row.placeholder !== undefined, `${name}: a placeholder`);
    if (!numeric(row)) continue;
    assertEquals(row.placeholder, PLACEHOLDERS[row.kind], name);
    const value = row.default as number;
    assert(Number.isSafeInteger(value), `${name}: a whole default`);
    assert(row.min !== undefined && value >= row.min, `${name}: default ${value} >= min`);
    assert(row.max === undefined || value <= row.max, `${name}: default ${value} <= max`);
  }
});

Deno.test("OPTIONS choice rows alone list choices, with the default among them", () => {
  for (const row of OPTION_ROWS) {
    assertEquals(row.choices !== undefined, row.kind === "choice", `--${row.flag}`);
    if (row.choices === undefined) continue;
    assert(row.choices.length > 1, `--${row.flag}: choices`);
    assert(row.choices.includes(row.default as string), `--${row.flag}: default among choices`);
  }
});

Deno.test("OPTIONS keeps only --config out of the configuration file", () => {
  const outside = OPTION_ROWS.filter((row) => row.fileKey === false).map((row) => row.key);
  assertEquals(outside, ["config"]);
});

Deno.test("parseCli() refuses a choice outside each choice row's choices", () => {
  for (const row of OPTION_ROWS.filter((row) => row.kind === "choice")) {
    const name = `--${row.flag}`;
    assertThrows(
      () => parseCli([name, "none-of-these"], noEnv),
      UserError,
      `${name} must be one of`,
    );
    for (const choice of row.choices ?? []) {
      const command = parseCli([name, choice], noEnv);
      assert(command.kind === "serve");
      const { options } = command;
      const values: object = row.group === "serve" ? options : options[row.group];
      assertEquals((values as Record<string, unknown>)[row.key], choice, `${name} ${choice}`);
    }
  }
});

Deno.test("OPTIONS rows of limits and tuning are numbers", () => {
  for (const row of OPTION_ROWS) {
    if (row.group === "limits" || row.group === "tuning") assert(numeric(row), `--${row.flag}`);
  }
});

Deno.test("HELP_TEXT lists every flag with its placeholder under its group's title", () => {
  assertEquals(HELP_TEXT, renderHelp("portico"));
  const lines = HELP_TEXT.split("\n");
  const titles = Object.values(OPTION_GROUPS).map(({ title }) => lines.indexOf(`${title}:`));
  assert(titles.every((at, i) => at > (titles[i - 1] ?? 0)), "titles in order");
  for (const row of OPTION_ROWS) {
    const label = [row.short && `-${row.short},`, `--${row.flag}`, row.placeholder]
      .filter(Boolean).join(" ");
    const at = lines.findIndex((line) => line.startsWith(`  ${label} `));
    assert(at !== -1, `HELP_TEXT lists ${label}`);
    const group = Object.keys(OPTION_GROUPS).indexOf(row.group);
    assert(at > titles[group] && (titles[group + 1] === undefined || at < titles[group + 1]));
  }
  for (const line of lines) assert(line.length <= 100, `help line too long: ${line}`);
});

Deno.test("HELP_TEXT shows each default as the flag would take it", () => {
  assertStringIncludes(HELP_TEXT, "(default: 10M)");
  assertStringIncludes(HELP_TEXT, "(from 4K to 64M; default: 1M)");
  assertStringIncludes(HELP_TEXT, "(default: $PORT, else 8000)");
  assertStringIncludes(HELP_TEXT, "(default: 0, no limit)");
});

Deno.test("parseCli() reads every flag given its own default back to the defaults", () => {
  const args = OPTION_ROWS.flatMap((row) =>
    numeric(row) ? [`--${row.flag}`, asFlag(row, row.default as number)] : []
  );
  const command = parseCli(args, noEnv);
  assert(command.kind === "serve");
  assertEquals(command.options.limits, DEFAULT_LIMITS);
  assertEquals(command.options.tuning, DEFAULT_TUNING);
});

Deno.test("parseCli() sets the key each row names", () => {
  for (const row of OPTION_ROWS.filter(numeric)) {
    const value = (row.default as number) + 1;
    const command = parseCli([`--${row.flag}`, asFlag(row, value)], noEnv);
    assert(command.kind === "serve");
    const { limits, tuning, content } = command.options;
    const values: object = row.group === "limits"
      ? limits
      : row.group === "tuning"
      ? tuning
      : row.group === "content"
      ? content
      : row.group === "https"
      ? command.options.https
      : command.options;
    assertEquals((values as Record<string, unknown>)[row.key], value, `--${row.flag}`);
  }
});

Deno.test("parseCli() refuses values beyond each row's min and max", () => {
  for (const row of OPTION_ROWS.filter(numeric)) {
    const name = `--${row.flag}`;
    if (row.min !== undefined && row.min > 0) {
      const below = asFlag(row, row.min - 1);
      assertThrows(() => parseCli([name, below], noEnv), UserError, `${name} must be`);
    }
    if (row.max !== undefined) {
      const above = asFlag(row, row.max + 1);
      assertThrows(() => parseCli([name, above], noEnv), UserError, `${name} must be`);
    }
  }
});

Deno.test("parseCli() takes its defaults from the table", () => {
  const command = parseCli([], noEnv);
  assert(command.kind === "serve");
  const { limits, tuning, content, site, https, rootGiven, ...serve } = command.options;
  assertEquals(rootGiven, false);
  assertEquals(https.cert, OPTIONS.cert.default);
  assertEquals(https.acmeDirectory, OPTIONS.acmeDirectory.default);
  assertEquals(https.hstsMaxAge, OPTIONS.hstsMaxAge.default);
  assertEquals(site, {
    spa: OPTIONS.spa.default,
    spaPage: OPTIONS.spaPage.default,
    cleanUrls: OPTIONS.cleanUrls.default,
    trailingSlash: OPTIONS.trailingSlash.default,
    list: OPTIONS.list.default,
  });
  assertEquals(content, DEFAULT_CONTENT);
  assertEquals(limits, DEFAULT_LIMITS);
  assertEquals(tuning, DEFAULT_TUNING);
  assertEquals(serve, {
    root: OPTIONS.root.default,
    app: OPTIONS.app.default,
    port: OPTIONS.port.default,
    hostname: OPTIONS.hostname.default,
    workers: OPTIONS.workers.default,
    quiet: OPTIONS.quiet.default,
    dev: OPTIONS.dev.default,
    devApp: OPTIONS.devApp.default,
    config: OPTIONS.config.default,
    health: OPTIONS.health.default,
    admin: OPTIONS.admin.default,
    proxyProtocol: OPTIONS.proxyProtocol.default,
    trustProxy: OPTIONS.trustProxy.default,
    logFormat: OPTIONS.logFormat.default,
    requestIdHeader: OPTIONS.requestIdHeader.default,
  });
  assertEquals([DEFAULT_ROOT, DEFAULT_PORT, DEFAULT_HOST], ["www", 8000, "0.0.0.0"]);
});

Deno.test("renderFlagTable() has one row per flag, in table order", () => {
  const rows = renderFlagTable().split("\n").slice(2);
  assertEquals(rows.length, OPTION_ROWS.length);
  rows.forEach((line, i) => assertStringIncludes(line, `--${OPTION_ROWS[i].flag}`));
  assertMatch(renderFlagTable(), /\| `--port N` +\| `\$PORT`, else `8000` +\|/);
  assertMatch(renderFlagTable(), /\| `--compress LIST` +\| `br,zstd,gzip` +\|/);
  assertStringIncludes(renderFlagTable(), "(4K–64M)");
});

Deno.test("renderLimitsTable() lists the rows that name a limit, and fixed limits after theirs", () => {
  const table = renderLimitsTable([
    { after: "maxBodyBytes", limit: "chunk-size line", bytes: 4096, excess: "400 and close" },
  ]).split("\n");
  const named = OPTION_ROWS.filter((row) => row.limit !== undefined);
  assertEquals(table.length, 2 + named.length + 1);
  const body = table.findIndex((line) => line.includes("`--max-body`"));
  assertEquals(table[body + 1], table.find((line) => line.startsWith("| chunk-size line ")));
  assertStringIncludes(table[body + 1], "| 4 KiB ");
  assert(table.some((line) => /^\| request-target +\| 8 KiB +\| `--max-target` +\|/.test(line)));
  assert(table.some((line) => /^\| requests per connection +\| no limit +\|/.test(line)));
  assert(table.some((line) => /^\| time to receive a request head +\| 10 s +\|/.test(line)));
});

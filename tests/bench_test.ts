/**
 * The benchmark harness: its option parsing (a table of command lines), the
 * site rules it starts portico with (read by portico's own rule reader), the
 * report's tables, and `bench/bench.ts --smoke` end to end as a subprocess,
 * which must exit 0 and write a report with a positive requests-per-second
 * number for ours, from wrk in the 12 B scenario and from the fairness
 * generator in the smoke form of the 1,000-connection fairness scenario, and
 * from wrk against portico started with 250 generated site rules (checked
 * to be in effect before the run), and from wrk over HTTPS. The run's
 * certificate is checked to be one rustls serves and a client verifies, and
 * the HTTPS table to hold ours ÷ nginx against the goal. The smoke run needs
 * wrk, Node.js and openssl; without them that test is ignored and its name says why.
 * Nothing here depends on how fast the machine is.
 */

import { assert, assertEquals, assertRejects, assertThrows } from "./_deps.ts";
import { htmlPage, scriptModule } from "../bench/_corpus.ts";
import { type BenchOptions, parseOptions, UsageError } from "../bench/_options.ts";
import { type BenchResults, formatReport } from "../bench/_report.ts";
import { LOAD_SCENARIOS } from "../bench/_scenarios.ts";
import {
  nginxConfig,
  nginxGzip,
  placed,
  type Plan,
  porticoLaunch,
  porticoRules,
  RULE_HIT_FIELD,
  RULE_PROBE,
  which,
} from "../bench/_servers.ts";
import { getOverTls, makeCertificate } from "../bench/_tls.ts";
import { compileRules } from "../lib/site/rule_table.ts";
import { rulesFromJson } from "../lib/site/rules_json.ts";

const BENCH = decodeURIComponent(new URL("../bench/bench.ts", import.meta.url).pathname);

/** Command lines and the options they give (only the fields named). */
const PARSED: ReadonlyArray<[string[], Partial<BenchOptions>]> = [
  [[], {
    servers: ["ours", "nginx", "python", "deno", "caddy", "bun", "serve", "http-server"],
    base: null,
    out: "results.md",
    rounds: 3,
  }],
  [["--base", "main"], {
    servers: ["ours", "base", "nginx", "python", "deno", "caddy", "bun", "serve", "http-server"],
    base: "main",
    out: null,
  }],
  [["--base", "main", "--out", "a.md"], { base: "main", out: "a.md" }],
  [["--base=HEAD~3", "--servers", "nginx,ours"], {
    servers: ["ours", "base", "nginx"],
    base: "HEAD~3",
  }],
  [["--servers", "nginx", "--base", "v0.1.0"], { servers: ["base", "nginx"] }],
  [["--smoke", "--base", "HEAD"], { servers: ["ours", "base", "deno"], out: null, rounds: 1 }],
  [["--scenarios", "304,12b", "--duration", "1m", "--warmup", "0"], {
    scenarios: ["12b", "304"],
    durationS: 60,
    warmupS: 0,
  }],
  [["--servers", "http-server,bun,ours,caddy", "--scenarios", "10kconn,12b"], {
    servers: ["ours", "caddy", "bun", "http-server"],
    scenarios: ["12b", "10kconn"],
  }],
  [["--scenarios", "hash,1m-js-gzip,4k,4k-gzip"], {
    scenarios: ["4k", "4k-gzip", "1m-js-gzip", "hash"],
    out: null,
  }],
  [["--scenarios", "rss,fair10k,1000conn,fair1000"], {
    scenarios: ["1000conn", "fair1000", "fair10k", "rss"],
  }],
  [["--scenarios", "rules-hit,12b,rules200,rules0"], {
    scenarios: ["12b", "rules0", "rules200", "rules-hit"],
    out: null,
  }],
  [["--scenarios", "tls-close,12b,tls-100m,tls-4k,tls-12b"], {
    scenarios: ["12b", "tls-12b", "tls-4k", "tls-100m", "tls-close"],
  }],
];

Deno.test("parseOptions() reads each command line of the table", () => {
  for (const [args, expected] of PARSED) {
    const options = parseOptions(args, "results.md");
    const picked = Object.fromEntries(
      Object.keys(expected).map((key) => [key, options[key as keyof BenchOptions]]),
    );
    assertEquals(picked, expected, args.join(" "));
  }
});

Deno.test("parseOptions() runs the compressed, fairness and hashing scenarios by default", () => {
  const { scenarios } = parseOptions([], "results.md");
  for (const key of ["4k-gzip", "1m-js-gzip", "fair1000", "fair10k", "hash"] as const) {
    assert(scenarios.includes(key), `${key} is not in ${scenarios.join(",")}`);
  }
});

Deno.test("htmlPage() and scriptModule() give exact sizes of text that is not one repeated line", () => {
  const encoder = new TextEncoder();
  for (const [text, size] of [[htmlPage(4096), 4096], [scriptModule(1 << 20), 1 << 20]] as const) {
    assertEquals(encoder.encode(text).length, size);
    const lines = text.split("\n").filter((line) => line.trim() !== "");
    assert(new Set(lines).size > lines.length / 2, "mostly repeated lines");
  }
  assertEquals(htmlPage(4096), htmlPage(4096));
});

Deno.test("nginxGzip() turns gzip on, with gzip_static only when nginx is built with it", () => {
  assert(nginxGzip("--with-http_gzip_static_module").includes("gzip_static on;"));
  assertEquals(nginxGzip("").filter((line) => line.startsWith("gzip_static")), []);
  assertEquals(nginxGzip("--without-http_gzip_module"), []);
});

Deno.test("porticoRules() writes rules portico reads, none of which touches the scenario's path", () => {
  for (const key of ["rules200", "rules-hit"] as const) {
    const { rules, path } = LOAD_SCENARIOS[key];
    assert(rules !== null, key);
    const json = JSON.parse(porticoRules(rules)).rules;
    const read = rulesFromJson(json, "bench: rules");
    assertEquals(read.routes.length, rules.redirects, key);
    assertEquals(read.headers.length, rules.headerRules + (rules.hitEveryPath ? 1 : 0), key);
    assert(read.routes.some((route) => route.force), `${key}: no forced route`);
    assert(read.routes.some((route) => !route.force), `${key}: no route after a miss`);
    const table = compileRules(read);
    assertEquals(table.touches(path), rules.hitEveryPath, key);
    assertEquals(table.route(path, "", true), null, key);
    assertEquals(table.route(path, "", false), null, key);
    const headers = new Headers();
    table.applyHeaders(path, headers);
    const expected = rules.hitEveryPath ? RULE_HIT_FIELD.value : null;
    assertEquals(headers.get(RULE_HIT_FIELD.name), expected, key);
    const probe = table.route(RULE_PROBE.path, "", false);
    assertEquals(probe?.kind === "redirect" ? [probe.status, probe.location] : probe, [
      RULE_PROBE.status,
      RULE_PROBE.location,
    ]);
  }
});

/** A one-round result of both compressed scenarios and hashing, for the report's layout. */
function compressedResults(): BenchResults {
  const summary = (requests: number, bytes: number) => ({
    requests,
    bytes,
    durationUs: 1_000_000,
    p99Us: 1000,
    errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
  });
  return {
    date: "2026-01-01T00:00:00.000Z",
    machine: { hardware: "test", versions: "test" },
    command: "deno run -A bench/bench.ts",
    rounds: 1,
    durationS: 1,
    warmupS: 0,
    scenarios: ["4k-gzip", "1m-js-gzip", "hash"],
    servers: ["ours", "nginx"],
    base: null,
    pinning: "servers on CPU 0 and wrk on CPU 1",
    skipped: [],
    fairness: [],
    runs: [
      {
        scenario: "4k-gzip",
        server: "ours",
        round: 1,
        summary: summary(1000, 1_500_000),
        cpuMs: 50,
        error: null,
      },
      {
        scenario: "4k-gzip",
        server: "nginx",
        round: 1,
        summary: summary(2000, 4_000_000),
        cpuMs: 200,
        error: null,
      },
      {
        scenario: "1m-js-gzip",
        server: "ours",
        round: 1,
        summary: summary(100, 30_000_000),
        cpuMs: 1000,
        error: null,
      },
      {
        scenario: "1m-js-gzip",
        server: "nginx",
        round: 1,
        summary: null,
        cpuMs: null,
        error: "wrk failed",
      },
    ],
    memory: [],
    startup: [],
    encodings: [
      { scenario: "4k-gzip", server: "ours", coding: "br" },
      { scenario: "4k-gzip", server: "nginx", coding: "gzip" },
    ],
    hashing: {
      timings: [{ name: "contentTag", bytes: 100_000_000, samplesMs: [400, 500, 300] }],
      error: null,
    },
    notes: [],
  };
}

Deno.test("formatReport() gives bytes and CPU per response of compressed scenarios, and hashing", () => {
  const report = formatReport(compressedResults());
  assertEquals(tableCell(report, "ours", "4 KiB compressed coding"), "br");
  assertEquals(tableCell(report, "ours", "4 KiB compressed B/resp"), "1,500");
  assertEquals(tableCell(report, "ours", "4 KiB compressed CPU µs/resp"), "50.0");
  assertEquals(tableCell(report, "nginx", "4 KiB compressed CPU µs/resp"), "100");
  assertEquals(tableCell(report, "ours ÷ nginx", "4 KiB compressed CPU µs/resp"), "0.50×");
  assertEquals(tableCell(report, "ours", "1 MiB JS compressed CPU µs/resp"), "10,000");
  assertEquals(tableCell(report, "nginx", "1 MiB JS compressed B/resp"), "—");
  assertEquals(tableCell(report, "contentTag", "MB/s"), "250");
});

Deno.test("formatReport() gives every server's CPU per request with ratios, and the pinning", () => {
  const report = formatReport(compressedResults());
  assertEquals(tableCell(report, "ours", "4 KiB compressed µs"), "50.0");
  assertEquals(tableCell(report, "nginx", "4 KiB compressed µs"), "100");
  assertEquals(tableCell(report, "ours ÷ nginx", "4 KiB compressed µs"), "0.50×");
  assertEquals(tableCell(report, "nginx", "1 MiB JS compressed µs"), "—");
  assert(report.includes("## Server CPU per request (µs)"), report);
  assert(report.includes("servers on CPU 0 and wrk on CPU 1."), report);
});

/** A result of the two fairness scenarios, for the fairness table's layout. */
function fairnessResults(): BenchResults {
  const errors = { connect: 0, reset: 0, closed: 0, timeout: 0, status: 0, protocol: 0 };
  const summary = {
    connections: 1000,
    seconds: 5,
    requestsPerSecond: 40_000,
    requests: 200_000,
    min: 190,
    p1: 195,
    median: 200.5,
    p99: 205,
    max: 230,
    spread: 0.05,
    starved: 0,
    errors,
    connectSeconds: 0.2,
    clientCpu: 0.5,
  };
  const record = { scenario: "fair1000", connections: 1000, durationS: 5, warmupS: 1 } as const;
  return {
    ...compressedResults(),
    scenarios: ["fair1000", "fair10k"],
    runs: [],
    encodings: [],
    hashing: null,
    fairness: [
      { ...record, server: "ours", summary, error: null },
      {
        ...record,
        server: "nginx",
        summary: {
          ...summary,
          min: 0,
          median: 0,
          spread: null,
          starved: 600,
          clientCpu: 0.95,
          errors: { ...errors, connect: 3, timeout: 1_200 },
        },
        error: null,
      },
      {
        scenario: "fair10k",
        server: "ours",
        connections: 10_000,
        durationS: 5,
        warmupS: 1,
        summary: null,
        error: "fairness generator failed: boom.",
      },
    ],
  };
}

Deno.test("formatReport() gives each fairness run's figures, its errors and a busy generator", () => {
  const report = formatReport(fairnessResults());
  assert(report.includes("## Fairness"), report);
  assertEquals(tableCell(report, "ours", "req/s"), "40,000");
  assertEquals(tableCell(report, "ours", "Per connection min / median / max"), "190 / 200.5 / 230");
  assertEquals(tableCell(report, "ours", "Spread (%)"), "5.00");
  assertEquals(tableCell(report, "nginx", "Spread (%)"), "n/a");
  assertEquals(tableCell(report, "nginx", "Starved"), "600");
  assertEquals(tableCell(report, "nginx", "Errors"), "1,203");
  assert(
    report.includes("nginx, 1,000 conn fairness: generator errors: connect 3, timeout 1,200."),
  );
  assert(report.includes("nginx, 1,000 conn fairness: the generator used 95 % of its CPU"));
  assert(
    report.includes(
      "ours (portico), 10,000 conn fairness: failed: fairness generator failed: boom.",
    ),
  );
  assert(
    report.includes("- 10,000 conn fairness: `node bench/fairness.mjs` with 10,000 keep-alive"),
  );
  assert(report.includes("`ulimit -n 65536`"), report);
});

/** One round of each rule scenario, ours only; rules200 at `ratio200` of rules0's rate. */
function rulesResults(ratio200: number): BenchResults {
  const run = (scenario: "rules0" | "rules200" | "rules-hit", requests: number) => ({
    scenario,
    server: "ours" as const,
    round: 1,
    summary: {
      requests,
      bytes: requests * 200,
      durationUs: 1_000_000,
      p99Us: 1000,
      errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
    },
    cpuMs: requests / 40,
    error: null,
  });
  return {
    ...compressedResults(),
    scenarios: ["12b", "rules0", "rules200", "rules-hit"],
    runs: [run("rules0", 40_000), run("rules200", 40_000 * ratio200), run("rules-hit", 5_000)],
    encodings: [],
    hashing: null,
  };
}

Deno.test("formatReport() gives rules ÷ no rules with the 10 % goal met or missed", () => {
  const met = formatReport(rulesResults(0.95));
  assert(met.includes("## Site rules"), met);
  assert(met.includes("requests/s within 10 % of the baseline"), met);
  assertEquals(tableCell(met, "12 B no rules", "req/s ÷ baseline"), "baseline");
  assertEquals(tableCell(met, "12 B 250 rules", "req/s"), "38,000");
  assertEquals(tableCell(met, "12 B 250 rules", "req/s ÷ baseline"), "0.95×");
  assertEquals(tableCell(met, "12 B 250 rules", "Goal for req/s ÷ baseline"), "met (≥ 0.90×)");
  assertEquals(tableCell(met, "12 B rule hit", "req/s ÷ baseline"), "0.13×");
  assertEquals(tableCell(met, "12 B rule hit", "Goal for req/s ÷ baseline"), "none");
  assertEquals(tableCell(met, "12 B rule hit", "CPU µs/req"), "25.0");
  assert(met.includes("measured in the same rounds as 12 B no rules"), met);
  assertEquals(tableCell(met, "ours ÷ nginx", "12 B 250 rules"), null);
  const missed = formatReport(rulesResults(0.85));
  assertEquals(
    tableCell(missed, "12 B 250 rules", "Goal for req/s ÷ baseline"),
    "missed (≥ 0.90×)",
  );
});

Deno.test("placed() pins with taskset, raises the descriptor limit with bash, and keeps the pid", () => {
  const none = { cpus: null, openFiles: null };
  assertEquals(placed("wrk", ["-t1"], none, "/usr/bin/taskset"), { command: "wrk", args: ["-t1"] });
  assertEquals(placed("wrk", ["-t1"], { cpus: "1", openFiles: null }, null), {
    command: "wrk",
    args: ["-t1"],
  });
  const both = placed("nginx", ["-c", "x"], { cpus: "0", openFiles: 65536 }, "/usr/bin/taskset");
  assertEquals(both.command, "bash");
  assertEquals(both.args.slice(2), ["bash", "/usr/bin/taskset", "-c", "0", "nginx", "-c", "x"]);
  assert(both.args[1].includes("ulimit -n 65536") && both.args[1].includes('exec "$@"'));
});

/** One round of three HTTPS scenarios: ours and nginx, nginx failing with `Connection: close`. */
function httpsResults(): BenchResults {
  const run = (
    scenario: "tls-12b" | "tls-100m" | "tls-close",
    server: "ours" | "nginx",
    requests: number,
    bytes: number,
  ) => ({
    scenario,
    server,
    round: 1,
    summary: {
      requests,
      bytes,
      durationUs: 1_000_000,
      p99Us: 1000,
      errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
    },
    cpuMs: null,
    error: null,
  });
  return {
    ...compressedResults(),
    scenarios: ["tls-12b", "tls-100m", "tls-close"],
    runs: [
      run("tls-12b", "ours", 9_000, 9_000 * 200),
      run("tls-12b", "nginx", 10_000, 10_000 * 200),
      run("tls-100m", "ours", 20, 2e9),
      run("tls-100m", "nginx", 10, 1e9),
      run("tls-close", "ours", 1_000, 1_000 * 200),
      { ...run("tls-close", "nginx", 0, 0), summary: null, error: "wrk failed" },
    ],
    encodings: [],
    hashing: null,
  };
}

Deno.test("formatReport() gives ours ÷ nginx in each HTTPS scenario against the goal of 1", () => {
  const report = formatReport(httpsResults());
  assert(report.includes("## HTTPS"), report);
  assert(report.includes("**Goal: at least nginx's figure in each (≥ 1.00×).**"), report);
  assertEquals(tableCell(report, "HTTPS 12 B (req/s)", "Figure"), "9,000");
  assertEquals(tableCell(report, "HTTPS 12 B (req/s)", "nginx's figure"), "10,000");
  assertEquals(tableCell(report, "HTTPS 12 B (req/s)", "÷ nginx"), "0.90×");
  assertEquals(tableCell(report, "HTTPS 12 B (req/s)", "Goal"), "missed (≥ 1.00×)");
  assertEquals(tableCell(report, "HTTPS 100 MiB (GB/s)", "÷ nginx"), "2.00×");
  assertEquals(tableCell(report, "HTTPS 100 MiB (GB/s)", "Goal"), "met (≥ 1.00×)");
  assertEquals(tableCell(report, "HTTPS Connection: close (req/s)", "nginx's figure"), "failed");
  assertEquals(tableCell(report, "HTTPS Connection: close (req/s)", "Goal"), "— (≥ 1.00×)");
  assert(report.includes("- HTTPS 12 B: `wrk -t1 -c50` GET /12b over HTTPS (only ours, nginx"));
  assertEquals(formatReport(compressedResults()).includes("## HTTPS"), false);
});

Deno.test("porticoLaunch() and nginxConfig() serve HTTPS with the plan's certificate", () => {
  const plain: Plan = {
    key: "ours",
    port: 8443,
    workers: 1,
    corpus: "/c",
    prefix: "/p",
    checkout: "/r",
    config: null,
    tls: null,
  };
  const tls = { ca: "/t/ca.pem", cert: "/t/cert.pem", key: "/t/key.pem" };
  const args = porticoLaunch("deno", { ...plain, tls }).args;
  assertEquals(args.slice(args.indexOf("--cert"), args.indexOf("--cert") + 4), [
    "--cert",
    "/t/cert.pem",
    "--key",
    "/t/key.pem",
  ]);
  assertEquals(porticoLaunch("deno", plain).args.includes("--cert"), false);
  const config = nginxConfig({ ...plain, key: "nginx", tls }, "");
  assert(config.includes("listen 127.0.0.1:8443 ssl;"), config);
  assert(config.includes('ssl_certificate "/t/cert.pem";'), config);
  assert(config.includes('ssl_certificate_key "/t/key.pem";'), config);
  assert(config.includes("ssl_protocols TLSv1.2 TLSv1.3;"), config);
  const plainConfig = nginxConfig({ ...plain, key: "nginx" }, "");
  assert(plainConfig.includes("listen 127.0.0.1:8443;"), plainConfig);
  assertEquals(plainConfig.includes("ssl"), false);
});

/** Serves one fixed 200 per TLS connection until the listener is closed. */
async function answerOverTls(listener: Deno.TlsListener): Promise<void> {
  const reply = new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  for await (const conn of listener) {
    try {
      await conn.read(new Uint8Array(4096));
      await conn.write(reply);
    } catch {
      // A client that refused the certificate closed its end.
    } finally {
      conn.close();
    }
  }
}

Deno.test({
  name: "makeCertificate() makes a leaf rustls serves and getOverTls() verifies against its CA" +
    (which("openssl") === null ? " (ignored: openssl is not installed)" : ""),
  ignore: which("openssl") === null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "portico_bench_tls_" });
    const other = await Deno.makeTempDir({ prefix: "portico_bench_tls_" });
    try {
      const openssl = which("openssl") ?? "openssl";
      const files = await makeCertificate(openssl, dir);
      const stranger = await makeCertificate(openssl, other);
      const listener = Deno.listenTls({
        hostname: "127.0.0.1",
        port: 0,
        cert: await Deno.readTextFile(files.cert),
        key: await Deno.readTextFile(files.key),
      });
      const served = answerOverTls(listener);
      try {
        const port = listener.addr.port;
        assertEquals(await getOverTls(port, "/12b", await Deno.readTextFile(files.ca)), 200);
        const strangerCa = await Deno.readTextFile(stranger.ca);
        await assertRejects(() => getOverTls(port, "/12b", strangerCa));
      } finally {
        listener.close();
        await served;
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(other, { recursive: true });
    }
  },
});

/** Command lines that are mistakes, and a part of the message each gives. */
const REJECTED: ReadonlyArray<[string[], string]> = [
  [["--base"], "--base needs a value"],
  [["--base="], "--base needs a value"],
  [["--base", "--smoke"], "--base needs a value"],
  [["--base", "-x"], "--base needs a value"],
  [["--base", "a", "--base", "b"], "--base given twice"],
  [["--servers", "base"], 'unknown name "base"'],
  [["--duration", "0.5s"], "--duration must be whole seconds"],
  [["--rounds", "0"], "--rounds must be an integer"],
  [["main"], 'unexpected argument "main"'],
];

Deno.test("parseOptions() rejects a --base without a revision and other mistakes", () => {
  for (const [args, message] of REJECTED) {
    assertThrows(() => parseOptions(args, "results.md"), UsageError, message);
  }
});

/** Why the smoke run cannot be tested here, or null. */
const SKIP_REASON = which("wrk") === null
  ? "wrk is not installed (apt-get install wrk), and --smoke does not install it"
  : which("node") === null
  ? "node is not installed: the fairness generator runs on Node.js"
  : which("openssl") === null
  ? "openssl is not installed: it makes the HTTPS scenario's certificate"
  : null;

/** The cell in column `column` of the first row starting with `row`, in the table that has that column. */
function tableCell(markdown: string, row: string, column: string): string | null {
  const cells = (line: string) =>
    line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
  const lines = markdown.split("\n");
  const header = lines.findIndex((line) => line.startsWith("|") && cells(line).includes(column));
  if (header === -1) return null;
  const index = cells(lines[header]).indexOf(column);
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    if (cells(line)[0].startsWith(row)) return cells(line)[index] ?? null;
  }
  return null;
}

Deno.test({
  name: "bench.ts --smoke exits 0 and reports a positive req/s for ours from wrk, fairness, " +
    "site rules and HTTPS" +
    (SKIP_REASON === null ? "" : ` (ignored: ${SKIP_REASON})`),
  ignore: SKIP_REASON !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "portico_bench_test_" });
    try {
      const result = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          BENCH,
          "--smoke",
          "--scenarios",
          "12b,fair1000,rules200,tls-12b",
          "--out",
          `${dir}/smoke.md`,
        ],
        env: { NO_COLOR: "1" },
        stdin: "null",
        signal: AbortSignal.timeout(120_000),
      }).output();
      const output = new TextDecoder().decode(result.stdout) +
        new TextDecoder().decode(result.stderr);
      assertEquals(result.code, 0, output);
      const report = await Deno.readTextFile(`${dir}/smoke.md`);
      const cell = tableCell(report, "ours", "12 B (req/s)");
      assert(cell !== null, `no "ours" row with a "12 B (req/s)" cell in:\n${report}`);
      assert(Number(cell.replaceAll(",", "")) > 0, `ours' 12 B cell is "${cell}"\n${report}`);
      // A rules run is recorded as failed unless the probe was redirected as the rules say.
      const rules = tableCell(report, "ours", "12 B 250 rules (req/s)");
      assert(Number(rules?.replaceAll(",", "")) > 0, `ours' rules cell is "${rules}"\n${report}`);
      // Over HTTPS: the server answered a verified GET before wrk's run, or the run is recorded failed.
      const https = tableCell(report, "ours", "HTTPS 12 B (req/s)");
      assert(Number(https?.replaceAll(",", "")) > 0, `ours' HTTPS cell is "${https}"\n${report}`);
      const raw = JSON.parse(await Deno.readTextFile(`${dir}/smoke.json`));
      assertEquals(raw.servers, ["ours", "deno"]);
      const fair = tableCell(report, "ours", "req/s");
      assert(Number(fair?.replaceAll(",", "")) > 0, `ours' fairness req/s is "${fair}"\n${report}`);
      assertEquals(tableCell(report, "ours", "Connections"), "20");
      assertEquals(raw.fairness.map((r: { server: string }) => r.server), ["ours", "deno"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

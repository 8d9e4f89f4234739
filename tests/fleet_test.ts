/**
 * The rolling-restart proof (`bench/fleet.ts`): its option parsing, the
 * readers of wrk's summary and of HAProxy's `show stat`, the HAProxy
 * configuration, the ETag comparison and the verdict (tables), and the
 * short run end to end as a subprocess, which must exit 0 and print
 * "0 failed". The short run needs haproxy and wrk; without them that test
 * is ignored and its name says why.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertStringIncludes, assertThrows } from "./_deps.ts";
import {
  compareValidators,
  type FleetFigures,
  type FleetOptions,
  formatReport,
  haproxyConfig,
  parseFleetOptions,
  parseShowStat,
  parseWrkText,
  type Validators,
  verdict,
} from "../bench/fleet.ts";
import { UsageError } from "../bench/_options.ts";
import { which } from "../bench/_servers.ts";

const FLEET = decodeURIComponent(new URL("../bench/fleet.ts", import.meta.url).pathname);

/** Command lines and the options they give (only the fields named). */
const PARSED: ReadonlyArray<[string[], Partial<FleetOptions>]> = [
  [[], { durationS: 30, replicas: 3, downloadMiB: 100, short: false, help: false }],
  [["--short"], { durationS: 10, replicas: 3, downloadMiB: 16, short: true }],
  [["--short", "--download-mib", "20"], { durationS: 10, downloadMiB: 20 }],
  [["--duration", "1m", "--replicas", "5"], { durationS: 60, replicas: 5, downloadMiB: 100 }],
  [["--duration=45s", "--download-mib=4096"], { durationS: 45, downloadMiB: 4096 }],
  [["--help"], { help: true }],
];

Deno.test("parseFleetOptions() reads each command line of the table", () => {
  for (const [args, expected] of PARSED) {
    const options = parseFleetOptions(args);
    const picked = Object.fromEntries(
      Object.keys(expected).map((key) => [key, options[key as keyof FleetOptions]]),
    );
    assertEquals(picked, expected, args.join(" "));
  }
});

/** Command lines refused, and a word of each message. */
const REFUSED: ReadonlyArray<[string[], string]> = [
  [["--replicas", "1"], "--replicas"],
  [["--replicas", "17"], "--replicas"],
  [["--replicas", "three"], "--replicas"],
  [["--download-mib", "0"], "--download-mib"],
  [["--duration", "2s"], "--duration"],
  [["--duration", "10x"], "--duration"],
  [["--wat"], "unknown"],
  [["extra"], "unknown"],
];

Deno.test("parseFleetOptions() refuses each malformed command line with a UsageError", () => {
  for (const [args, word] of REFUSED) {
    const error = assertThrows(() => parseFleetOptions(args), UsageError);
    assertStringIncludes(error.message, word, args.join(" "));
  }
});

/** What wrk 4 prints with `--latency`, with errors and bad statuses. */
const WRK_OUTPUT = `Running 10s test @ http://127.0.0.1:41234/
  1 threads and 20 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms    2.10ms  45.67ms   93.12%
    Req/Sec    13.10k     1.02k   14.50k    80.00%
  Latency Distribution
     50%    1.10ms
     75%    1.50ms
     90%    2.20ms
     99%   10.45ms
  130456 requests in 10.00s, 1.50GB read
  Socket errors: connect 4, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 3
Requests/sec:  13045.60
Transfer/sec:    153.60MB
`;

Deno.test("parseWrkText() reads requests, socket errors, bad statuses and p99", () => {
  assertEquals(parseWrkText(WRK_OUTPUT), {
    requests: 130456,
    seconds: 10,
    socketErrors: { connect: 4, read: 2, write: 0, timeout: 1 },
    badStatus: 3,
    p99Ms: 10.45,
  });
});

Deno.test("parseWrkText() counts zero errors when wrk prints no error lines", () => {
  const clean = WRK_OUTPUT.split("\n")
    .filter((line) => !/Socket errors|Non-2xx/.test(line))
    .join("\n")
    .replace("99%   10.45ms", "99%  1.20s");
  const figures = parseWrkText(clean);
  assertEquals(figures.socketErrors, { connect: 0, read: 0, write: 0, timeout: 0 });
  assertEquals(figures.badStatus, 0);
  assertEquals(figures.p99Ms, 1200);
});

Deno.test("parseWrkText() refuses output without a request count", () => {
  assertThrows(() => parseWrkText("unable to connect to 127.0.0.1:1\n"), SyntaxError);
});

/** The start of HAProxy 2.6's `show stat` (its lines have many more columns). */
const SHOW_STAT =
  `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,
fleet,FRONTEND,,,21,22,4096,40,1000,2000,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,10,0,20,,
replicas,r0,0,0,7,8,,13,500,900,,0,,0,0,0,0,UP,1,1,0,0,0,5,0,,1,3,1,,13,,2,4,,8,L7OK,
replicas,r1,0,0,0,8,,12,500,900,,0,,0,0,0,0,DOWN,1,1,0,2,1,1,0,,1,3,2,,12,,2,4,,8,L7STS,
replicas,BACKEND,0,0,7,16,410,25,1000,1800,0,0,,0,0,2,5,UP,1,1,0,,1,5,0,,1,3,0,,25,,1,8,,16,,

`;

Deno.test("parseShowStat() keys every row by the header's column names", () => {
  const rows = parseShowStat(SHOW_STAT);
  assertEquals(rows.length, 4);
  assertEquals(rows.map((row) => `${row.pxname}/${row.svname}`), [
    "fleet/FRONTEND",
    "replicas/r0",
    "replicas/r1",
    "replicas/BACKEND",
  ]);
  assertEquals([rows[1].status, rows[1].check_status], ["UP", "L7OK"]);
  assertEquals([rows[2].status, rows[2].check_status], ["DOWN", "L7STS"]);
  assertEquals([rows[0].scur, rows[3].wretr, rows[3].wredis], ["21", "2", "5"]);
});

Deno.test("parseShowStat() refuses an answer without a header line", () => {
  assertThrows(() => parseShowStat("Unknown command\n"), SyntaxError);
});

Deno.test("haproxyConfig() checks the health path and retries elsewhere", () => {
  const config = haproxyConfig({
    port: 8123,
    socket: "/tmp/fleet/haproxy.sock",
    replicas: [{ name: "r0", port: 9001 }, { name: "r1", port: 9002 }],
  });
  const lines = config.split("\n").map((line) => line.trim());
  for (
    const line of [
      "stats socket /tmp/fleet/haproxy.sock mode 600 level admin",
      "bind 127.0.0.1:8123",
      "option httpchk GET /healthz",
      "http-check expect status 200",
      "default-server inter 200ms fall 2 rise 1",
      "retries 3",
      "option redispatch",
      "retry-on conn-failure empty-response response-timeout",
      "server r0 127.0.0.1:9001 check",
      "server r1 127.0.0.1:9002 check",
    ]
  ) {
    assert(lines.includes(line), `no line "${line}" in:\n${config}`);
  }
});

const DAY_1 = "Mon, 01 Jan 2024 00:00:00 GMT";
const DAY_2 = "Tue, 02 Jan 2024 00:00:00 GMT";

/** Validators from two replicas, and what the comparison says of them. */
const COMPARED: ReadonlyArray<[string, Validators[], { same: boolean; datesDiffer: boolean }]> = [
  ["equal tags, other dates", [{ etag: '"a"', lastModified: DAY_1 }, {
    etag: '"a"',
    lastModified: DAY_2,
  }], { same: true, datesDiffer: true }],
  ["other tags", [{ etag: '"a"', lastModified: DAY_1 }, { etag: '"b"', lastModified: DAY_2 }], {
    same: false,
    datesDiffer: true,
  }],
  ["no tag anywhere", [{ etag: null, lastModified: DAY_1 }, { etag: null, lastModified: DAY_2 }], {
    same: false,
    datesDiffer: true,
  }],
  ["equal dates", [{ etag: '"a"', lastModified: DAY_1 }, { etag: '"a"', lastModified: DAY_1 }], {
    same: true,
    datesDiffer: false,
  }],
];

Deno.test("compareValidators() wants equal ETags and different dates", () => {
  for (const [label, validators, expected] of COMPARED) {
    const check = compareValidators(new Map([["/a", validators], ["/b", validators]]));
    assertEquals(check.files, 2, label);
    assertEquals(check.differing, expected.same ? [] : ["/a", "/b"], label);
    assertEquals(check.datesDiffer, expected.datesDiffer, label);
  }
});

/** The figures of a run that passed. */
function passing(): FleetFigures {
  return {
    load: {
      requests: 1000,
      seconds: 10,
      socketErrors: { connect: 0, read: 0, write: 0, timeout: 0 },
      badStatus: 0,
      p99Ms: 5,
    },
    loadCovered: true,
    balancer: { retries: 0, redispatches: 0 },
    download: {
      bytes: 64,
      expected: 64,
      firstDifference: null,
      replica: "r1",
      crossedRestart: true,
      error: null,
    },
    restarts: [{ name: "r1", outMs: 400, exitMs: 1100, exitCode: 0, upMs: 500 }],
    validators: { files: 7, differing: [], datesDiffer: true },
    agreedMs: 10,
  };
}

/** One thing broken in a passing run, and a word of the reason the verdict gives. */
const BROKEN: ReadonlyArray<[(figures: FleetFigures) => FleetFigures, string]> = [
  [(f) => ({ ...f, load: { ...f.load, badStatus: 2 } }), "2 requests failed"],
  [
    (f) => ({ ...f, load: { ...f.load, socketErrors: { ...f.load.socketErrors, read: 1 } } }),
    "1 requests failed",
  ],
  [(f) => ({ ...f, load: { ...f.load, requests: 0 } }), "no request"],
  [(f) => ({ ...f, loadCovered: false }), "load ended"],
  [(f) => ({ ...f, download: { ...f.download, bytes: 60 } }), "60 bytes"],
  [(f) => ({ ...f, download: { ...f.download, firstDifference: 7 } }), "byte 7"],
  [(f) => ({ ...f, download: { ...f.download, error: "reset" } }), "reset"],
  [(f) => ({ ...f, download: { ...f.download, crossedRestart: false } }), "did not cross"],
  [(f) => ({ ...f, restarts: [{ ...f.restarts[0], exitCode: 1 }] }), "exited with an error"],
  [(f) => ({ ...f, validators: { ...f.validators, differing: ["/a"] } }), "ETags differ for /a"],
  [(f) => ({ ...f, validators: { ...f.validators, datesDiffer: false } }), "different dates"],
];

Deno.test("verdict() finds nothing in a passing run and names each broken promise", () => {
  assertEquals(verdict(passing()), []);
  for (const [breakIt, word] of BROKEN) {
    const reasons = verdict(breakIt(passing()));
    assertEquals(reasons.length, 1, word);
    assertStringIncludes(reasons[0], word);
  }
});

Deno.test("formatReport() prints 0 failed and pass for a passing run, FAIL otherwise", () => {
  const options = parseFleetOptions(["--short"]);
  const report = formatReport(options, passing()).join("\n");
  assertMatch(report, /^requests: 1000 \(100\/s, p99 5\.00 ms\), 0 failed /m);
  assertMatch(report, /^download: 64 of 64 bytes, byte-exact, from r1/m);
  assertMatch(report, /^restart r1: out of rotation after 0\.40 s, exited 0 after 1\.10 s/m);
  assertEquals(report.split("\n").at(-1), "pass");
  const failed = passing();
  const broken = { ...failed, load: { ...failed.load, badStatus: 3 } };
  const lines = formatReport(options, broken);
  assertMatch(lines.join("\n"), /, 3 failed /);
  assertEquals(lines.at(-1), "FAIL: 3 requests failed");
});

/** Why the short run cannot be tested here, or null. */
const SKIP_REASON = which("haproxy") === null
  ? "haproxy is not installed (apt-get install haproxy)"
  : which("wrk") === null
  ? "wrk is not installed (apt-get install wrk)"
  : null;

Deno.test({
  name: "fleet.ts --short exits 0 and prints 0 failed through a rolling restart behind HAProxy" +
    (SKIP_REASON === null ? "" : ` (ignored: ${SKIP_REASON})`),
  ignore: SKIP_REASON !== null,
  async fn() {
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", FLEET, "--short"],
      env: { NO_COLOR: "1" },
      stdin: "null",
      signal: AbortSignal.timeout(240_000),
    }).output();
    const stdout = new TextDecoder().decode(result.stdout);
    const output = `${stdout}\n${new TextDecoder().decode(result.stderr)}`;
    assertEquals(result.code, 0, output);
    assertMatch(stdout, /^requests: [1-9][0-9]* .*, 0 failed /m, output);
    assertMatch(
      stdout,
      /^download: .*byte-exact.*still sending after its replica stopped/m,
      output,
    );
    assertEquals(stdout.match(/^restart r[0-9]+:/gm)?.length, 3, output);
    assertEquals(stdout.trim().split("\n").at(-1), "pass", output);
  },
});

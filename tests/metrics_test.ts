import { assert, assertEquals, assertNotEquals, assertThrows } from "./_deps.ts";
import { parsePrometheus, sampleValue } from "./_prometheus.ts";
import {
  DURATION_BUCKETS,
  type FamilySnapshot,
  mergeSnapshots,
  METHOD_LABELS,
  methodIndex,
  type MetricSpec,
  MetricsRegistry,
  type MetricsSnapshot,
  registerTable,
  renderPrometheus,
  SERVER_METRICS,
  serverMetrics,
  STATUS_CLASS_LABELS,
  statusClassIndex,
  TIMEOUT_KIND,
  TIMEOUT_KINDS,
  TLS_RESULT,
} from "../lib/metrics.ts";

/** A small registry with one metric of each shape, updated by hand. */
function demoRegistry(): MetricsRegistry {
  const registry = new MetricsRegistry();
  const { served, answers, open, sizes } = registerTable(registry, {
    served: { kind: "counter", name: "demo_served_total", help: "Requests served" },
    answers: {
      kind: "counter",
      name: "demo_answers_total",
      help: "Answers by kind and class",
      labels: [
        { name: "kind", values: ["yes", "no"] },
        { name: "class", values: ["2xx", "5xx"] },
      ],
    },
    open: { kind: "gauge", name: "demo_open", help: "Open now", merge: "sum" },
    sizes: {
      kind: "histogram",
      name: "demo_size_bytes",
      help: "Sizes",
      labels: [{ name: "type", values: ["html"] }],
      buckets: [100, 1000, 1e4],
    },
  });
  served.inc(3);
  answers.at(0, 0).inc();
  answers.at(1, 1).inc(2);
  open.inc(4);
  open.dec();
  for (const size of [100, 250, 5e4, 0.5]) sizes.at(0).observe(size);
  return registry;
}

const DEMO_GOLDEN = [
  "# HELP demo_served_total Requests served",
  "# TYPE demo_served_total counter",
  "demo_served_total 3",
  "# HELP demo_answers_total Answers by kind and class",
  "# TYPE demo_answers_total counter",
  'demo_answers_total{kind="yes",class="2xx"} 1',
  'demo_answers_total{kind="yes",class="5xx"} 0',
  'demo_answers_total{kind="no",class="2xx"} 0',
  'demo_answers_total{kind="no",class="5xx"} 2',
  "# HELP demo_open Open now",
  "# TYPE demo_open gauge",
  "demo_open 3",
  "# HELP demo_size_bytes Sizes",
  "# TYPE demo_size_bytes histogram",
  'demo_size_bytes_bucket{type="html",le="100"} 2',
  'demo_size_bytes_bucket{type="html",le="1000"} 3',
  'demo_size_bytes_bucket{type="html",le="10000"} 3',
  'demo_size_bytes_bucket{type="html",le="+Inf"} 4',
  'demo_size_bytes_sum{type="html"} 50350.5',
  'demo_size_bytes_count{type="html"} 4',
].join("\n") + "\n";

Deno.test("renderPrometheus() writes the golden text of a small registry", () => {
  const text = renderPrometheus(demoRegistry().snapshot());
  assertEquals(text, DEMO_GOLDEN);
  parsePrometheus(text);
});

Deno.test("renderPrometheus() of nothing is empty", () => {
  assertEquals(renderPrometheus({ families: [] }), "");
});

Deno.test("renderPrometheus() output parses back to the values recorded", () => {
  const metrics = serverMetrics();
  metrics.requests.at(methodIndex("GET"), statusClassIndex(200)).inc(5);
  metrics.requests.at(methodIndex("BREW"), statusClassIndex(418)).inc();
  metrics.responseBytes.inc(1234);
  metrics.requestDuration.observe(0.003);
  metrics.requestDuration.observe(12);
  metrics.connectionsOpen.set(7);
  metrics.timeouts.at(TIMEOUT_KIND.handshake).inc(2);
  metrics.tlsHandshakes.at(TLS_RESULT.failed).inc();
  const parsed = parsePrometheus(renderPrometheus(metrics.registry.snapshot()));
  const expected: [string, Record<string, string>, number][] = [
    ["portico_requests_total", { method: "GET", class: "2xx" }, 5],
    ["portico_requests_total", { method: "other", class: "4xx" }, 1],
    ["portico_requests_total", { method: "POST", class: "5xx" }, 0],
    ["portico_response_bytes_total", {}, 1234],
    ["portico_request_duration_seconds_bucket", { le: "0.001" }, 0],
    ["portico_request_duration_seconds_bucket", { le: "0.005" }, 1],
    ["portico_request_duration_seconds_bucket", { le: "10" }, 1],
    ["portico_request_duration_seconds_bucket", { le: "+Inf" }, 2],
    ["portico_request_duration_seconds_sum", {}, 12.003],
    ["portico_request_duration_seconds_count", {}, 2],
    ["portico_connections_open", {}, 7],
    ["portico_timeouts_total", { kind: "handshake" }, 2],
    ["portico_timeouts_total", { kind: "idle" }, 0],
    ["portico_tls_handshakes_total", { result: "failed" }, 1],
    ["portico_worker_restarts_total", {}, 0],
  ];
  for (const [name, labels, value] of expected) {
    assertEquals(sampleValue(parsed, name, labels), value, `${name} ${JSON.stringify(labels)}`);
  }
});

Deno.test("serverMetrics() declares every metric of the table with all its series", () => {
  const parsed = parsePrometheus(renderPrometheus(serverMetrics().registry.snapshot()));
  const specs: readonly MetricSpec[] = Object.values(SERVER_METRICS);
  assertEquals(
    parsed.declarations,
    specs.map(({ name, help, kind }) => ({ name, help, type: kind })),
  );
  const count = (prefix: string) => parsed.samples.filter((s) => s.name.startsWith(prefix)).length;
  assertEquals(count("portico_requests_total"), METHOD_LABELS.length * STATUS_CLASS_LABELS.length);
  assertEquals(count("portico_timeouts_total"), TIMEOUT_KINDS.length);
  // Each bound, +Inf, _sum and _count.
  assertEquals(count("portico_request_duration_seconds"), DURATION_BUCKETS.length + 3);
  assertEquals(DURATION_BUCKETS[0], 0.001);
  assertEquals(DURATION_BUCKETS[DURATION_BUCKETS.length - 1], 10);
  assert(parsed.samples.every((s) => s.value === 0));
});

Deno.test("renderPrometheus() escapes help text and label values", () => {
  const registry = new MetricsRegistry();
  const values = ['say "hi"', "C:\\dir\\", "two\nlines", "plain"];
  const family = registry.register({
    kind: "counter",
    name: "odd_total",
    help: 'Back\\slash and\nnew line, "quotes" kept',
    labels: [{ name: "value", values }],
  });
  values.forEach((_, i) => family.at(i).inc(i + 1));
  const text = renderPrometheus(registry.snapshot());
  assertEquals(
    text.split("\n").slice(0, 6),
    [
      '# HELP odd_total Back\\\\slash and\\nnew line, "quotes" kept',
      "# TYPE odd_total counter",
      'odd_total{value="say \\"hi\\""} 1',
      'odd_total{value="C:\\\\dir\\\\"} 2',
      'odd_total{value="two\\nlines"} 3',
      'odd_total{value="plain"} 4',
    ],
  );
  const parsed = parsePrometheus(text);
  assertEquals(parsed.declarations[0].help, 'Back\\slash and\nnew line, "quotes" kept');
  assertEquals(parsed.samples.map((s) => s.labels.value), values);
});

Deno.test("renderPrometheus() writes infinities and NaN as the format spells them", () => {
  const registry = new MetricsRegistry();
  const { up, down, unknown } = registerTable(registry, {
    up: { kind: "gauge", name: "up", help: "Up", merge: "max" },
    down: { kind: "gauge", name: "down", help: "Down", merge: "max" },
    unknown: { kind: "gauge", name: "unknown", help: "Unknown", merge: "max" },
  });
  up.set(Infinity);
  down.set(-Infinity);
  unknown.set(NaN);
  const lines = renderPrometheus(registry.snapshot()).split("\n");
  assertEquals(lines.filter((line) => !line.startsWith("#")), [
    "up +Inf",
    "down -Inf",
    "unknown NaN",
    "",
  ]);
  const parsed = parsePrometheus(lines.join("\n"));
  assertEquals(sampleValue(parsed, "up"), Infinity);
  assert(Number.isNaN(sampleValue(parsed, "unknown")));
});

Deno.test("Histogram.observe() counts a value equal to a bound in that bucket", () => {
  const registry = new MetricsRegistry();
  const histogram = registry.register({
    kind: "histogram",
    name: "h",
    help: "H",
    buckets: [0.001, 0.01, 1, 10],
  });
  const cases: [number, number][] = [
    [-5, 0],
    [0, 0],
    [0.001, 0],
    [0.0010000001, 1],
    [0.01, 1],
    [1, 2],
    [1.5, 3],
    [10, 3],
    [10.000001, 4],
    [Infinity, 4],
  ];
  for (const [value, bucket] of cases) {
    const before = histogram.counts();
    histogram.observe(value);
    const after = histogram.counts();
    assertEquals(
      after.map((n, i) => n - before[i]),
      after.map((_, i) => i === bucket ? 1 : 0),
      `${value}`,
    );
  }
  assertEquals(histogram.count, cases.length);
  const parsed = parsePrometheus(renderPrometheus(registry.snapshot()));
  assertEquals(sampleValue(parsed, "h_bucket", { le: "0.001" }), 3);
  assertEquals(sampleValue(parsed, "h_bucket", { le: "1" }), 6);
  assertEquals(sampleValue(parsed, "h_bucket", { le: "10" }), 8);
  assertEquals(sampleValue(parsed, "h_bucket", { le: "+Inf" }), 10);
});

Deno.test("Counter.inc(), Histogram.observe() and at() refuse what would corrupt a series", () => {
  const metrics = serverMetrics();
  assertThrows(() => metrics.responseBytes.inc(-1), RangeError, "only go up");
  assertThrows(() => metrics.responseBytes.inc(NaN), RangeError);
  assertThrows(() => metrics.requestDuration.observe(NaN), RangeError);
  for (const [first, second] of [[8, 0], [0, 5], [-1, 0], [0, -1], [0.5, 0], [0, 0.5], [NaN, 0]]) {
    assertThrows(() => metrics.requests.at(first, second), RangeError, "out of range");
  }
  assertThrows(() => metrics.timeouts.at(TIMEOUT_KINDS.length), RangeError);
  assertEquals(metrics.responseBytes.value, 0);
  assertEquals(metrics.requestDuration.count, 0);
});

Deno.test("Gauge.set(), inc() and dec() move the value both ways", () => {
  const { connectionsOpen } = serverMetrics();
  connectionsOpen.inc();
  connectionsOpen.inc(3);
  connectionsOpen.dec(2);
  assertEquals(connectionsOpen.value, 2);
  connectionsOpen.set(-1);
  assertEquals(connectionsOpen.value, -1);
});

Deno.test("MetricsRegistry.register() refuses malformed specs and taken names", () => {
  const registry = new MetricsRegistry();
  registry.register({ kind: "counter", name: "taken_total", help: "" });
  const label = (name: string, values: string[] = ["a"]) => ({ name, values });
  const cases: [MetricSpec, string][] = [
    [{ kind: "counter", name: "taken_total", help: "" }, "taken"],
    [{ kind: "counter", name: "1st", help: "" }, "metric name"],
    [{ kind: "counter", name: "a-b", help: "" }, "metric name"],
    [{ kind: "counter", name: "c", help: "", labels: [label("x-y")] }, "label name"],
    [{ kind: "counter", name: "c", help: "", labels: [label("__x")] }, "label name"],
    [{ kind: "counter", name: "c", help: "", labels: [label("x"), label("x")] }, "twice"],
    [{ kind: "counter", name: "c", help: "", labels: [label("x", [])] }, "no values"],
    [{ kind: "counter", name: "c", help: "", labels: [label("x", ["a", "a"])] }, "twice"],
    [
      { kind: "counter", name: "c", help: "", labels: [label("x"), label("y"), label("z")] },
      "labels",
    ],
    [{ kind: "histogram", name: "h", help: "", buckets: [1], labels: [label("le")] }, "le"],
    [{ kind: "histogram", name: "h", help: "", buckets: [] }, "needs buckets"],
    [{ kind: "histogram", name: "h", help: "", buckets: [1, 1] }, "increase"],
    [{ kind: "histogram", name: "h", help: "", buckets: [2, 1] }, "increase"],
    [{ kind: "histogram", name: "h", help: "", buckets: [1, Infinity] }, "finite"],
  ];
  for (const [spec, message] of cases) {
    assertThrows(() => registry.register(spec), TypeError, message);
  }
  assertEquals(registry.snapshot().families.length, 1);
});

Deno.test("methodIndex() and statusClassIndex() give each value's label", () => {
  const methods: [string, string][] = [
    ["GET", "GET"],
    ["HEAD", "HEAD"],
    ["POST", "POST"],
    ["PUT", "PUT"],
    ["DELETE", "DELETE"],
    ["OPTIONS", "OPTIONS"],
    ["PATCH", "PATCH"],
    ["get", "other"],
    ["CONNECT", "other"],
    ["", "other"],
    ["constructor", "other"],
  ];
  for (const [method, label] of methods) assertEquals(METHOD_LABELS[methodIndex(method)], label);
  const statuses: [number, string][] = [[100, "1xx"], [199, "1xx"], [200, "2xx"], [304, "3xx"], [
    451,
    "4xx",
  ], [599, "5xx"]];
  for (const [status, label] of statuses) {
    assertEquals(STATUS_CLASS_LABELS[statusClassIndex(status)], label);
  }
  for (const status of [0, 99, 600, NaN]) {
    assertThrows(() => statusClassIndex(status), RangeError, "status code");
  }
});

Deno.test("snapshot() is plain data that structuredClone copies whole", () => {
  const snapshot = demoRegistry().snapshot();
  const copy = structuredClone(snapshot);
  assertEquals(copy, snapshot);
  assertEquals(renderPrometheus(copy), DEMO_GOLDEN);
});

Deno.test("snapshot() does not change with later updates", () => {
  const metrics = serverMetrics();
  metrics.requestDuration.observe(0.2);
  const before = metrics.registry.snapshot();
  const text = renderPrometheus(before);
  metrics.requestDuration.observe(0.2);
  metrics.connectionsOpen.inc();
  assertEquals(renderPrometheus(before), text);
  assertNotEquals(renderPrometheus(metrics.registry.snapshot()), text);
});

/** The value of one series of a merged snapshot. */
function seriesValue(snapshot: MetricsSnapshot, name: string, labels: string[] = []): number {
  const family = snapshot.families.find((f) => f.name === name);
  const series = family?.series.find((s) => s.labels.join() === labels.join());
  if (series === undefined) throw new Error(`No series ${name} ${labels}`);
  return series.value;
}

Deno.test("mergeSnapshots() adds up counters, histograms and summing gauges", () => {
  const [a, b] = [serverMetrics(), serverMetrics()];
  a.requests.at(0, 1).inc(2);
  b.requests.at(0, 1).inc(3);
  b.requests.at(7, 4).inc();
  a.connectionsOpen.set(4);
  b.connectionsOpen.set(6);
  a.requestDuration.observe(0.001);
  b.requestDuration.observe(0.002);
  b.requestDuration.observe(20);
  const merged = mergeSnapshots([a.registry.snapshot(), b.registry.snapshot()]);
  const parsed = parsePrometheus(renderPrometheus(merged));
  assertEquals(sampleValue(parsed, "portico_requests_total", { method: "GET", class: "2xx" }), 5);
  assertEquals(sampleValue(parsed, "portico_requests_total", { method: "other", class: "5xx" }), 1);
  assertEquals(sampleValue(parsed, "portico_connections_open"), 10);
  assertEquals(sampleValue(parsed, "portico_request_duration_seconds_bucket", { le: "0.001" }), 1);
  assertEquals(sampleValue(parsed, "portico_request_duration_seconds_bucket", { le: "0.0025" }), 2);
  assertEquals(sampleValue(parsed, "portico_request_duration_seconds_count"), 3);
  assertEquals(sampleValue(parsed, "portico_request_duration_seconds_sum"), 20.003);
  assertEquals(
    parsed.samples.length,
    parsePrometheus(renderPrometheus(a.registry.snapshot())).samples.length,
  );
});

Deno.test("mergeSnapshots() keeps the largest value of a max gauge", () => {
  const spec = { kind: "gauge", name: "started", help: "Start", merge: "max" } as const;
  const snapshots = [3, 9, 5].map((value) => {
    const registry = new MetricsRegistry();
    registry.register(spec).set(value);
    return registry.snapshot();
  });
  assertEquals(seriesValue(mergeSnapshots(snapshots), "started"), 9);
});

Deno.test("mergeSnapshots() keeps metrics and series only some snapshots have", () => {
  const first: FamilySnapshot = {
    name: "x_total",
    help: "X",
    kind: "counter",
    merge: "sum",
    labelNames: ["k"],
    buckets: [],
    series: [{ labels: ["a"], value: 1, counts: [] }],
  };
  const second: FamilySnapshot = { ...first, series: [{ labels: ["b"], value: 2, counts: [] }] };
  const other = demoRegistry().snapshot();
  const merged = mergeSnapshots([{ families: [first] }, other, { families: [second] }]);
  assertEquals(merged.families.map((f) => f.name), [
    "x_total",
    ...other.families.map((f) => f.name),
  ]);
  assertEquals(merged.families[0].series, [
    { labels: ["a"], value: 1, counts: [] },
    { labels: ["b"], value: 2, counts: [] },
  ]);
  assertEquals(renderPrometheus({ families: merged.families.slice(1) }), DEMO_GOLDEN);
});

Deno.test("mergeSnapshots() leaves its inputs unchanged and of none is empty", () => {
  const [a, b] = [demoRegistry().snapshot(), demoRegistry().snapshot()];
  const copies = structuredClone([a, b]);
  const merged = mergeSnapshots([a, b]);
  assertEquals([a, b], copies);
  assertEquals(seriesValue(merged, "demo_served_total"), 6);
  assertEquals(mergeSnapshots([]), { families: [] });
});

Deno.test("mergeSnapshots() refuses one metric declared two ways", () => {
  const base: FamilySnapshot = {
    name: "m",
    help: "M",
    kind: "histogram",
    merge: "sum",
    labelNames: [],
    buckets: [1, 2],
    series: [{ labels: [], value: 0, counts: [0, 0, 0] }],
  };
  const cases: [Partial<FamilySnapshot>, string][] = [
    [{ kind: "counter", buckets: [], series: [{ labels: [], value: 0, counts: [] }] }, "kinds"],
    [{ buckets: [1, 3] }, "buckets"],
    [{ buckets: [1] }, "buckets"],
    [{ merge: "max" }, "merge rules"],
    [
      { labelNames: ["k"], series: [{ labels: ["v"], value: 0, counts: [0, 0, 0] }] },
      "label names",
    ],
  ];
  for (const [change, what] of cases) {
    assertThrows(
      () => mergeSnapshots([{ families: [base] }, { families: [{ ...base, ...change }] }]),
      TypeError,
      `Cannot merge metric m: its ${what} differ`,
    );
  }
});

Deno.test("serverMetrics() takes a million updates without making series or children", () => {
  const metrics = serverMetrics();
  const seriesCount = () =>
    metrics.registry.snapshot().families.reduce((n, f) => n + f.series.length, 0);
  const children = () => [
    ...METHOD_LABELS.flatMap((_, m) =>
      STATUS_CLASS_LABELS.map((_, c) => metrics.requests.at(m, c))
    ),
    ...TIMEOUT_KINDS.map((_, k) => metrics.timeouts.at(k)),
  ];
  // Warm-up: every path below runs once before the counts are taken.
  metrics.requests.at(methodIndex("GET"), statusClassIndex(200)).inc();
  metrics.requestDuration.observe(0.01);
  const seriesBefore = seriesCount();
  const childrenBefore = children();
  const methods = ["GET", "HEAD", "POST", "BREW"];
  const updates = 1_000_000;
  for (let i = 0; i < updates; i++) {
    metrics.requests.at(methodIndex(methods[i & 3]), statusClassIndex(200 + (i % 400))).inc();
    metrics.requestDuration.observe((i % 1000) / 100);
    metrics.connectionsOpen.inc();
    metrics.connectionsOpen.dec();
    metrics.timeouts.at(i % TIMEOUT_KINDS.length).inc();
    metrics.responseBytes.inc(i & 1);
  }
  assertEquals(seriesCount(), seriesBefore);
  const childrenAfter = children();
  assert(childrenAfter.every((child, i) => child === childrenBefore[i]), "children were replaced");
  const parsed = parsePrometheus(renderPrometheus(metrics.registry.snapshot()));
  const requests = parsed.samples.filter((s) => s.name === "portico_requests_total");
  assertEquals(requests.reduce((n, s) => n + s.value, 0), updates + 1);
  assertEquals(
    sampleValue(parsed, "portico_requests_total", { method: "other", class: "5xx" }),
    updates / 4 / 4,
  );
  assertEquals(sampleValue(parsed, "portico_request_duration_seconds_count"), updates + 1);
  assertEquals(sampleValue(parsed, "portico_connections_open"), 0);
  assertEquals(sampleValue(parsed, "portico_timeouts_total", { kind: "idle" }), updates / 4);
  assertEquals(sampleValue(parsed, "portico_response_bytes_total"), updates / 2);
});

const VALID = [
  "# HELP h H",
  "# TYPE h histogram",
  'h_bucket{le="1"} 1',
  'h_bucket{le="+Inf"} 2',
  "h_sum 3",
  "h_count 2",
  "",
].join("\n");

Deno.test("parsePrometheus() reads a valid exposition", () => {
  assertEquals(parsePrometheus(VALID), {
    declarations: [{ name: "h", help: "H", type: "histogram" }],
    samples: [
      { name: "h_bucket", labels: { le: "1" }, value: 1 },
      { name: "h_bucket", labels: { le: "+Inf" }, value: 2 },
      { name: "h_sum", labels: {}, value: 3 },
      { name: "h_count", labels: {}, value: 2 },
    ],
  });
});

Deno.test("parsePrometheus() refuses text a scraper would misread", () => {
  const counter = "# HELP c C\n# TYPE c counter\n";
  const cases: [string, string][] = [
    [VALID.slice(0, -1), "newline"],
    ["c 1\n", "before its HELP and TYPE"],
    ["# HELP c C\nc 1\n", "before its HELP and TYPE"],
    ["# TYPE c counter\nc 1\n", "before its HELP and TYPE"],
    [counter + "# HELP c C\n", "Second HELP"],
    [counter + "c 1\n# HELP c C\n", "HELP after the samples"],
    [counter + "# TYPE c gauge\n", "Second TYPE"],
    [counter + 'c{k="a"} 1\n# HELP d D\n# TYPE d gauge\nd 1\nc{k="b"} 1\n', "not together"],
    [counter + "c 1\nc 2\n", "repeated"],
    [counter + "\nc 1\n", "Blank line"],
    [counter + 'c{k="a\\t"} 1\n', "Unknown escape"],
    [counter + 'c{k="a"b"} 1\n', "Labels not separated"],
    [counter + 'c{k="a} 1\n', "not closed"],
    [counter + "c{k=a} 1\n", "not quoted"],
    [counter + 'c{k="a",k="b"} 1\n', "repeated"],
    [counter + "c one\n", "Not a number"],
    [counter + "c 1 2 3\n", "Extra text"],
    ["# HELP c C\\x\n# TYPE c counter\n", "Unknown escape"],
    ["# HELP c C\n# TYPE c widget\n", "Unknown type"],
    [VALID.replace('le="1"} 1', 'le="1"} 3'), "not cumulative"],
    [VALID.replace("h_count 2", "h_count 1"), "_count is not the +Inf"],
    [VALID.replace('h_bucket{le="+Inf"} 2\n', ""), "do not end in +Inf"],
    [VALID.replace('le="1"', 'le="5"').replace('le="+Inf"', 'le="2"'), "do not increase"],
    [VALID.replace("h_sum 3\n", ""), "no _sum"],
  ];
  for (const [text, message] of cases) {
    assertThrows(() => parsePrometheus(text), SyntaxError, message);
  }
});

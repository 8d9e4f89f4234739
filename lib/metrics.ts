/**
 * Metrics in the Prometheus model: counters, gauges and histograms with fixed
 * buckets, kept as plain numbers. Every labelled series is made when its
 * metric is registered (label values come from fixed lists), so an update is
 * an array lookup and an addition: no strings are built and nothing grows on
 * the hot path. A registry's {@linkcode MetricsRegistry.snapshot} is plain
 * data that a worker can post to the main thread, {@linkcode mergeSnapshots}
 * adds the workers' snapshots up, and {@linkcode renderPrometheus} writes the
 * text exposition format 0.0.4.
 *
 * The server's own metrics are one table, {@linkcode SERVER_METRICS}, and
 * {@linkcode serverMetrics} registers it and hands back a typed handle for
 * each row.
 *
 * @module
 */

/** The metric types this registry keeps. */
export type MetricKind = "counter" | "gauge" | "histogram";

/**
 * How one metric's values from several processes combine: added up, or the
 * largest kept. Counters and histograms always add up.
 */
export type MergeRule = "sum" | "max";

/** One label of a metric and every value it may take. */
export interface LabelSpec {
  /** The label's name. */
  readonly name: string;
  /** Its possible values; a series exists for each (combination). */
  readonly values: readonly string[];
}

/** What every kind of metric declares. */
export interface BaseSpec {
  /** The metric's name, with its unit and `_total` for counters. */
  readonly name: string;
  /** One line saying what is counted or measured. */
  readonly help: string;
  /** At most {@linkcode MAX_LABELS} labels; none when absent. */
  readonly labels?: readonly LabelSpec[];
}

/** A counter: only goes up. */
export interface CounterSpec extends BaseSpec {
  /** The kind. */
  readonly kind: "counter";
}

/** A gauge: goes up and down; says how it combines across processes. */
export interface GaugeSpec extends BaseSpec {
  /** The kind. */
  readonly kind: "gauge";
  /** How the values of several processes combine. */
  readonly merge: MergeRule;
}

/** A histogram: counts observations into fixed buckets. */
export interface HistogramSpec extends BaseSpec {
  /** The kind. */
  readonly kind: "histogram";
  /** Upper bounds, finite and increasing; `+Inf` is implied. */
  readonly buckets: readonly number[];
}

/** The declaration of one metric. */
export type MetricSpec = CounterSpec | GaugeSpec | HistogramSpec;

/**
 * Most labels one metric may have: a child series is found by one or two
 * index arguments, so no array is built per update.
 */
export const MAX_LABELS = 2;

/** A metric name (Prometheus data model). */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** A label name; names starting with `__` are reserved. */
const LABEL_NAME = /^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A counter series.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry();
 * const hits = registry.register({ kind: "counter", name: "hits_total", help: "Hits" });
 * hits.inc();
 * hits.value; // 1
 * ```
 */
export class Counter {
  #value = 0;

  /** The current count. */
  get value(): number {
    return this.#value;
  }

  /**
   * Adds to the count.
   *
   * @param amount How much, zero or more; 1 by default.
   * @throws {RangeError} When the amount is negative or NaN.
   */
  inc(amount = 1): void {
    if (!(amount >= 0)) throw new RangeError(`Counters only go up: ${amount}`);
    this.#value += amount;
  }
}

/**
 * A gauge series.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry();
 * const open = registry.register({ kind: "gauge", name: "open", help: "Open", merge: "sum" });
 * open.inc();
 * open.dec();
 * open.set(5);
 * open.value; // 5
 * ```
 */
export class Gauge {
  #value = 0;

  /** The current value. */
  get value(): number {
    return this.#value;
  }

  /**
   * Replaces the value.
   *
   * @param value The new value.
   */
  set(value: number): void {
    this.#value = value;
  }

  /**
   * Adds to the value.
   *
   * @param amount How much; 1 by default.
   */
  inc(amount = 1): void {
    this.#value += amount;
  }

  /**
   * Subtracts from the value.
   *
   * @param amount How much; 1 by default.
   */
  dec(amount = 1): void {
    this.#value -= amount;
  }
}

/**
 * A histogram series: observations counted per bucket, and their sum.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry();
 * const sizes = registry.register({
 *   kind: "histogram",
 *   name: "sizes",
 *   help: "Sizes",
 *   buckets: [10, 100],
 * });
 * sizes.observe(10); // counted in the bucket `le="10"`
 * sizes.counts(); // [1, 0, 0]
 * ```
 */
export class Histogram {
  readonly #bounds: Float64Array;
  readonly #counts: Float64Array;
  #sum = 0;

  /**
   * Makes an empty series.
   *
   * @param bounds The buckets' upper bounds, increasing.
   */
  constructor(bounds: Float64Array) {
    this.#bounds = bounds;
    this.#counts = new Float64Array(bounds.length + 1);
  }

  /** How many observations were made. */
  get count(): number {
    let count = 0;
    for (const n of this.#counts) count += n;
    return count;
  }

  /** The sum of the observations. */
  get sum(): number {
    return this.#sum;
  }

  /**
   * Counts one observation in the first bucket whose bound is at least the
   * value (a bucket's bound is inclusive, as `le` says), or past the last
   * bound.
   *
   * @param value The observed value.
   * @throws {RangeError} When the value is NaN.
   */
  observe(value: number): void {
    if (value !== value) throw new RangeError("Histograms observe numbers: NaN");
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.#counts[i]++;
    this.#sum += value;
  }

  /**
   * The observations per bucket, not cumulative; the last entry counts those
   * above every bound.
   *
   * @returns A copy of the counts.
   */
  counts(): number[] {
    return Array.from(this.#counts);
  }
}

/** One series of any kind. */
export type Series = Counter | Gauge | Histogram;

/** A metric with one label: its series by that label's value index. */
export interface Labelled1<T extends Series> {
  /** The label. */
  readonly labels: readonly LabelSpec[];
  /**
   * The series for one label value.
   *
   * @param index The value's index in the label's `values`.
   */
  at(index: number): T;
}

/** A metric with two labels: its series by both labels' value indexes. */
export interface Labelled2<T extends Series> {
  /** The labels. */
  readonly labels: readonly LabelSpec[];
  /**
   * The series for one value of each label.
   *
   * @param first The first label's value index.
   * @param second The second label's value index.
   */
  at(first: number, second: number): T;
}

/**
 * The series of one labelled metric, all made up front and found by the
 * label values' indexes.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry();
 * const family = registry.register({
 *   kind: "counter",
 *   name: "answers_total",
 *   help: "Answers",
 *   labels: [{ name: "kind", values: ["yes", "no"] }],
 * });
 * family.at(1).inc(); // answers_total{kind="no"}
 * ```
 */
export class Family<T extends Series> implements Labelled1<T>, Labelled2<T> {
  /** The labels, in the order `at` takes their indexes. */
  readonly labels: readonly LabelSpec[];
  readonly #series: readonly T[];
  readonly #firstCount: number;
  readonly #secondCount: number;

  /**
   * Gathers the series made for a labelled metric.
   *
   * @param labels One or two labels.
   * @param series One series per combination of values, the last label's
   * index varying fastest.
   */
  constructor(labels: readonly LabelSpec[], series: readonly T[]) {
    this.labels = labels;
    this.#series = series;
    this.#firstCount = labels[0].values.length;
    this.#secondCount = labels.length > 1 ? labels[1].values.length : 1;
  }

  /**
   * The series for the given value indexes.
   *
   * @param first The first label's value index.
   * @param second The second label's value index; 0 for a metric with one label.
   * @returns The series, the same object every time.
   * @throws {RangeError} When an index is not one of the label's values.
   */
  at(first: number, second = 0): T {
    if (
      !(Number.isInteger(first) && first >= 0 && first < this.#firstCount &&
        Number.isInteger(second) && second >= 0 && second < this.#secondCount)
    ) {
      throw new RangeError(`Label value index out of range: ${first}, ${second}`);
    }
    return this.#series[first * this.#secondCount + second];
  }
}

/** The series type of a spec's kind. */
export type SeriesOf<S extends MetricSpec> = S extends { readonly kind: "counter" } ? Counter
  : S extends { readonly kind: "gauge" } ? Gauge
  : Histogram;

/**
 * What registering a spec hands back: the series itself, or its labelled
 * family; either of them when the spec's type does not say how many labels
 * it has.
 */
export type HandleOf<S extends MetricSpec> = S extends
  { readonly labels: readonly [LabelSpec, LabelSpec] } ? Labelled2<SeriesOf<S>>
  : S extends { readonly labels: readonly [LabelSpec] } ? Labelled1<SeriesOf<S>>
  : S extends { readonly labels: readonly [] } ? SeriesOf<S>
  : "labels" extends keyof S ? SeriesOf<S> | Family<SeriesOf<S>>
  : SeriesOf<S>;

/** A table of specs by handle name. */
export type MetricTable = Readonly<Record<string, MetricSpec>>;

/** The handles for every row of a table. */
export type HandlesOf<T extends MetricTable> = { readonly [K in keyof T]: HandleOf<T[K]> };

/** One series in a snapshot. */
export interface SeriesSnapshot {
  /** The label values, in the order of the family's `labelNames`. */
  readonly labels: readonly string[];
  /** A counter's or gauge's value; a histogram's sum of observations. */
  readonly value: number;
  /**
   * A histogram's observations per bucket, not cumulative, the last counting
   * those above every bound; empty for counters and gauges.
   */
  readonly counts: readonly number[];
}

/** One metric in a snapshot. */
export interface FamilySnapshot {
  /** The metric's name. */
  readonly name: string;
  /** Its help text, unescaped. */
  readonly help: string;
  /** Its kind. */
  readonly kind: MetricKind;
  /** How its values combine across processes ("sum" for counters and histograms). */
  readonly merge: MergeRule;
  /** Its label names. */
  readonly labelNames: readonly string[];
  /** A histogram's bucket bounds; empty for counters and gauges. */
  readonly buckets: readonly number[];
  /** Every series. */
  readonly series: readonly SeriesSnapshot[];
}

/** A registry's values at one moment: plain data, so it can be structured-cloned. */
export interface MetricsSnapshot {
  /** The metrics in the order they were registered. */
  readonly families: readonly FamilySnapshot[];
}

/** A registered metric with its series in the order of their label values. */
interface Entry {
  readonly spec: MetricSpec;
  readonly labelValues: readonly (readonly string[])[];
  readonly series: readonly Series[];
}

/**
 * Holds metrics and takes snapshots of them.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry();
 * const served = registry.register({ kind: "counter", name: "served_total", help: "Served" });
 * served.inc();
 * renderPrometheus(registry.snapshot());
 * // # HELP served_total Served
 * // # TYPE served_total counter
 * // served_total 1
 * ```
 */
export class MetricsRegistry {
  readonly #entries: Entry[] = [];

  /**
   * Declares a metric and makes all its series.
   *
   * @param spec The metric.
   * @returns Its series, or for a labelled metric the family of its series.
   * @throws {TypeError} When the spec is malformed or its name is taken.
   */
  register<const S extends MetricSpec>(spec: S): HandleOf<S> {
    const problem = specProblem(spec) ??
      (this.#entries.some((e) => e.spec.name === spec.name) ? "the name is taken" : undefined);
    if (problem !== undefined) throw new TypeError(`Invalid metric ${spec.name}: ${problem}`);
    const labels = spec.labels ?? [];
    const labelValues = combinations(labels);
    const make = seriesMaker(spec);
    const series = labelValues.map(make);
    this.#entries.push({ spec, labelValues, series });
    const handle = labels.length === 0 ? series[0] : new Family(labels, series);
    return handle as unknown as HandleOf<S>;
  }

  /**
   * The current values of every metric, as plain data.
   *
   * @returns A snapshot that later updates do not change.
   */
  snapshot(): MetricsSnapshot {
    return { families: this.#entries.map(familySnapshot) };
  }
}

/**
 * Registers every row of a table.
 *
 * @param registry Where the metrics go.
 * @param table Specs by handle name.
 * @returns The handles by the same names.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry();
 * const { hits } = registerTable(registry, {
 *   hits: { kind: "counter", name: "hits_total", help: "Hits" },
 * } as const);
 * hits.inc();
 * ```
 */
export function registerTable<const T extends MetricTable>(
  registry: MetricsRegistry,
  table: T,
): HandlesOf<T> {
  const handles: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) handles[key] = registry.register(spec);
  return handles as HandlesOf<T>;
}

/** What is wrong with a spec, or undefined. */
function specProblem(spec: MetricSpec): string | undefined {
  if (!METRIC_NAME.test(spec.name)) return "the name is not a metric name";
  const labels = spec.labels ?? [];
  if (labels.length > MAX_LABELS) return `more than ${MAX_LABELS} labels`;
  const names = labels.map((l) => l.name);
  if (names.some((name) => !LABEL_NAME.test(name))) return "a label name is not valid";
  if (new Set(names).size !== names.length) return "a label is declared twice";
  for (const { values } of labels) {
    if (values.length === 0) return "a label has no values";
    if (new Set(values).size !== values.length) return "a label value is listed twice";
  }
  if (spec.kind !== "histogram") return undefined;
  if (names.includes("le")) return "histograms keep the label le for buckets";
  return bucketProblem(spec.buckets);
}

/** What is wrong with a histogram's bounds, or undefined. */
function bucketProblem(buckets: readonly number[]): string | undefined {
  if (buckets.length === 0) return "a histogram needs buckets";
  for (let i = 0; i < buckets.length; i++) {
    if (!Number.isFinite(buckets[i])) return "bucket bounds must be finite";
    if (i > 0 && !(buckets[i] > buckets[i - 1])) return "bucket bounds must increase";
  }
  return undefined;
}

/** Every combination of label values, the last label varying fastest. */
function combinations(labels: readonly LabelSpec[]): (readonly string[])[] {
  let rows: (readonly string[])[] = [[]];
  for (const { values } of labels) {
    rows = rows.flatMap((row) => values.map((value) => [...row, value]));
  }
  return rows;
}

/** A function making one new series of the spec's kind. */
function seriesMaker(spec: MetricSpec): () => Series {
  switch (spec.kind) {
    case "counter":
      return () => new Counter();
    case "gauge":
      return () => new Gauge();
    case "histogram": {
      const bounds = Float64Array.from(spec.buckets);
      return () => new Histogram(bounds);
    }
  }
}

function familySnapshot({ spec, labelValues, series }: Entry): FamilySnapshot {
  return {
    name: spec.name,
    help: spec.help,
    kind: spec.kind,
    merge: spec.kind === "gauge" ? spec.merge : "sum",
    labelNames: (spec.labels ?? []).map((l) => l.name),
    buckets: spec.kind === "histogram" ? [...spec.buckets] : [],
    series: series.map((one, i) => seriesSnapshot(one, labelValues[i])),
  };
}

function seriesSnapshot(series: Series, labels: readonly string[]): SeriesSnapshot {
  return series instanceof Histogram
    ? { labels: [...labels], value: series.sum, counts: series.counts() }
    : { labels: [...labels], value: series.value, counts: [] };
}

/** How a merge rule combines two values. */
const MERGE: Readonly<Record<MergeRule, (a: number, b: number) => number>> = {
  sum: (a, b) => a + b,
  max: (a, b) => Math.max(a, b),
};

/** A family being merged: its first snapshot and its series by label values. */
interface MergedFamily {
  readonly family: FamilySnapshot;
  readonly series: Map<string, SeriesSnapshot>;
}

/**
 * Combines snapshots from several processes into one: counters and
 * histograms add up, gauges combine by their metric's merge rule. A metric
 * or series present in only some snapshots is kept as it is; metrics keep
 * the order in which they first appear.
 *
 * @param snapshots One snapshot per process.
 * @returns The combined snapshot; the inputs are not changed.
 * @throws {TypeError} When two snapshots declare one metric differently.
 *
 * @example
 * ```ts
 * const a = new MetricsRegistry();
 * const b = new MetricsRegistry();
 * const spec = { kind: "counter", name: "served_total", help: "Served" } as const;
 * a.register(spec).inc(2);
 * b.register(spec).inc(3);
 * mergeSnapshots([a.snapshot(), b.snapshot()]).families[0].series[0].value; // 5
 * ```
 */
export function mergeSnapshots(snapshots: readonly MetricsSnapshot[]): MetricsSnapshot {
  const merged = new Map<string, MergedFamily>();
  for (const snapshot of snapshots) {
    for (const family of snapshot.families) {
      const into = merged.get(family.name);
      const difference = into === undefined
        ? undefined
        : declarationDifference(into.family, family);
      if (difference !== undefined) {
        throw new TypeError(`Cannot merge metric ${family.name}: its ${difference} differ`);
      }
      const target = into ?? { family, series: new Map() };
      merged.set(family.name, target);
      mergeSeries(target, family);
    }
  }
  return {
    families: [...merged.values()].map(({ family, series }) => ({
      ...family,
      series: [...series.values()],
    })),
  };
}

/** Which part of two declarations of one metric differs, or undefined. */
function declarationDifference(a: FamilySnapshot, b: FamilySnapshot): string | undefined {
  if (a.kind !== b.kind) return "kinds";
  if (a.merge !== b.merge) return "merge rules";
  if (!sameNumbers(a.buckets, b.buckets)) return "buckets";
  if (a.labelNames.join("\n") !== b.labelNames.join("\n")) return "label names";
  return undefined;
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

function mergeSeries(into: MergedFamily, family: FamilySnapshot): void {
  const combine = MERGE[family.merge];
  for (const series of family.series) {
    const key = JSON.stringify(series.labels);
    const before = into.series.get(key);
    into.series.set(
      key,
      before === undefined
        ? { labels: [...series.labels], value: series.value, counts: [...series.counts] }
        : {
          labels: before.labels,
          value: combine(before.value, series.value),
          counts: before.counts.map((n, i) => n + series.counts[i]),
        },
    );
  }
}

/** The `# TYPE` word of each kind. */
const TYPE_WORD: Readonly<Record<MetricKind, string>> = {
  counter: "counter",
  gauge: "gauge",
  histogram: "histogram",
};

/**
 * Writes a snapshot in the Prometheus text exposition format 0.0.4: for
 * each metric a `# HELP` and a `# TYPE` line, then its samples; histograms as
 * cumulative `_bucket` samples ending in `le="+Inf"`, then `_sum` and
 * `_count`. Serve it as `text/plain; version=0.0.4; charset=utf-8`.
 *
 * @param snapshot The values to write.
 * @returns The text, each line ending in a newline.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry();
 * registry.register({
 *   kind: "counter",
 *   name: "answers_total",
 *   help: "Answers",
 *   labels: [{ name: "kind", values: ["yes"] }],
 * }).at(0).inc();
 * renderPrometheus(registry.snapshot());
 * // # HELP answers_total Answers
 * // # TYPE answers_total counter
 * // answers_total{kind="yes"} 1
 * ```
 */
export function renderPrometheus(snapshot: MetricsSnapshot): string {
  let text = "";
  for (const family of snapshot.families) {
    text += `# HELP ${family.name} ${escapeHelp(family.help)}\n`;
    text += `# TYPE ${family.name} ${TYPE_WORD[family.kind]}\n`;
    for (const series of family.series) {
      text += family.kind === "histogram"
        ? histogramLines(family, series)
        : `${family.name}${labelSet(family.labelNames, series.labels)} ${
          formatNumber(series.value)
        }\n`;
    }
  }
  return text;
}

/** The `_bucket`, `_sum` and `_count` lines of one histogram series. */
function histogramLines(family: FamilySnapshot, series: SeriesSnapshot): string {
  const { name, labelNames, buckets } = family;
  const bucketNames = [...labelNames, "le"];
  let text = "";
  let cumulative = 0;
  for (let i = 0; i <= buckets.length; i++) {
    cumulative += series.counts[i];
    const le = i < buckets.length ? formatNumber(buckets[i]) : "+Inf";
    text += `${name}_bucket${labelSet(bucketNames, [...series.labels, le])} ${cumulative}\n`;
  }
  const labels = labelSet(labelNames, series.labels);
  text += `${name}_sum${labels} ${formatNumber(series.value)}\n`;
  text += `${name}_count${labels} ${cumulative}\n`;
  return text;
}

/** `{name="value",...}`, or nothing when there are no labels. */
function labelSet(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  return `{${names.map((name, i) => `${name}="${escapeLabelValue(values[i])}"`).join(",")}}`;
}

/** A number as the format writes it: Go's float syntax, with `+Inf`, `-Inf` and `NaN`. */
function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Help text escapes backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** Label values also escape the double quote. */
function escapeLabelValue(text: string): string {
  return escapeHelp(text).replaceAll('"', '\\"');
}

/** The `method` label's values: the methods of RFC 9110 §9.3 a server sees, then "other". */
export const METHOD_LABELS = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "PATCH",
  "other",
] as const;

/** The `class` label's values: status classes by first digit (RFC 9110 §15). */
export const STATUS_CLASS_LABELS = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/** The `kind` label's values of `portico_timeouts_total`. */
export const TIMEOUT_KINDS = ["header", "idle", "body", "handshake"] as const;

/** The `result` label's values of `portico_tls_handshakes_total`. */
export const TLS_RESULTS = ["ok", "failed"] as const;

/** A value's index in its label's list, by value. */
function indexesOf<const V extends string>(values: readonly V[]): Readonly<Record<V, number>> {
  return Object.freeze(
    Object.fromEntries(values.map((value, i) => [value, i])) as Record<V, number>,
  );
}

/**
 * Index of each timeout kind, for `timeouts.at(...)`.
 *
 * @example
 * ```ts
 * serverMetrics().timeouts.at(TIMEOUT_KIND.idle).inc();
 * ```
 */
export const TIMEOUT_KIND: Readonly<Record<(typeof TIMEOUT_KINDS)[number], number>> = indexesOf(
  TIMEOUT_KINDS,
);

/**
 * Index of each handshake result, for `tlsHandshakes.at(...)`.
 *
 * @example
 * ```ts
 * serverMetrics().tlsHandshakes.at(TLS_RESULT.failed).inc();
 * ```
 */
export const TLS_RESULT: Readonly<Record<(typeof TLS_RESULTS)[number], number>> = indexesOf(
  TLS_RESULTS,
);

const METHOD_INDEX: ReadonlyMap<string, number> = new Map(METHOD_LABELS.map((m, i) => [m, i]));
const OTHER_METHOD = METHOD_LABELS.indexOf("other");

/**
 * The `method` label index of a request method. Methods are case-sensitive
 * (RFC 9110 §9.1), so `get` counts as "other".
 *
 * @param method The request's method.
 * @returns Its index in {@linkcode METHOD_LABELS}.
 *
 * @example
 * ```ts
 * methodIndex("HEAD"); // 1
 * methodIndex("PROPFIND"); // 7, "other"
 * ```
 */
export function methodIndex(method: string): number {
  return METHOD_INDEX.get(method) ?? OTHER_METHOD;
}

/**
 * The `class` label index of a status code.
 *
 * @param status A status code from 100 to 599.
 * @returns Its index in {@linkcode STATUS_CLASS_LABELS}.
 * @throws {RangeError} When the status is outside 100–599.
 *
 * @example
 * ```ts
 * statusClassIndex(204); // 1, "2xx"
 * ```
 */
export function statusClassIndex(status: number): number {
  if (!(status >= 100 && status < 600)) throw new RangeError(`Not a status code: ${status}`);
  return Math.floor(status / 100) - 1;
}

/** Bounds of `portico_request_duration_seconds`, from a millisecond to ten seconds. */
export const DURATION_BUCKETS = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
] as const;

/**
 * The server's metrics, by handle name. Each worker keeps its own; the main
 * thread merges their snapshots. Every gauge here sums across workers,
 * because each worker holds its own connections, file cache and buffer pool.
 */
export const SERVER_METRICS = {
  requests: {
    kind: "counter",
    name: "portico_requests_total",
    help: "Requests answered, by method and status class",
    labels: [
      { name: "method", values: METHOD_LABELS },
      { name: "class", values: STATUS_CLASS_LABELS },
    ],
  },
  responseBytes: {
    kind: "counter",
    name: "portico_response_bytes_total",
    help: "Body bytes of responses written to clients",
  },
  requestDuration: {
    kind: "histogram",
    name: "portico_request_duration_seconds",
    help: "Seconds from a request's head being read to its response being written",
    buckets: DURATION_BUCKETS,
  },
  connectionsOpen: {
    kind: "gauge",
    name: "portico_connections_open",
    help: "Client connections open now",
    merge: "sum",
  },
  connectionsTotal: {
    kind: "counter",
    name: "portico_connections_total",
    help: "Client connections accepted",
  },
  cacheHits: {
    kind: "counter",
    name: "portico_cache_hits_total",
    help: "File lookups answered from the memory cache",
  },
  cacheMisses: {
    kind: "counter",
    name: "portico_cache_misses_total",
    help: "File lookups the memory cache could not answer",
  },
  cacheBytes: {
    kind: "gauge",
    name: "portico_cache_bytes",
    help: "Bytes held by the memory cache",
    merge: "sum",
  },
  cacheEntries: {
    kind: "gauge",
    name: "portico_cache_entries",
    help: "Files held by the memory cache",
    merge: "sum",
  },
  buffersInUse: {
    kind: "gauge",
    name: "portico_buffers_in_use",
    help: "Pooled file buffers lent out now",
    merge: "sum",
  },
  bodiesOverLimit: {
    kind: "counter",
    name: "portico_bodies_over_limit_total",
    help: "Request bodies refused for exceeding the size limit",
  },
  timeouts: {
    kind: "counter",
    name: "portico_timeouts_total",
    help: "Connections closed by a timeout, by the phase that timed out",
    labels: [{ name: "kind", values: TIMEOUT_KINDS }],
  },
  workerRestarts: {
    kind: "counter",
    name: "portico_worker_restarts_total",
    help: "Workers started again after dying",
  },
  tlsHandshakes: {
    kind: "counter",
    name: "portico_tls_handshakes_total",
    help: "TLS handshakes, by result",
    labels: [{ name: "result", values: TLS_RESULTS }],
  },
} as const satisfies MetricTable;

/** The registry with the server's metrics, and a handle for each. */
export type ServerMetrics = HandlesOf<typeof SERVER_METRICS> & {
  /** The registry to take snapshots of. */
  readonly registry: MetricsRegistry;
};

/**
 * A new registry with every metric of {@linkcode SERVER_METRICS}, all zero.
 *
 * @returns The registry and a typed handle per metric.
 *
 * @example
 * ```ts
 * const metrics = serverMetrics();
 * metrics.requests.at(methodIndex("GET"), statusClassIndex(200)).inc();
 * metrics.requestDuration.observe(0.004);
 * metrics.connectionsOpen.inc();
 * renderPrometheus(metrics.registry.snapshot());
 * ```
 */
export function serverMetrics(): ServerMetrics {
  const registry = new MetricsRegistry();
  return { ...registerTable(registry, SERVER_METRICS), registry };
}

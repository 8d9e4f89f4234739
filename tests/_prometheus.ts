/**
 * A strict reader of the Prometheus text exposition format 0.0.4 for tests:
 * it returns the samples and refuses text a scraper would misread. Every
 * sample must follow its metric's `# HELP` and `# TYPE` lines, a metric's
 * samples must stand together, label values and help text may use only the
 * format's escapes, the text must end in a newline, and each histogram
 * series must have increasing `le` bounds ending in `+Inf`, cumulative
 * bucket counts, a `_sum`, and a `_count` equal to its `+Inf` bucket.
 * Stricter than the format in one way: blank lines are refused.
 *
 * @module
 */

/** One sample line. */
export interface Sample {
  /** The sample's name, suffix included (`x_bucket`, `x_sum`). */
  readonly name: string;
  /** Its labels, unescaped. */
  readonly labels: Readonly<Record<string, string>>;
  /** Its value. */
  readonly value: number;
}

/** What the `# HELP` and `# TYPE` lines said of one metric. */
export interface Declaration {
  /** The metric's name. */
  readonly name: string;
  /** Its help text, unescaped. */
  readonly help: string;
  /** Its type word. */
  readonly type: string;
}

/** A parsed exposition. */
export interface Exposition {
  /** The metrics in the order they were declared. */
  readonly declarations: readonly Declaration[];
  /** Every sample in order. */
  readonly samples: readonly Sample[];
}

const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
/** Sample suffixes a metric of each type may add to its name. */
const SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["_sum", "_count"],
};
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL_NUMBERS: Readonly<Record<string, number>> = {
  "+Inf": Infinity,
  "-Inf": -Infinity,
  "Inf": Infinity,
  "NaN": NaN,
};

/** A metric while its lines are read. */
interface Pending {
  help?: string;
  type?: string;
  sampled: boolean;
}

/** What the reader knows so far. */
interface ReadState {
  readonly metrics: Map<string, Pending>;
  readonly samples: Sample[];
  readonly seen: Set<string>;
  current: string | undefined;
}

/**
 * Parses and checks an exposition.
 *
 * @param text The text a `/metrics` endpoint answered.
 * @returns Its declarations and samples.
 * @throws {SyntaxError} When the text breaks a rule; the message names the line.
 *
 * @example
 * ```ts
 * const { samples } = parsePrometheus("# HELP a A\n# TYPE a gauge\na 1\n");
 * samples[0]; // { name: "a", labels: {}, value: 1 }
 * ```
 */
export function parsePrometheus(text: string): Exposition {
  if (text !== "" && !text.endsWith("\n")) throw new SyntaxError("Text does not end in a newline");
  const state: ReadState = { metrics: new Map(), samples: [], seen: new Set(), current: undefined };
  const lines = text === "" ? [] : text.slice(0, -1).split("\n");
  lines.forEach((line, i) => {
    try {
      readLine(state, line);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      throw new SyntaxError(`Line ${i + 1}: ${error.message}: ${JSON.stringify(line)}`);
    }
  });
  const declarations = [...state.metrics].map(([name, m]) => ({
    name,
    help: m.help ?? "",
    type: m.type ?? "untyped",
  }));
  for (const { name, type } of declarations) {
    if (type === "histogram") checkHistogram(name, state.samples);
  }
  return { declarations, samples: state.samples };
}

/**
 * The value of one sample, or undefined when there is none.
 *
 * @param exposition A parsed exposition.
 * @param name The sample's name.
 * @param labels Its labels, all of them.
 * @returns The value.
 *
 * @example
 * ```ts
 * sampleValue(parsePrometheus(text), "hits_total", { kind: "a" }); // 3
 * ```
 */
export function sampleValue(
  exposition: Exposition,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const key = seriesKey(name, labels);
  return exposition.samples.find((s) => seriesKey(s.name, s.labels) === key)?.value;
}

function readLine(state: ReadState, line: string): void {
  if (line === "") throw new SyntaxError("Blank line");
  if (line.startsWith("#")) return readComment(state, line);
  const sample = readSample(line);
  const metric = metricOf(state, sample.name);
  const pending = state.metrics.get(metric)!;
  if (state.current !== metric && pending.sampled) {
    throw new SyntaxError(`Samples of ${metric} are not together`);
  }
  const key = seriesKey(sample.name, sample.labels);
  if (state.seen.has(key)) throw new SyntaxError("Sample repeated");
  state.seen.add(key);
  pending.sampled = true;
  state.current = metric;
  state.samples.push(sample);
}

function readComment(state: ReadState, line: string): void {
  const parts = line.split(" ");
  const keyword = parts[1];
  if (parts[0] !== "#" || (keyword !== "HELP" && keyword !== "TYPE")) return;
  // A new declaration ends the samples of the metric before it.
  state.current = undefined;
  const name = parts[2] ?? "";
  if (!METRIC_NAME.test(name)) throw new SyntaxError(`${keyword} without a metric name`);
  const rest = parts.slice(3).join(" ");
  const metric = state.metrics.get(name) ?? { sampled: false };
  state.metrics.set(name, metric);
  if (metric.sampled) throw new SyntaxError(`${keyword} after the samples of ${name}`);
  if (keyword === "HELP") {
    if (metric.help !== undefined) throw new SyntaxError(`Second HELP for ${name}`);
    metric.help = unescape(rest, false);
  } else {
    if (metric.type !== undefined) throw new SyntaxError(`Second TYPE for ${name}`);
    if (!TYPES.has(rest)) throw new SyntaxError(`Unknown type ${rest}`);
    metric.type = rest;
  }
}

/** The declared metric a sample belongs to; it must have HELP and TYPE. */
function metricOf(state: ReadState, name: string): string {
  const candidates = [name];
  for (const [metric, { type }] of state.metrics) {
    for (const suffix of SUFFIXES[type ?? ""] ?? []) {
      if (name === metric + suffix) candidates.push(metric);
    }
  }
  const metric = candidates.find((c) => state.metrics.has(c));
  const pending = metric === undefined ? undefined : state.metrics.get(metric);
  if (pending?.help === undefined || pending.type === undefined) {
    throw new SyntaxError(`Sample of ${name} before its HELP and TYPE`);
  }
  return metric!;
}

function readSample(line: string): Sample {
  let i = 0;
  while (i < line.length && line[i] !== "{" && line[i] !== " ") i++;
  const name = line.slice(0, i);
  if (!METRIC_NAME.test(name)) throw new SyntaxError("Not a metric name");
  let labels: Record<string, string> = {};
  if (line[i] === "{") [labels, i] = readLabels(line, i + 1);
  if (line[i] !== " ") throw new SyntaxError("No space before the value");
  const fields = line.slice(i + 1).split(" ");
  if (fields.length > 2 || (fields.length === 2 && !/^-?\d+$/.test(fields[1]))) {
    throw new SyntaxError("Extra text after the value");
  }
  return { name, labels, value: parseNumber(fields[0]) };
}

/** Reads `name="value",...}` from `start`; returns the labels and the index after `}`. */
function readLabels(line: string, start: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = start;
  while (line[i] !== "}") {
    const eq = line.indexOf("=", i);
    const name = eq === -1 ? "" : line.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new SyntaxError("Not a label name");
    if (Object.hasOwn(labels, name)) throw new SyntaxError(`Label ${name} repeated`);
    if (line[eq + 1] !== '"') throw new SyntaxError("Label value not quoted");
    const end = closingQuote(line, eq + 2);
    labels[name] = unescape(line.slice(eq + 2, end), true);
    i = end + 1;
    if (line[i] === ",") i++;
    else if (line[i] !== "}") throw new SyntaxError("Labels not separated by commas");
  }
  return [labels, i + 1];
}

/** The index of the quote that ends a label value starting at `from`. */
function closingQuote(line: string, from: number): number {
  for (let i = from; i < line.length; i++) {
    if (line[i] === "\\") i++;
    else if (line[i] === '"') return i;
  }
  throw new SyntaxError("Label value not closed");
}

/** Undoes `\\`, `\n` and, in label values, `\"`; any other escape is an error. */
function unescape(text: string, quoted: boolean): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n" || (quoted && c === '"')) throw new SyntaxError("Character not escaped");
    if (c !== "\\") {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === "\\") out += "\\";
    else if (next === "n") out += "\n";
    else if (quoted && next === '"') out += '"';
    else throw new SyntaxError(`Unknown escape \\${next ?? ""}`);
  }
  return out;
}

function parseNumber(text: string): number {
  if (Object.hasOwn(SPECIAL_NUMBERS, text)) return SPECIAL_NUMBERS[text];
  if (!NUMBER.test(text)) throw new SyntaxError(`Not a number: ${text}`);
  return Number(text);
}

/** Checks each series of a histogram. */
function checkHistogram(name: string, samples: readonly Sample[]): void {
  const buckets = new Map<string, Sample[]>();
  for (const sample of samples) {
    if (sample.name !== `${name}_bucket`) continue;
    const { le, ...rest } = sample.labels;
    if (le === undefined) throw new SyntaxError(`${name}_bucket without le`);
    const key = seriesKey(name, rest);
    buckets.set(key, [...buckets.get(key) ?? [], sample]);
  }
  for (const suffix of ["_sum", "_count"]) {
    for (const s of samples.filter((s) => s.name === name + suffix)) {
      if (!buckets.has(seriesKey(name, s.labels))) {
        throw new SyntaxError(`${name}${suffix} without buckets`);
      }
    }
  }
  for (const series of buckets.values()) checkBuckets(name, series, samples);
}

/** Bounds increase to `+Inf`, counts never fall, `_count` is the `+Inf` count, `_sum` exists. */
function checkBuckets(name: string, series: readonly Sample[], samples: readonly Sample[]): void {
  const { le: _, ...labels } = series[0].labels;
  const where = `${name}${JSON.stringify(labels)}`;
  for (let i = 1; i < series.length; i++) {
    if (!(parseNumber(series[i].labels.le) > parseNumber(series[i - 1].labels.le))) {
      throw new SyntaxError(`Bucket bounds of ${where} do not increase`);
    }
    if (series[i].value < series[i - 1].value) {
      throw new SyntaxError(`Buckets of ${where} are not cumulative`);
    }
  }
  const last = series[series.length - 1];
  if (last.labels.le !== "+Inf") throw new SyntaxError(`Buckets of ${where} do not end in +Inf`);
  const count = sampleValue({ declarations: [], samples }, `${name}_count`, labels);
  if (count !== last.value) throw new SyntaxError(`${where}: _count is not the +Inf bucket`);
  if (sampleValue({ declarations: [], samples }, `${name}_sum`, labels) === undefined) {
    throw new SyntaxError(`${where} has no _sum`);
  }
}

/** A key naming one series whatever the order of its labels. */
function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  return JSON.stringify([name, Object.entries(labels).sort(([a], [b]) => a < b ? -1 : 1)]);
}

/**
 * The JSON Schema (draft 2020-12) of the configuration file, generated from
 * the table of options so editors complete and check `portico.json` with
 * the same keys, kinds, ranges and words the flags have. The committed
 * `portico.schema.json` is this module's output for {@linkcode SCHEMA_PARTS};
 * after a change to the table or the parts, regenerate it with
 *
 * ```sh
 * deno eval 'import { renderConfigSchema, SCHEMA_PARTS } from "./lib/settings/schema.ts";
 *   Deno.writeTextFileSync("portico.schema.json", renderConfigSchema(SCHEMA_PARTS));'
 * ```
 *
 * @module
 */

import { DURATION_SYNTAX, MAX_PORT, MAX_TIMER_MS, SIZE_SYNTAX } from "../cli.ts";
import { CODINGS } from "../encoding/negotiate.ts";
import { formatDuration, formatSize, type OptionKind, type OptionRow } from "../options.ts";
import { CORS_SCHEMA } from "../site/cors.ts";
import { RULES_SCHEMA } from "../site/rules_json.ts";
import { ERROR_STATUS_SYNTAX, FILE_ROWS, PAGE_PATH_SYNTAX } from "./config_file.ts";

/** The schemas of the file's parts that other modules check: the site's rules and CORS. */
export interface SchemaParts {
  /** The schema of `rules`. */
  readonly rules: object;
  /** The schema of `cors`. */
  readonly cors: object;
}

/**
 * The parts `portico.schema.json` is rendered with.
 *
 * @example
 * ```ts
 * renderConfigSchema(SCHEMA_PARTS); // the text of portico.schema.json
 * ```
 */
export const SCHEMA_PARTS: SchemaParts = Object.freeze({
  rules: RULES_SCHEMA,
  cors: CORS_SCHEMA,
});

/** Where the schema is published, as its `$id`. */
export const SCHEMA_ID = "https://portico.dev/portico.schema.json";

/** A JSON Schema, as plain data. */
type Schema = Readonly<Record<string, unknown>>;

/** The schema of each kind's value in the file. */
const KIND_SCHEMAS = {
  boolean: () => ({ type: "boolean" }),
  size: (row) => ({
    anyOf: [
      { type: "integer", ...bounds(row.min ?? 0, row.max) },
      { type: "string", pattern: SIZE_SYNTAX },
    ],
  }),
  duration: (row) => ({
    anyOf: [
      { type: "number", ...bounds((row.min ?? 0) / 1000, MAX_TIMER_MS / 1000) },
      { type: "string", pattern: DURATION_SYNTAX },
    ],
  }),
  count: (row) => {
    const count = { type: "integer", ...bounds(row.min ?? 0, row.max) };
    return row.auto ? { anyOf: [count, { const: "auto" }] } : count;
  },
  port: () => ({ type: "integer", ...bounds(0, MAX_PORT) }),
  host: () => ({ type: "string", minLength: 1 }),
  string: () => ({ type: "string", minLength: 1 }),
  field: () => ({ type: "string", minLength: 1 }),
  choice: (row) => ({ type: "string", enum: row.choices ?? [] }),
  codings: () => ({
    anyOf: [
      { type: "string", minLength: 1 },
      { type: "array", items: { enum: CODINGS }, uniqueItems: true },
    ],
  }),
  command: () => ({ not: {} }),
} as const satisfies Record<OptionKind, (row: OptionRow) => Schema>;

/** `minimum`, and `maximum` when there is one. */
function bounds(min: number, max: number | undefined): Schema {
  return max === undefined ? { minimum: min } : { minimum: min, maximum: max };
}

/** The default as the file would write it (sizes and times as the help shows them), if any. */
function fileDefault(row: OptionRow): unknown {
  if (row.default === null) return undefined;
  if (row.kind === "size") return formatSize(row.default as number);
  if (row.kind === "duration") return formatDuration(row.default as number);
  return row.default;
}

/** One option's property: its kind's schema, the help line and the default. */
function optionSchema(row: OptionRow): Schema {
  return { description: row.help, ...KIND_SCHEMAS[row.kind](row), default: fileDefault(row) };
}

/** The `errorPages` property. */
const ERROR_PAGES_SCHEMA: Schema = {
  description: 'Pages served for error statuses, relative to the root: { "404": "404.html" }',
  type: "object",
  propertyNames: { pattern: ERROR_STATUS_SYNTAX },
  additionalProperties: { type: "string", pattern: PAGE_PATH_SYNTAX },
};

/**
 * Renders the configuration file's JSON Schema: one property per option the
 * file may set (from the table of options), `$schema`, the given `rules` and
 * `cors`, and `errorPages`; no other keys.
 *
 * @param parts The schemas of `rules` and `cors`.
 * @returns The schema as JSON, indented by two spaces, with a final newline.
 *
 * @example
 * ```ts
 * const schema = JSON.parse(renderConfigSchema(SCHEMA_PARTS));
 * schema.properties.maxBodyBytes.default; // "10M"
 * ```
 */
export function renderConfigSchema(parts: SchemaParts): string {
  const options = FILE_ROWS.map((row) => [row.key, optionSchema(row)]);
  const schema = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: SCHEMA_ID,
    title: "Portico configuration",
    description: "portico.json or portico.jsonc (JSON with comments): the options by the names " +
      "of their keys, and the site's rules; a flag on the command line wins over the file",
    type: "object",
    additionalProperties: false,
    properties: {
      $schema: { description: "The schema this file follows, for editors", type: "string" },
      ...Object.fromEntries(options),
      rules: parts.rules,
      cors: parts.cors,
      errorPages: ERROR_PAGES_SCHEMA,
    },
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

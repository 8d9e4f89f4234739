import { assert, assertEquals, fromFileUrl } from "../_deps.ts";
import { UserError } from "../../lib/errors.ts";
import { FILE_ROWS, readConfigText } from "../../lib/settings/config_file.ts";
import { renderConfigSchema, SCHEMA_ID, SCHEMA_PARTS } from "../../lib/settings/schema.ts";

const SCHEMA_FILE = fromFileUrl(new URL("../../portico.schema.json", import.meta.url));

/** A property's schema, as plain data. */
type Property = Record<string, unknown> & { anyOf?: Record<string, unknown>[] };

/** The rendered schema, parsed. */
function schemaOf(parts = SCHEMA_PARTS): {
  $schema: string;
  $id: string;
  type: string;
  additionalProperties: boolean;
  properties: Record<string, Property>;
} {
  return JSON.parse(renderConfigSchema(parts));
}

Deno.test("renderConfigSchema() matches the committed portico.schema.json", async () => {
  const committed = await Deno.readTextFile(SCHEMA_FILE);
  assertEquals(
    committed,
    renderConfigSchema(SCHEMA_PARTS),
    "portico.schema.json is stale; regenerate it as lib/settings/schema.ts says",
  );
});

Deno.test("renderConfigSchema() is a closed draft 2020-12 object schema", () => {
  const schema = schemaOf();
  assertEquals(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assertEquals([schema.$id, schema.type, schema.additionalProperties], [
    SCHEMA_ID,
    "object",
    false,
  ]);
  assert(renderConfigSchema(SCHEMA_PARTS).endsWith("}\n"));
});

Deno.test("renderConfigSchema() has a property per file key, each default readable", () => {
  const { properties } = schemaOf();
  const keys = Object.keys(properties);
  const expected = ["$schema", ...FILE_ROWS.map((row) => row.key), "rules", "cors", "errorPages"];
  assertEquals(keys, expected);
  const values: Record<string, unknown> = { $schema: "x", rules: [], cors: [], errorPages: {} };
  for (const key of keys) {
    const value = values[key] ?? properties[key].default;
    if (value === undefined) continue;
    readConfigText(JSON.stringify({ [key]: value }), "portico.json");
  }
});

Deno.test("renderConfigSchema() gives choices the table's enum and every row its help", () => {
  const { properties } = schemaOf();
  for (const row of FILE_ROWS) {
    assertEquals(properties[row.key].description, row.help, row.key);
    if (row.kind === "choice") assertEquals(properties[row.key].enum, row.choices, row.key);
  }
  assertEquals(properties.trailingSlash.enum, ["auto", "always", "never", "as-is"]);
});

Deno.test("renderConfigSchema() types each kind, with ranges for counts and ports", () => {
  const { properties } = schemaOf();
  assertEquals(properties.spa, {
    description: properties.spa.description,
    type: "boolean",
    default: false,
  });
  assertEquals([properties.port.type, properties.port.minimum, properties.port.maximum], [
    "integer",
    0,
    65535,
  ]);
  assertEquals(properties.maxHeaderFields.minimum, 1);
  assertEquals(properties.listenBacklog.maximum, 65535);
  assertEquals(properties.workers.anyOf, [{ type: "integer", minimum: 1, maximum: 256 }, {
    const: "auto",
  }]);
  assertEquals(properties.maxBodyBytes.anyOf?.map((branch) => branch.type), ["integer", "string"]);
  assertEquals(properties.idleTimeoutMs.anyOf?.map((branch) => branch.type), ["number", "string"]);
  assertEquals(properties.compress.anyOf?.map((branch) => branch.type), ["string", "array"]);
  assertEquals(properties.root.type, "string");
});

Deno.test("renderConfigSchema() writes defaults as the file takes them, and none for null", () => {
  const { properties } = schemaOf();
  assertEquals(properties.maxBodyBytes.default, "10M");
  assertEquals(properties.idleTimeoutMs.default, "5s");
  assertEquals(properties.compress.default, ["br", "zstd", "gzip"]);
  assertEquals(properties.trailingSlash.default, "auto");
  assertEquals("default" in properties.app, false);
});

Deno.test("renderConfigSchema() patterns accept and refuse what the file does", () => {
  const { properties } = schemaOf();
  const size = new RegExp(properties.maxBodyBytes.anyOf?.[1].pattern as string);
  const time = new RegExp(properties.idleTimeoutMs.anyOf?.[1].pattern as string);
  const pages = properties.errorPages as { additionalProperties: { pattern: string } };
  const page = new RegExp(pages.additionalProperties.pattern);
  const cases: [RegExp, string, string][] = [
    [size, "maxBodyBytes", "10MiB"],
    [size, "maxBodyBytes", "ten"],
    [time, "idleTimeoutMs", "500ms"],
    [time, "idleTimeoutMs", "5h"],
  ];
  for (const [pattern, key, text] of cases) {
    assertEquals(pattern.test(text), accepts({ [key]: text }), `${key}: ${text}`);
  }
  for (const path of ["404.html", "/e/500.html", "../x", "a/..", "a\\b", "/", "..x/y.html"]) {
    assertEquals(page.test(path), accepts({ errorPages: { "404": path } }), path);
  }
});

Deno.test("renderConfigSchema() takes rules and cors from its parts", () => {
  const rules = { type: "array", items: { type: "object" } };
  const cors = { type: "object" };
  const { properties } = schemaOf({ rules, cors });
  assertEquals([properties.rules, properties.cors], [rules, cors]);
});

/** Whether the configuration file reader accepts `data`. */
function accepts(data: Record<string, unknown>): boolean {
  try {
    readConfigText(JSON.stringify(data), "portico.json");
    return true;
  } catch (error) {
    if (error instanceof UserError) return false;
    throw error;
  }
}

/**
 * The main thread's side of the rules: read the `_headers` and `_redirects`
 * files at the top of the root, check them together with the configuration
 * file's `rules`, `cors` and `errorPages` and the site flags, and hand the
 * result on as plain data ({@linkcode SiteRules}). Every mistake is a
 * {@linkcode RuleError} naming the file and the line or JSON path.
 *
 * @module
 */

import { join } from "../deps.ts";
import { corsFromJson } from "./cors.ts";
import { parseHeadersFile } from "./headers_file.ts";
import { compilePattern } from "./pattern.ts";
import { parseRedirectsFile } from "./redirects_file.ts";
import { compileRules } from "./rule_table.ts";
import { rulesFromJson } from "./rules_json.ts";
import type { SiteRules, TrailingSlash } from "./types.ts";

/** What the configuration file says about the site (absent parts are undefined or empty). */
export interface ConfiguredRules {
  /** The file's name, for messages (`portico.json`). */
  readonly file: string;
  /** The `rules` array, unchecked. */
  readonly rules: unknown;
  /** The `cors` array, unchecked. */
  readonly cors: unknown;
  /** Error pages by status, checked by the configuration file's reader. */
  readonly errorPages: Readonly<Record<string, string>>;
}

/** The site flags (`--spa`, `--spa-page`, `--clean-urls`, `--trailing-slash`, `--list`). */
export interface SiteFlags {
  readonly spa: boolean;
  readonly spaPage: string;
  readonly cleanUrls: boolean;
  readonly trailingSlash: TrailingSlash;
  readonly list: boolean;
}

/** The rules read, and the lines of the rule files that use what is not supported. */
export interface ReadRules {
  /** The checked rules. */
  readonly rules: SiteRules;
  /** One message per skipped line (`_redirects:12: Country= conditions are not supported ...`). */
  readonly unsupported: readonly string[];
}

/** Reads a text file, or null when it does not exist. */
export type ReadText = (path: string) => Promise<string | null>;

/** Reads a file through `Deno`, null when it is absent. */
const readTextFile: ReadText = async (path) => {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
};

/**
 * Reads the rule files at the top of the root and checks the site's rules
 * (see {@linkcode siteRulesFrom}).
 *
 * @param root The document root, or null (an application alone has no rule files).
 * @param configured The configuration file's parts, or null without a file.
 * @param flags The site flags.
 * @param readText Reads a rule file (the real file system by default).
 * @returns The rules and what was skipped.
 * @throws {RuleError} For any rule that cannot be used.
 *
 * @example
 * ```ts
 * const { rules } = await readSiteRules("www", null, {
 *   spa: true, spaPage: "index.html", cleanUrls: false, trailingSlash: "auto", list: false,
 * });
 * rules.spa; // "index.html"
 * ```
 */
export async function readSiteRules(
  root: string | null,
  configured: ConfiguredRules | null,
  flags: SiteFlags,
  readText: ReadText = readTextFile,
): Promise<ReadRules> {
  const texts = {
    headers: root === null ? null : await readText(join(root, "_headers")),
    redirects: root === null ? null : await readText(join(root, "_redirects")),
  };
  return siteRulesFrom(texts, configured, flags);
}

/**
 * Reads a rule file synchronously, or null when it does not exist (for the
 * library's `serve()`, which starts synchronously).
 *
 * @param path The file.
 * @returns Its text, or null.
 */
export function readTextFileSync(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** The texts of the rule files, null for a file that is not there. */
export interface RuleTexts {
  /** `_headers`. */
  readonly headers: string | null;
  /** `_redirects`. */
  readonly redirects: string | null;
}

/**
 * Checks a site's rules from the rule files' texts, the configuration and
 * the flags: the configuration's rules first, then the rule files' (in file
 * order), so a rule in the configuration wins where both match.
 *
 * @param texts The rule files' texts.
 * @param configured The configuration file's parts, or null without a file.
 * @param flags The site flags.
 * @returns The rules and what was skipped.
 * @throws {RuleError} For any rule that cannot be used.
 *
 * @example
 * ```ts
 * const { rules } = siteRulesFrom({ headers: null, redirects: "/old /new 301\n" }, null, flags);
 * rules.routes[0].to; // "/new"
 * ```
 */
export function siteRulesFrom(
  texts: RuleTexts,
  configured: ConfiguredRules | null,
  flags: SiteFlags,
): ReadRules {
  const file = configured?.file ?? "";
  const fromConfig = configured === null || configured.rules === undefined
    ? { headers: [], routes: [] }
    : rulesFromJson(configured.rules, `${file}: rules`);
  const cors = configured === null || configured.cors === undefined
    ? []
    : corsFromJson(configured.cors, `${file}: cors`);
  const headers = texts.headers === null ? [] : parseHeadersFile(texts.headers, "_headers");
  const redirects = texts.redirects === null
    ? { routes: [], unsupported: [] }
    : parseRedirectsFile(texts.redirects, "_redirects");
  const rules: SiteRules = {
    headers: [...fromConfig.headers, ...headers],
    routes: [...fromConfig.routes, ...redirects.routes],
    cors,
    errorPages: configured?.errorPages ?? {},
    spa: flags.spa ? flags.spaPage : null,
    cleanUrls: flags.cleanUrls,
    trailingSlash: flags.trailingSlash,
    list: flags.list,
  };
  // What the workers will compile must compile here, where a mistake can still be refused.
  compileRules(rules);
  for (const rule of cors) compilePattern(rule.path, rule.origin);
  return { rules, unsupported: redirects.unsupported };
}

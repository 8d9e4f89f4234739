/**
 * Starting the server from the command line: validate the root and the
 * application, start the serving workers, print where they are reachable,
 * and stop gracefully on a signal. Every failure the user can fix ends with
 * one line on standard error and exit code 2.
 *
 * @module
 */

import { authority } from "./address.ts";
import { findApp } from "./app.ts";
import { type CliOptions, HELP_TEXT } from "./cli.ts";
import { IO_EVENTS_VARIABLE, SERVER_NAME, VERSION } from "./config.ts";
import { dirname, fromFileUrl, resolve } from "./deps.ts";
import { UserError } from "./errors.ts";
import { explainListenError } from "./listen_error.ts";
import { consoleLogger, describeError, type Logger } from "./log.ts";
import { parseAdminAddress, startAdmin } from "./admin.ts";
import { renderPrometheus } from "./metrics.ts";
import { parseCidrList } from "./net/cidr.ts";
import type { Server } from "./server.ts";
import { reloader } from "./reload.ts";
import { loadSettings, type Settings } from "./settings/load.ts";
import { type ReadRules, readSiteRules, type SiteFlags } from "./site/read.ts";
import { RuleError, type SiteRules } from "./site/types.ts";
import { watchFiles, watchRuleFiles } from "./site/watch_rules.ts";
import { checkHttpsOptions } from "./https.ts";
import { HttpsService } from "./https_service.ts";
import { startWorkers, type WorkerConfig, type WorkerPool } from "./supervisor.ts";

/** The site bundled next to the program (in a checkout, or inside a compiled binary). */
const BUNDLED_ROOT = fromFileUrl(new URL("../www", import.meta.url));

/**
 * Finds the directory to serve: `--root` as given, or `www` in the working
 * directory, or the bundled site when that does not exist either.
 *
 * @param options The parsed options.
 * @returns The absolute root.
 * @throws {UserError} When the root does not exist, is not a directory or cannot be read.
 */
export async function findRoot(options: CliOptions): Promise<string> {
  const root = resolve(options.root);
  try {
    const info = await Deno.stat(root);
    if (!info.isDirectory) {
      throw new UserError(`root ${root} is not a directory; pass --root DIR with a folder`);
    }
    return root;
  } catch (error) {
    if (error instanceof UserError) throw error;
    if (error instanceof Deno.errors.NotFound) {
      if (!options.rootGiven) return BUNDLED_ROOT;
      throw new UserError(`root ${root} does not exist; create it or pass --root DIR`);
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new UserError(`cannot read root ${root}: permission denied (allow reading it)`);
    }
    throw new UserError(`cannot use root ${root}: ${describeError(error)}`);
  }
}

/**
 * The URLs a browser can use to reach the server: loopback names for a
 * wildcard address, plus the machine's other addresses when the system
 * lets us list them.
 *
 * @param addr The bound address.
 * @param secure Whether the server speaks HTTPS.
 * @returns One or more URLs.
 */
export function reachableUrls(addr: Deno.NetAddr, secure = false): string[] {
  const scheme = secure ? "https" : "http";
  const url = (host: string) => `${scheme}://${authority({ ...addr, hostname: host })}/`;
  if (addr.hostname === "0.0.0.0" || addr.hostname === "::") {
    const urls = [url("localhost")];
    const ipv6 = addr.hostname === "::";
    let interfaces: Deno.NetworkInterfaceInfo[] = [];
    if (
      Deno.permissions.querySync({ name: "sys", kind: "networkInterfaces" }).state === "granted"
    ) {
      try {
        interfaces = Deno.networkInterfaces();
      } catch {
        // Listing interfaces is a courtesy.
      }
    }
    for (const nic of interfaces) {
      if (nic.family === "IPv6" && (!ipv6 || nic.scopeid !== 0)) continue;
      const candidate = url(nic.address);
      if (!urls.includes(candidate)) urls.push(candidate);
    }
    return urls;
  }
  return [url(addr.hostname)];
}

/**
 * The paths a serving worker must read: the root and the application's
 * folder, each also by its real path when a symlink leads there.
 *
 * @param root The document root, or null.
 * @param app The application module, or null.
 * @returns Absolute paths.
 */
export async function readablePaths(root: string | null, app: string | null): Promise<string[]> {
  const paths = [root, app === null ? null : dirname(app)].filter((p) => p !== null);
  const real = await Promise.all(paths.map((p) => Deno.realPath(p).catch(() => p)));
  return [...new Set([...paths, ...real])];
}

/**
 * Makes sure nothing listens on the address yet. Workers share a port with
 * `reusePort`, which would also let them share it, silently, with another
 * program that uses the option; a plain bind first refuses that case.
 *
 * @throws {UserError} When the port is taken (or cannot be bound at all).
 */
function ensurePortFree(hostname: string, port: number): void {
  try {
    Deno.listen({ hostname, port }).close();
  } catch (error) {
    throw explainListenError(error, hostname, port);
  }
}

/**
 * Runs the program: reads the command line and the configuration file,
 * checks what it is asked to serve, starts the sandboxed workers that serve
 * it, reloads the site's rules on SIGHUP or when a rule file changes, and
 * stops them on SIGINT or SIGTERM.
 *
 * @param args The command-line arguments.
 * @returns The exit code: 0 after a clean stop, 2 for a usage or start-up error the user
 * can fix, 1 for any other failure.
 */
export async function run(args: readonly string[]): Promise<number> {
  let serving: Serving;
  try {
    const settings = await loadSettings(args, ENVIRONMENT, Deno.cwd());
    const command = settings.command;
    if (command.kind === "help") {
      console.log(HELP_TEXT);
      return 0;
    }
    if (command.kind === "version") {
      console.log(`${SERVER_NAME} ${VERSION}`);
      return 0;
    }
    serving = await startServing(args, settings, command.options);
  } catch (error) {
    if (error instanceof UserError) {
      console.error(`${SERVER_NAME}: ${error.message}`);
      return error.exitCode;
    }
    // Anything else is a fault of ours, still reported in one line.
    console.error(`${SERVER_NAME}: cannot start: ${describeError(error)}`);
    return 1;
  }
  return await serveUntilSignalled(serving);
}

/** The environment as the settings read it. */
const ENVIRONMENT = { get: (name: string) => Deno.env.get(name) };

/** A started server: its workers, its start-up lines, and how to reload it. */
interface Serving {
  readonly pool: WorkerPool;
  /** Prints the start-up lines. */
  readonly announce: () => void;
  /** Reads the configuration and the rule files again and switches to them. */
  readonly reloadRules: () => Promise<boolean>;
  /** Reads the certificate files again and switches to them (nothing without files). */
  readonly reloadCertificate: () => Promise<boolean>;
  /** The root whose rule files are watched, or null. */
  readonly watched: string | null;
  /** The admin listener, or null. */
  readonly admin: Server | null;
  /** The HTTPS side: certificate files to watch, the plain listener to close. */
  readonly https: HttpsService;
}

/**
 * Starts the admin listener of `--admin`: the workers' merged metrics and
 * the health endpoint, which says 503 as soon as the workers are told to stop.
 *
 * @throws {UserError} When its address cannot be bound (the workers are stopped first).
 */
function startAdminFor(options: CliOptions, pool: WorkerPool, logger: Logger): Server {
  const address = parseAdminAddress(options.admin ?? "", "--admin");
  try {
    return startAdmin(address, {
      metrics: async () => renderPrometheus(await pool.metrics()),
      draining: () => pool.draining,
      health: options.health,
    }, logger);
  } catch (error) {
    throw explainListenError(error, address.hostname, address.port);
  }
}

/** Checks the options, reads the site's rules and starts the workers. */
async function startServing(
  args: readonly string[],
  settings: Settings,
  options: CliOptions,
): Promise<Serving> {
  // With an application, files are served only from a root that was asked for.
  const app = options.app === null ? null : await findApp(options.app);
  const root = app === null || options.rootGiven ? await findRoot(options) : null;
  checkCombinations(options, root);
  const read = await siteRulesOf(root, settings, options.site);
  const logger = consoleLogger({ quiet: options.quiet });
  const https = await HttpsService.start(options.https, options.hostname, ENVIRONMENT, logger);
  const config: Omit<WorkerConfig, "reusePort"> = {
    root,
    app,
    appName: options.app,
    hostname: options.hostname,
    port: options.port,
    limits: options.limits,
    tuning: options.tuning,
    content: options.content,
    quiet: options.quiet,
    logFormat: options.logFormat,
    requestIdHeader: options.requestIdHeader,
    dev: options.dev ? { app: options.devApp } : null,
    rules: read.rules,
    health: options.health,
    proxyProtocol: options.proxyProtocol,
    trustProxy: options.trustProxy,
    tls: https.tls,
    fields: https.fields,
  };
  let pool: WorkerPool | null = null;
  let admin: Server | null = null;
  try {
    // Shared ports (several workers, or HTTPS, whose listener can be replaced) must not be
    // shared with another program that happens to ask for the same.
    const shared = options.workers > 1 || https.secure;
    if (shared && options.port !== 0) ensurePortFree(options.hostname, options.port);
    pool = await startWorkers(config, await readablePaths(root, app), options.workers, logger);
    https.attach(pool);
    admin = options.admin === null ? null : startAdminFor(options, pool, logger);
  } catch (error) {
    await pool?.stop();
    await https.close();
    throw error;
  }
  const running = pool;
  const what = [options.app, root].filter((part) => part !== null).join(" with files from ");
  const workers = options.workers === 1 ? "" : ` (${options.workers} workers)`;
  const announce = () => {
    console.log(`${SERVER_NAME} ${VERSION} serving ${what}${workers}`);
    for (const url of reachableUrls(pool.addr, https.secure)) console.log(`  ${url}`);
    if (https.plain !== null) {
      console.log(`  plain HTTP on port ${https.plain.addr.port} redirects to HTTPS`);
    }
    for (const line of https.warnings) console.error(`${SERVER_NAME}: warning: ${line}`);
    if (settings.configPath !== null) console.log(`  configuration: ${settings.configPath}`);
    if (admin !== null) console.log(`  metrics: http://${authority(admin.addr)}/metrics`);
    if (options.dev) console.log(DEV_NOTICE);
    for (const line of read.unsupported) console.error(`${SERVER_NAME}: ${line}`);
    warnIoEvents(pool.ioEventsPerTick, options.tuning.ioEventsPerTick);
  };
  const reloads = reloadersFor(args, root, new Set(read.unsupported), running, https);
  return { pool: running, announce, ...reloads, watched: root, admin, https };
}

/**
 * The two reloads: the rules (the configuration and the rule files) and the
 * certificate, read and switched apart, so that a mistake in one never
 * keeps the other from being renewed.
 */
function reloadersFor(
  args: readonly string[],
  root: string | null,
  reported: Set<string>,
  pool: WorkerPool,
  https: HttpsService,
): Pick<Serving, "reloadRules" | "reloadCertificate"> {
  const report = (line: string, ok: boolean) =>
    (ok ? console.log : console.error)(`${SERVER_NAME}: ${line}`);
  const reloadRules = reloader({
    read: () => rereadRules(args, root, reported),
    apply: (rules) => pool.reload(rules),
    report,
  });
  const reloadCertificate = reloader({
    what: "the certificate",
    read: () => https.reread(),
    apply: async (tls) => tls === null ? null : await pool.setCertificate(tls),
    report,
  });
  return { reloadRules, reloadCertificate };
}

/** Refuses options that do not go together. */
function checkCombinations(options: CliOptions, root: string | null): void {
  if (options.devApp && !options.dev) throw new UserError("--dev-app needs --dev");
  if (options.health !== null && !/^\/[\x21-\x7e]*$/.test(options.health)) {
    throw new UserError(`--health must be a path such as /healthz, not "${options.health}"`);
  }
  // Checked here, where a mistake can still end the program with one line.
  if (options.proxyProtocol !== null) parseCidrList(options.proxyProtocol, "--proxy-protocol");
  if (options.trustProxy !== null) parseCidrList(options.trustProxy, "--trust-proxy");
  if (options.admin !== null) parseAdminAddress(options.admin, "--admin");
  checkHttpsOptions(options.https);
  if (
    options.proxyProtocol !== null && (options.https.cert !== null || options.https.acme !== null)
  ) {
    throw new UserError(
      "--proxy-protocol cannot go with HTTPS: Deno cannot read the header before its TLS " +
        "handshake; let the proxy terminate TLS, or use --trust-proxy",
    );
  }
  if (options.dev && root === null) {
    throw new UserError("--dev watches files: with --app, pass --root DIR as well");
  }
  if (options.workers > 1 && typeof Deno.listenDatagram !== "function") {
    throw new UserError(
      "--workers above 1 needs Deno's --unstable-net flag (deno task serve has it)",
    );
  }
}

/**
 * The site's rules from the configuration file, the rule files under the
 * root and the site flags.
 *
 * @throws {UserError} Naming the file, the line or JSON path, and what is expected.
 */
async function siteRulesOf(
  root: string | null,
  settings: Settings,
  flags: SiteFlags,
): Promise<ReadRules> {
  const configured = settings.configName === null ? null : {
    file: settings.configName,
    rules: settings.rules,
    cors: settings.cors,
    errorPages: settings.errorPages,
  };
  try {
    return await readSiteRules(root, configured, flags);
  } catch (error) {
    if (error instanceof RuleError) throw new UserError(error.message);
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new UserError(`cannot read the rule files under ${root}: permission denied`);
    }
    throw error;
  }
}

/**
 * What a reload reads: the command line and the configuration file again,
 * then the rules. A rule-file line that is not supported is reported the
 * first time it is read, at start-up or on a reload, and not again.
 */
async function rereadRules(
  args: readonly string[],
  root: string | null,
  reported: Set<string>,
): Promise<SiteRules> {
  const settings = await loadSettings(args, ENVIRONMENT, Deno.cwd());
  if (settings.command.kind !== "serve") throw new UserError("the command line no longer serves");
  const read = await siteRulesOf(root, settings, settings.command.options.site);
  for (const line of read.unsupported) {
    if (!reported.has(line)) console.error(`${SERVER_NAME}: ${line}`);
    reported.add(line);
  }
  return read.rules;
}

/** The start-up line of development mode. */
export const DEV_NOTICE =
  "  development mode: pages reload when files change, nothing is cached; do not let the " +
  "internet reach this server";

/**
 * Says, in one line on standard error, when the workers' runtimes were not
 * built with the I/O batch asked for (the process may not set the variable).
 *
 * @param seen What the first worker reports.
 * @param wanted `--io-events-per-tick`.
 */
function warnIoEvents(seen: string | null, wanted: number): void {
  if (seen === String(wanted)) return;
  const kept = seen === null ? "Deno's I/O batch" : `${IO_EVENTS_VARIABLE}=${seen}`;
  console.error(
    `${SERVER_NAME}: the workers keep ${kept}: allow the main thread to set it ` +
      `(--allow-env=PORT,${IO_EVENTS_VARIABLE}) for --io-events-per-tick ${wanted}, or many ` +
      "connections are served unfairly",
  );
}

/**
 * Waits for the workers to finish, stopping them on SIGINT or SIGTERM: the
 * first signal stops gracefully, a second one at once. SIGHUP reloads the
 * configuration and the rule files, as a change to a rule file does. The
 * start-up lines are printed once the signals are handled, so a process
 * manager that signals as soon as it reads them finds a graceful stop.
 *
 * @param serving The running workers, the start-up lines and the reload.
 * @returns The exit code.
 */
async function serveUntilSignalled(
  { pool, announce, reloadRules, reloadCertificate, watched, admin, https }: Serving,
): Promise<number> {
  let signals = 0;
  const stop = () => {
    if (++signals > 1) {
      console.error(`${SERVER_NAME}: stopping now`);
      Deno.exit(1);
    }
    pool.stop();
  };
  const hangUp = () => {
    void reloadRules();
    if (https.files.length > 0) void reloadCertificate();
  };
  const listeners: Array<[Deno.Signal, () => void]> = Deno.build.os === "windows"
    ? [["SIGINT", stop]]
    : [["SIGINT", stop], ["SIGTERM", stop], ["SIGHUP", hangUp]];
  for (const [name, listener] of listeners) Deno.addSignalListener(name, listener);
  // A root that cannot be watched (a compiled binary's own files) is reloaded by signal only.
  const unwatchRules = watched === null
    ? () => {}
    : watchRuleFiles(watched, () => void reloadRules(), () => {});
  const unwatchCertificate = watchFiles(
    https.files,
    () => void reloadCertificate(),
    (error) =>
      console.error(
        `${SERVER_NAME}: warning: the certificate files cannot be watched (${
          describeError(error)
        }); ` +
          "send SIGHUP after renewing them",
      ),
  );
  const unwatch = () => {
    unwatchRules();
    unwatchCertificate();
  };
  // Only now say where it serves: whoever acts on that line may signal at once.
  announce();
  try {
    return await pool.finished;
  } finally {
    await admin?.shutdown();
    await https.close();
    unwatch();
    for (const [name, listener] of listeners) Deno.removeSignalListener(name, listener);
  }
}

/**
 * Starting the server from the command line: validate the root, bind the
 * address, print where it is reachable, and stop cleanly on a signal. Every
 * failure the user can fix ends with one line on standard error and exit
 * code 2.
 *
 * @module
 */

import { AppError, loadApp } from "./app.ts";
import { CliError, type CliOptions, HELP_TEXT, parseCli } from "./cli.ts";
import { SERVER_NAME } from "./config.ts";
import { authority, type Handler } from "./connection.ts";
import { fromFileUrl, resolve } from "./deps.ts";
import { siteHandler } from "./gateway.ts";
import { consoleLogger, describeError, type Logger } from "./log.ts";
import { listen, type Server, VERSION } from "./server.ts";

/** The site bundled next to the program (in a checkout, or inside a compiled binary). */
const BUNDLED_ROOT = fromFileUrl(new URL("../www", import.meta.url));

/**
 * Finds the directory to serve: `--root` as given, or `www` in the working
 * directory, or the bundled site when that does not exist either.
 *
 * @param options The parsed options.
 * @returns The absolute root.
 * @throws {CliError} When the root does not exist, is not a directory or cannot be read.
 */
export async function findRoot(options: CliOptions): Promise<string> {
  const root = resolve(options.root);
  try {
    const info = await Deno.stat(root);
    if (!info.isDirectory) {
      throw new CliError(`root ${root} is not a directory; pass --root DIR with a folder`);
    }
    return root;
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (error instanceof Deno.errors.NotFound) {
      if (!options.rootGiven) return BUNDLED_ROOT;
      throw new CliError(`root ${root} does not exist; create it or pass --root DIR`);
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new CliError(`cannot read root ${root}: permission denied (allow reading it)`);
    }
    throw new CliError(`cannot use root ${root}: ${describeError(error)}`);
  }
}

/**
 * Binds the address, turning the usual failures into instructions.
 *
 * @throws {CliError} When the port is taken, privileged or the address is not local.
 */
export function listenOrExplain(options: CliOptions, handler: Handler, logger: Logger): Server {
  const where = authority({ transport: "tcp", hostname: options.hostname, port: options.port });
  try {
    const { hostname, port, limits } = options;
    return listen({ hostname, port, handler, limits, logger });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new CliError(
        `port ${options.port} is already in use on ${options.hostname}; ` +
          `stop the other server or pick another port with --port`,
      );
    }
    if (error instanceof Deno.errors.AddrNotAvailable) {
      throw new CliError(`cannot listen on ${where}: no such local address; check --host`);
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new CliError(
        `not allowed to listen on ${where}; use a port above 1023 or grant the permission`,
      );
    }
    throw new CliError(`cannot listen on ${where}: ${describeError(error)}`);
  }
}

/**
 * The URLs a browser can use to reach the server: loopback names for a
 * wildcard address, plus the machine's other addresses when the system
 * lets us list them.
 *
 * @param addr The bound address.
 * @returns One or more URLs.
 */
export function reachableUrls(addr: Deno.NetAddr): string[] {
  const url = (host: string) => `http://${authority({ ...addr, hostname: host })}/`;
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
 * Runs the program.
 *
 * @param args The command-line arguments.
 * @returns The exit code: 0 after a clean stop, 2 for a usage or start-up error the user
 * can fix, 1 for any other failure to start.
 */
export async function run(args: readonly string[]): Promise<number> {
  let server: Server;
  try {
    const command = parseCli(args, { get: (name) => Deno.env.get(name) });
    if (command.kind === "help") {
      console.log(HELP_TEXT);
      return 0;
    }
    if (command.kind === "version") {
      console.log(`${SERVER_NAME} ${VERSION}`);
      return 0;
    }
    const options = command.options;
    const logger = consoleLogger({ quiet: options.quiet });
    // With an application, files are served only from a root that was asked for.
    const app = options.app === null ? null : await loadApp(options.app);
    const root = app === null || options.rootGiven ? await findRoot(options) : null;
    const handler = siteHandler(app, root, { logger });
    const what = [options.app, root].filter((part) => part !== null).join(" with files from ");
    server = listenOrExplain(options, handler, logger);
    console.log(`${SERVER_NAME} ${VERSION} serving ${what}`);
    for (const url of reachableUrls(server.addr)) console.log(`  ${url}`);
  } catch (error) {
    if (error instanceof CliError || error instanceof AppError) {
      console.error(`${SERVER_NAME}: ${error.message}`);
      return 2;
    }
    // Anything else is a fault of ours, still reported in one line.
    console.error(`${SERVER_NAME}: cannot start: ${describeError(error)}`);
    return 1;
  }

  // A promise an application forgets to handle must not stop every other request.
  const unhandled = (event: PromiseRejectionEvent): void => {
    event.preventDefault();
    console.error(`${SERVER_NAME}: unhandled rejection: ${describeError(event.reason)}`);
  };
  globalThis.addEventListener("unhandledrejection", unhandled);
  let signals = 0;
  const stop = () => {
    if (++signals > 1) Deno.exit(1);
    server.shutdown();
  };
  const names: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const name of names) Deno.addSignalListener(name, stop);
  await server.finished;
  for (const name of names) Deno.removeSignalListener(name, stop);
  globalThis.removeEventListener("unhandledrejection", unhandled);
  return 0;
}

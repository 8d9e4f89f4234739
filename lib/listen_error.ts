/**
 * Turning a failure to listen into one line the user can act on.
 *
 * @module
 */

import { authority } from "./address.ts";
import { UserError } from "./errors.ts";
import { describeError } from "./log.ts";

/**
 * Turns a failure to listen into an instruction for the user.
 *
 * @param error What `Deno.listen` threw.
 * @param hostname The address.
 * @param port The port.
 * @returns The error to report (exit code 2).
 *
 * @example
 * ```ts
 * explainListenError(new Deno.errors.AddrInUse("busy"), "0.0.0.0", 8000).message;
 * // "port 8000 is already in use on 0.0.0.0; stop the other server or pick another port with --port"
 * ```
 */
export function explainListenError(error: unknown, hostname: string, port: number): UserError {
  const where = authority({ transport: "tcp", hostname, port });
  if (error instanceof Deno.errors.AddrInUse) {
    return new UserError(
      `port ${port} is already in use on ${hostname}; ` +
        `stop the other server or pick another port with --port`,
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new UserError(`cannot listen on ${where}: no such local address; check --host`);
  }
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return new UserError(
      `not allowed to listen on ${where}; use a port above 1023 or grant the permission`,
    );
  }
  return new UserError(`cannot listen on ${where}: ${describeError(error)}`);
}

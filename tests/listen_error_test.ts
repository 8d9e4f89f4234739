/**
 * A failure to listen becomes one line the user can act on, with exit code 2.
 */

import { assert, assertEquals } from "./_deps.ts";
import { UserError } from "../lib/errors.ts";
import { explainListenError } from "../lib/listen_error.ts";

const CASES: ReadonlyArray<{ error: unknown; hostname: string; port: number; message: string }> = [
  {
    error: new Deno.errors.AddrInUse("Address already in use"),
    hostname: "0.0.0.0",
    port: 8000,
    message: "port 8000 is already in use on 0.0.0.0; " +
      "stop the other server or pick another port with --port",
  },
  {
    error: new Deno.errors.AddrNotAvailable("Cannot assign requested address"),
    hostname: "10.9.8.7",
    port: 8000,
    message: "cannot listen on 10.9.8.7:8000: no such local address; check --host",
  },
  {
    error: new Deno.errors.AddrNotAvailable("Cannot assign requested address"),
    hostname: "fe80::1",
    port: 8000,
    message: "cannot listen on [fe80::1]:8000: no such local address; check --host",
  },
  {
    error: new Deno.errors.PermissionDenied("Permission denied"),
    hostname: "0.0.0.0",
    port: 80,
    message: "not allowed to listen on 0.0.0.0:80; use a port above 1023 or grant the permission",
  },
  {
    error: new Deno.errors.NotCapable('Requires net access to "0.0.0.0:80"'),
    hostname: "::",
    port: 80,
    message: "not allowed to listen on [::]:80; use a port above 1023 or grant the permission",
  },
  {
    error: new TypeError("Invalid address"),
    hostname: "127.0.0.1",
    port: 8000,
    message: "cannot listen on 127.0.0.1:8000: TypeError: Invalid address",
  },
  {
    error: "something odd",
    hostname: "127.0.0.1",
    port: 8000,
    message: "cannot listen on 127.0.0.1:8000: something odd",
  },
];

for (const { error, hostname, port, message } of CASES) {
  const name = error instanceof Error ? error.name : JSON.stringify(error);
  Deno.test(`explainListenError() explains ${name} on ${hostname} port ${port}`, () => {
    const explained = explainListenError(error, hostname, port);
    assert(explained instanceof UserError);
    assertEquals(explained.message, message);
    assertEquals(explained.exitCode, 2);
  });
}

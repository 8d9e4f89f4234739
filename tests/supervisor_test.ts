/**
 * The sandbox of a serving worker: the permissions it is started with. What
 * a worker may do, proved from inside one, and several workers serving one
 * port are tested on the running program in `main/workers_test.ts`.
 */

import { assertEquals } from "./_deps.ts";
import { workerPermissions } from "../lib/supervisor.ts";

Deno.test("workerPermissions() grants reading the given paths and listening on one address", () => {
  assertEquals(workerPermissions({ hostname: "0.0.0.0", port: 8000 }, ["/srv/www", "/srv/www"]), {
    read: ["/srv/www"],
    net: ["0.0.0.0:8000"],
    env: false,
    run: false,
    write: false,
    ffi: false,
    sys: false,
    import: false,
  });
  assertEquals(workerPermissions({ hostname: "::1", port: 0 }, []).net, ["[::1]:0"]);
});

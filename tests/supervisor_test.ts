/**
 * The sandbox of a serving worker: the permissions it is started with. What
 * a worker may do, proved from inside one, and several workers serving one
 * port are tested on the running program in `main/workers_test.ts`.
 */

import { assertEquals } from "./_deps.ts";
import {
  DEFAULT_CONTENT,
  DEFAULT_LIMITS,
  DEFAULT_TUNING,
  IO_EVENTS_VARIABLE,
} from "../lib/config.ts";
import { silentLogger } from "../lib/log.ts";
import { startWorkers, workerPermissions } from "../lib/supervisor.ts";
import { WWW } from "./_helpers.ts";
import { NO_RULES } from "../lib/site/types.ts";

Deno.test("workerPermissions() grants reading the given paths, listening on one address and its I/O batch", () => {
  assertEquals(workerPermissions({ hostname: "0.0.0.0", port: 8000 }, ["/srv/www", "/srv/www"]), {
    read: ["/srv/www"],
    net: ["0.0.0.0:8000"],
    env: [IO_EVENTS_VARIABLE],
    run: false,
    write: false,
    ffi: false,
    sys: false,
    import: false,
  });
  assertEquals(workerPermissions({ hostname: "::1", port: 0 }, []).net, ["[::1]:0"]);
  // Over HTTPS with port 0, a new certificate's listener binds the picked port again.
  const tls = { cert: "", key: "" };
  assertEquals(workerPermissions({ hostname: "::1", port: 0, tls }, []).net, ["[::1]"]);
});

Deno.test("startWorkers() builds the workers' runtimes with the I/O batch asked for", async () => {
  const before = Deno.env.get(IO_EVENTS_VARIABLE);
  const config = {
    root: WWW,
    app: null,
    appName: null,
    hostname: "127.0.0.1",
    port: 0,
    limits: DEFAULT_LIMITS,
    tuning: { ...DEFAULT_TUNING, ioEventsPerTick: 32 },
    content: DEFAULT_CONTENT,
    quiet: true,
    dev: null,
    rules: NO_RULES,
    health: null,
    proxyProtocol: null,
    trustProxy: null,
    tls: null,
    fields: [],
  };
  try {
    const pool = await startWorkers(config, [WWW], 1, silentLogger);
    try {
      assertEquals(pool.ioEventsPerTick, "32");
      const response = await fetch(`http://127.0.0.1:${pool.addr.port}/`);
      assertEquals(response.status, 200);
      await response.body?.cancel();
    } finally {
      await pool.stop();
    }
  } finally {
    if (before === undefined) Deno.env.delete(IO_EVENTS_VARIABLE);
    else Deno.env.set(IO_EVENTS_VARIABLE, before);
  }
});

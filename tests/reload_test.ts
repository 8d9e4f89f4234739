import { reloader } from "../lib/reload.ts";
import { assertEquals } from "./_deps.ts";

/** A reloader over fakes: what it applied and what it reported. */
function fakeReloader(read: () => Promise<number>, refuse: string | null = null) {
  const applied: number[] = [];
  const lines: [string, boolean][] = [];
  const reload = reloader({
    read,
    apply: (next) => {
      if (refuse === null) applied.push(next);
      return Promise.resolve(refuse);
    },
    report: (line, ok) => lines.push([line, ok]),
  });
  return { reload, applied, lines };
}

Deno.test("reloader() applies what it reads and says so in one line", async () => {
  const { reload, applied, lines } = fakeReloader(() => Promise.resolve(7));
  assertEquals(await reload(), true);
  assertEquals(applied, [7]);
  assertEquals(lines, [["reloaded the configuration and the rule files", true]]);
});

Deno.test("reloader() refuses what cannot be read with the reason's first line, applying nothing", async () => {
  const { reload, applied, lines } = fakeReloader(() =>
    Promise.reject(new Error("portico.json: spa: expected true or false\nstack"))
  );
  assertEquals(await reload(), false);
  assertEquals(applied, []);
  assertEquals(lines, [[
    "reload refused, the running configuration stays: portico.json: spa: expected true or false",
    false,
  ]]);
});

Deno.test("reloader() reports a switch the serving side refused", async () => {
  const { reload, lines } = fakeReloader(() => Promise.resolve(1), "worker 2 is stopping");
  assertEquals(await reload(), false);
  assertEquals(
    lines[0][0],
    "reload refused, the running configuration stays: worker 2 is stopping",
  );
});

Deno.test("reloader() never overlaps reloads and reads once more for those asked during one", async () => {
  const gates: PromiseWithResolvers<number>[] = [];
  const { reload, applied } = fakeReloader(() => {
    gates.push(Promise.withResolvers<number>());
    return gates[gates.length - 1].promise;
  });
  const first = reload();
  const second = reload();
  const third = reload();
  assertEquals(gates.length, 1, "a second read started while the first ran");
  gates[0].resolve(1);
  assertEquals(await first, true);
  // The two asked for during the first share one more reload, with what is read then.
  for (let turn = 0; gates.length < 2 && turn < 100; turn++) await Promise.resolve();
  assertEquals(gates.length, 2, "no second read after the first finished");
  gates[1].resolve(2);
  assertEquals(await second, true);
  assertEquals(await third, true);
  assertEquals(applied, [1, 2]);
});

Deno.test("reloader() reports a switch that throws as a refusal and still reloads afterwards", async () => {
  const lines: [string, boolean][] = [];
  let throws = true;
  const reload = reloader({
    read: () => Promise.resolve(1),
    apply: () => {
      if (throws) throw new Error("cannot build the site");
      return Promise.resolve(null);
    },
    report: (line, ok) => lines.push([line, ok]),
  });
  assertEquals(await reload(), false);
  throws = false;
  assertEquals(await reload(), true);
  assertEquals(lines, [
    ["reload refused, the running configuration stays: cannot build the site", false],
    ["reloaded the configuration and the rule files", true],
  ]);
});

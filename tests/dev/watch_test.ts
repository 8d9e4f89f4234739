/**
 * Watching a real temporary root. Each test writes files and waits for the
 * next change as an event, with a deadline that fails the test rather than
 * hanging it; nothing sleeps. One write may be several file-system events;
 * the batcher makes them one change.
 */

import { assertEquals, join } from "../_deps.ts";
import { deadline } from "../_helpers.ts";
import type { LiveChange } from "../../lib/dev/changes.ts";
import { type RootWatcher, watchRoot } from "../../lib/dev/watch.ts";

/** How long a test waits for a change: only a safety net, generous for a loaded machine. */
const CHANGE_DEADLINE_MS = 5000;

/** The changes and errors a watcher reported, taken one at a time in order. */
class ChangeQueue {
  #changes: LiveChange[] = [];
  #errors: unknown[] = [];
  #arrived: PromiseWithResolvers<void> | null = null;

  /** For `watchRoot`'s `onChange`. */
  readonly push = (change: LiveChange): void => {
    this.#changes.push(change);
    this.#arrived?.resolve();
  };

  /** For `watchRoot`'s `onError`. */
  readonly fail = (error: unknown): void => {
    this.#errors.push(error);
    this.#arrived?.resolve();
  };

  /** Errors reported so far. */
  get errors(): readonly unknown[] {
    return this.#errors;
  }

  /** The next change; fails on a watch error, or after {@linkcode CHANGE_DEADLINE_MS} with none. */
  next(): Promise<LiveChange> {
    return this.#within(() => {
      if (this.#errors.length > 0) throw new Error(`watch failed: ${this.#errors[0]}`);
      return this.#changes.shift();
    });
  }

  /** The first error; fails after {@linkcode CHANGE_DEADLINE_MS} without one. */
  firstError(): Promise<unknown> {
    return this.#within(() => this.#errors.length > 0 ? { error: this.#errors[0] } : undefined)
      .then(({ error }) => error);
  }

  #within<T>(take: () => T | undefined): Promise<T> {
    return deadline(
      this.#wait(take),
      CHANGE_DEADLINE_MS,
      `nothing within ${CHANGE_DEADLINE_MS} ms`,
    );
  }

  async #wait<T>(take: () => T | undefined): Promise<T> {
    while (true) {
      const taken = take();
      if (taken !== undefined) return taken;
      this.#arrived = Promise.withResolvers<void>();
      await this.#arrived.promise;
      this.#arrived = null;
    }
  }
}

/**
 * Runs `fn` with a fresh temporary root, prepared by `prepare` before the
 * watch starts, and a watcher on it; closes the watcher and removes the
 * root afterwards.
 */
async function withWatchedRoot(
  fn: (root: string, changes: ChangeQueue) => Promise<void>,
  prepare: (root: string) => Promise<void> = () => Promise.resolve(),
  watchPath: (root: string) => string = (root) => root,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "portico_watch_" });
  let watcher: RootWatcher | undefined;
  try {
    await prepare(root);
    const changes = new ChangeQueue();
    watcher = watchRoot(watchPath(root), changes.push, { onError: changes.fail });
    await fn(root, changes);
  } finally {
    watcher?.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("watchRoot() reports a written stylesheet as a css change", async () => {
  await withWatchedRoot(async (root, changes) => {
    await Deno.writeTextFile(join(root, "style.css"), "body { color: red }");
    assertEquals(await changes.next(), { reload: false, css: ["/style.css"], images: [] });
  });
});

Deno.test("watchRoot() reports a nested image as an image change", async () => {
  await withWatchedRoot(
    async (root, changes) => {
      await Deno.writeFile(join(root, "img", "icons", "logo.png"), new Uint8Array([0x89, 0x50]));
      assertEquals(await changes.next(), {
        reload: false,
        css: [],
        images: ["/img/icons/logo.png"],
      });
    },
    (root) => Deno.mkdir(join(root, "img", "icons"), { recursive: true }),
  );
});

Deno.test("watchRoot() reports a written page as a reload", async () => {
  await withWatchedRoot(async (root, changes) => {
    await Deno.writeTextFile(join(root, "index.html"), "<!doctype html>");
    assertEquals(await changes.next(), { reload: true, css: [], images: [] });
  });
});

Deno.test("watchRoot() ignores dotfiles and editor swap files", async () => {
  await withWatchedRoot(async (root, changes) => {
    await Deno.writeTextFile(join(root, ".env"), "SECRET=1");
    await Deno.writeTextFile(join(root, ".index.html.swp"), "swap");
    await Deno.writeTextFile(join(root, "index.html.swp"), "swap");
    await Deno.writeTextFile(join(root, ".git", "index"), "git");
    // Events arrive in order: had the ignored files counted, they would be in this change.
    await Deno.writeTextFile(join(root, "real.css"), "p {}");
    assertEquals(await changes.next(), { reload: false, css: ["/real.css"], images: [] });
  }, (root) => Deno.mkdir(join(root, ".git")));
});

Deno.test({
  name: "watchRoot() resolves a relative root through a symbolic link",
  // Symbolic links need a privilege on Windows, and relativeToCwd() is POSIX-only.
  ignore: Deno.build.os === "windows",
  fn: () =>
    withWatchedRoot(
      async (root, changes) => {
        await Deno.writeTextFile(join(root, "site", "css", "site.css"), "p {}");
        assertEquals(await changes.next(), { reload: false, css: ["/css/site.css"], images: [] });
      },
      async (root) => {
        await Deno.mkdir(join(root, "site", "css"), { recursive: true });
        await Deno.symlink(join(root, "site"), join(root, "link"));
      },
      // Relative to the working directory, and through the link.
      (root) => relativeToCwd(join(root, "link")),
    ),
});

Deno.test("watchRoot() reports exactly the one file changed among 20,000", async () => {
  await withWatchedRoot(
    async (root, changes) => {
      await Deno.writeTextFile(join(root, "d123", "f45.css"), "p { margin: 0 }");
      assertEquals(await changes.next(), { reload: false, css: ["/d123/f45.css"], images: [] });
    },
    async (root) => {
      for (let d = 0; d < 200; d++) {
        const dir = join(root, `d${d}`);
        await Deno.mkdir(dir);
        await Promise.all(
          Array.from({ length: 100 }, (_, f) => Deno.writeTextFile(join(dir, `f${f}.css`), "")),
        );
      }
    },
  );
});

Deno.test("watchRoot() reports a root that cannot be watched once, through onError", async () => {
  const root = await Deno.makeTempDir({ prefix: "portico_watch_" });
  await Deno.remove(root);
  const errors: unknown[] = [];
  const watcher = watchRoot(root, () => {}, { onError: (error) => errors.push(error) });
  try {
    assertEquals(errors.length, 1);
    assertEquals(errors[0] instanceof Deno.errors.NotFound, true);
  } finally {
    watcher.close();
    watcher.close();
  }
  assertEquals(errors.length, 1);
});

Deno.test("watchRoot() reports the root removed once, through onError", async () => {
  const root = await Deno.makeTempDir({ prefix: "portico_watch_" });
  const changes = new ChangeQueue();
  let watcher: RootWatcher | undefined;
  try {
    await Deno.writeTextFile(join(root, "site.css"), "p {}");
    watcher = watchRoot(root, changes.push, { onError: changes.fail });
    await Deno.remove(root, { recursive: true });
    const error = await changes.firstError();
    assertEquals(error instanceof Deno.errors.NotFound, true);
    // The watch has stopped: a root made again under the same name is not watched.
    await Deno.mkdir(root);
    await Deno.writeTextFile(join(root, "later.css"), "p {}");
  } finally {
    watcher?.close();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  assertEquals(changes.errors.length, 1);
});

/** A path relative to the working directory, as `../../tmp/…`. */
function relativeToCwd(path: string): string {
  const up = Deno.cwd().split("/").filter((segment) => segment !== "").map(() => "..");
  return join(...up, path);
}

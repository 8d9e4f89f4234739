import {
  certificatePaths,
  defaultAcmeDir,
  domainSetName,
  readAccountKey,
  readCertificatePair,
  writeAccountKey,
  writeCertificatePair,
  writeFileAtomic,
} from "../../lib/acme/storage.ts";
import { assertEquals, assertThrows, join } from "../_deps.ts";

const POSIX = Deno.build.os !== "windows";

async function withFolder(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "portico_acme_storage_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("defaultAcmeDir() follows each platform's data folder", () => {
  const cases: [Parameters<typeof defaultAcmeDir>[0], string][] = [
    [{ os: "linux", HOME: "/home/ann" }, "/home/ann/.local/share/portico/acme"],
    [{ os: "linux", HOME: "/home/ann", XDG_DATA_HOME: "/data/" }, "/data/portico/acme"],
    [
      { os: "linux", HOME: "/home/ann", XDG_DATA_HOME: "relative" },
      "/home/ann/.local/share/portico/acme",
    ],
    [
      { os: "darwin", HOME: "/Users/ann", XDG_DATA_HOME: "/x" },
      "/Users/ann/Library/Application Support/portico/acme",
    ],
    [
      { os: "windows", APPDATA: "C:\\Users\\ann\\AppData\\Roaming" },
      "C:\\Users\\ann\\AppData\\Roaming\\portico\\acme",
    ],
  ];
  for (const [env, expected] of cases) assertEquals(defaultAcmeDir(env), expected);
  assertThrows(() => defaultAcmeDir({ os: "linux" }), Error, "HOME is not set");
});

Deno.test("domainSetName() is the same for any order and case, and refuses path characters", () => {
  assertEquals(domainSetName(["b.example", "A.example"]), "a.example+b.example");
  assertEquals(domainSetName(["*.a.example"]), "_.a.example");
  assertThrows(() => domainSetName(["../etc"]), SyntaxError);
  const many = Array.from({ length: 20 }, (_, i) => `host${i}.a.example`);
  const name = domainSetName(many);
  assertEquals(name.startsWith("host0.a.example+19-more-"), true, name);
  assertEquals(name, domainSetName([...many].reverse()));
});

Deno.test("writeAccountKey() makes the folder 0700 and the key 0600, and readAccountKey() reads it", async () => {
  await withFolder(async (dir) => {
    const folder = join(dir, "acme");
    assertEquals(await readAccountKey(folder), null);
    await writeAccountKey(folder, "KEY");
    assertEquals(await readAccountKey(folder), "KEY");
    if (POSIX) {
      assertEquals((await Deno.stat(folder)).mode! & 0o777, 0o700);
      assertEquals((await Deno.stat(join(folder, "account.key.pem"))).mode! & 0o777, 0o600);
    }
  });
});

Deno.test("writeCertificatePair() stores the chain 0644 and the key 0600 in 0700 folders", async () => {
  await withFolder(async (dir) => {
    const domains = ["a.example"];
    assertEquals(await readCertificatePair(dir, domains), null);
    await writeCertificatePair(dir, domains, { certPem: "CERT", keyPem: "KEY" });
    assertEquals(await readCertificatePair(dir, domains), { certPem: "CERT", keyPem: "KEY" });
    const paths = certificatePaths(dir, domains);
    if (POSIX) {
      assertEquals((await Deno.stat(paths.folder)).mode! & 0o777, 0o700);
      assertEquals((await Deno.stat(paths.key)).mode! & 0o777, 0o600);
      assertEquals((await Deno.stat(paths.cert)).mode! & 0o777, 0o644);
    }
  });
});

Deno.test("writeFileAtomic() replaces by rename: an open reader keeps the old content, no temp file stays", async () => {
  await withFolder(async (dir) => {
    const path = join(dir, "key.pem");
    await writeFileAtomic(path, "old", 0o600);
    const before = (await Deno.stat(path)).ino;
    using reader = await Deno.open(path);
    await writeFileAtomic(path, "new", 0o600);
    const buffer = new Uint8Array(3);
    await reader.read(buffer);
    assertEquals(new TextDecoder().decode(buffer), "old");
    assertEquals(await Deno.readTextFile(path), "new");
    if (POSIX) assertEquals((await Deno.stat(path)).ino === before, false, "a new inode");
    assertEquals([...Deno.readDirSync(dir)].map((entry) => entry.name), ["key.pem"]);
  });
});

Deno.test("writeFileAtomic() leaves the old file and no temporary file when it cannot write", async () => {
  await withFolder(async (dir) => {
    const path = join(dir, "key.pem");
    await writeFileAtomic(path, "old", 0o600);
    await Deno.mkdir(join(dir, "blocker"));
    // Renaming a file over a non-empty folder fails after the temporary file was written.
    await Deno.writeTextFile(join(dir, "blocker", "x"), "");
    let failed = false;
    await writeFileAtomic(join(dir, "blocker"), "new", 0o600).catch(() => failed = true);
    assertEquals(failed, true);
    assertEquals(await Deno.readTextFile(path), "old");
    const names = [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
    assertEquals(names, ["blocker", "key.pem"]);
  });
});

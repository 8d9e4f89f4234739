import { assert, assertEquals, join } from "../_deps.ts";
import { HttpError } from "../../lib/errors.ts";
import { denoFileSystem, fileErrorToHttp, isNotFound } from "../../lib/static/fs.ts";
import { ROOT } from "./_static.ts";

/** An error as a system call reports it: a message and an errno name. */
function systemError(code: string): Error {
  return Object.assign(new Error(`${code}: system error`), { code });
}

Deno.test("fileErrorToHttp() maps each kind of file-system error once", () => {
  const cases: [string, unknown, number | null][] = [
    ["NotFound", new Deno.errors.NotFound("gone"), 404],
    ["NotADirectory", new Deno.errors.NotADirectory("not a dir"), 404],
    ["ENOENT", systemError("ENOENT"), 404],
    ["ENOTDIR", systemError("ENOTDIR"), 404],
    ["ENAMETOOLONG", systemError("ENAMETOOLONG"), 404],
    ["PermissionDenied", new Deno.errors.PermissionDenied("denied"), 403],
    ["EACCES", systemError("EACCES"), 403],
    ["EPERM", systemError("EPERM"), 403],
    ["EMFILE", systemError("EMFILE"), 503],
    ["ENFILE", systemError("ENFILE"), 503],
    ["EIO", systemError("EIO"), null],
    ["an error without a code", new Error("EMFILE: too many open files"), null],
    ["not an error", "boom", null],
    ["null", null, null],
  ];
  for (const [what, error, status] of cases) {
    const mapped = fileErrorToHttp(error);
    assertEquals(mapped?.status ?? null, status, what);
    if (mapped !== null) assert(mapped instanceof HttpError, what);
  }
});

Deno.test("fileErrorToHttp() asks a client out of descriptors to retry in a second", () => {
  for (const code of ["EMFILE", "ENFILE"]) {
    const mapped = fileErrorToHttp(systemError(code));
    assertEquals(new Headers(mapped?.headers).get("retry-after"), "1", code);
  }
  assertEquals(fileErrorToHttp(systemError("EACCES"))?.headers, undefined);
});

Deno.test("fileErrorToHttp() never carries the system's text", () => {
  for (const code of ["ENOENT", "EACCES", "EMFILE"]) {
    const mapped = fileErrorToHttp(systemError(code))!;
    assert(!mapped.message.includes(code), mapped.message);
  }
});

Deno.test("fileErrorToHttp() maps what the real file system throws", async () => {
  const missing = await denoFileSystem.stat(join(ROOT, "missing")).catch((e) => e);
  const throughFile = await denoFileSystem.stat(join(ROOT, "style.css", "x")).catch((e) => e);
  const tooLong = await denoFileSystem.stat(join(ROOT, "x".repeat(5000))).catch((e) => e);
  for (const error of [missing, throughFile, tooLong]) {
    assertEquals(fileErrorToHttp(error)?.status, 404, String(error));
    assert(isNotFound(error), String(error));
  }
  assert(!isNotFound(systemError("EACCES")));
});

Deno.test("denoFileSystem.stat() reports the inode and the change time", async () => {
  const stat = await denoFileSystem.stat(join(ROOT, "style.css"));
  assert(typeof stat.ino === "number", "inode");
  assert(stat.ctime instanceof Date, "ctime");
  const file = await denoFileSystem.open(join(ROOT, "style.css"));
  try {
    const fromHandle = await file.stat();
    assertEquals([fromHandle.ino, fromHandle.ctime], [stat.ino, stat.ctime]);
  } finally {
    file.close();
  }
});

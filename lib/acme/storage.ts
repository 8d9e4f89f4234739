/**
 * The ACME storage folder: the account key and, per set of domains, the
 * certificate chain and its key, as PEM files. Files are replaced atomically
 * (written beside, then renamed over), keys are readable by the owner only
 * (0600) and folders are the owner's (0700). The default folder is derived
 * from the environment by a pure function.
 *
 * ```
 * <folder>/account.key.pem
 * <folder>/certificates/<domains>/cert.pem
 * <folder>/certificates/<domains>/key.pem
 * ```
 *
 * @module
 */

import { dirname, join } from "../deps.ts";

/** A certificate chain with its private key. */
export interface CertificatePair {
  /** The chain, leaf first, PEM. */
  readonly certPem: string;
  /** The private key, PKCS#8 PEM. */
  readonly keyPem: string;
}

/** Where one set of domains' files are. */
export interface CertificatePaths {
  /** The folder. */
  readonly folder: string;
  /** The chain. */
  readonly cert: string;
  /** The key. */
  readonly key: string;
}

/** The environment values {@linkcode defaultAcmeDir} reads. */
export interface DataDirEnv {
  /** `Deno.build.os`. */
  readonly os: string;
  /** `HOME`. */
  readonly HOME?: string;
  /** `XDG_DATA_HOME`. */
  readonly XDG_DATA_HOME?: string;
  /** `APPDATA` (Windows). */
  readonly APPDATA?: string;
}

/** Owner read and write only: private keys. */
export const KEY_FILE_MODE = 0o600;
/** Owner read and write, everyone read: certificates are public. */
export const CERT_FILE_MODE = 0o644;
/** Owner only: the folders. */
export const FOLDER_MODE = 0o700;

/** A domain-set folder name longer than this is shortened with a hash. */
const LONGEST_NAME = 120;

/**
 * The default storage folder: the user's data folder, then `portico/acme`.
 * Linux and others: `$XDG_DATA_HOME` when absolute, else `~/.local/share`;
 * macOS: `~/Library/Application Support`; Windows: `%APPDATA%`.
 *
 * @param env The operating system and the environment variables.
 * @returns The folder.
 * @throws {Error} When the environment names no home folder.
 *
 * @example
 * ```ts
 * defaultAcmeDir({ os: "linux", HOME: "/home/ann" }); // "/home/ann/.local/share/portico/acme"
 * ```
 */
export function defaultAcmeDir(env: DataDirEnv): string {
  if (env.os === "windows") {
    if (!env.APPDATA) throw new Error("Cannot place the ACME folder: APPDATA is not set");
    return `${env.APPDATA.replace(/\\+$/, "")}\\portico\\acme`;
  }
  if (env.os !== "darwin" && env.XDG_DATA_HOME?.startsWith("/")) {
    return `${env.XDG_DATA_HOME.replace(/\/+$/, "")}/portico/acme`;
  }
  if (!env.HOME) throw new Error("Cannot place the ACME folder: HOME is not set");
  const home = env.HOME.replace(/\/+$/, "");
  const data = env.os === "darwin" ? "Library/Application Support" : ".local/share";
  return `${home}/${data}/portico/acme`;
}

/**
 * The folder name for a set of domains: lower-cased, sorted, joined with
 * `+`, a wildcard's `*` as `_`; long sets as the first name, the count and a
 * hash.
 *
 * @param domains The domains.
 * @returns The name.
 * @throws {SyntaxError} When a domain has a character no DNS name has.
 *
 * @example
 * ```ts
 * domainSetName(["b.example", "A.example"]); // "a.example+b.example"
 * ```
 */
export function domainSetName(domains: readonly string[]): string {
  const names = [...new Set(domains.map((domain) => domain.toLowerCase()))].sort();
  for (const name of names) {
    if (!/^(\*\.)?[a-z0-9.-]+$/.test(name)) throw new SyntaxError(`Not a domain name: ${name}`);
  }
  const joined = names.join("+").replaceAll("*", "_");
  if (joined.length <= LONGEST_NAME) return joined;
  return `${names[0].replaceAll("*", "_")}+${names.length - 1}-more-${fnv1a(joined)}`;
}

/**
 * The account key's path.
 *
 * @param folder The storage folder.
 * @returns The path.
 *
 * @example
 * ```ts
 * accountKeyPath("/srv/acme"); // "/srv/acme/account.key.pem"
 * ```
 */
export function accountKeyPath(folder: string): string {
  return join(folder, "account.key.pem");
}

/**
 * Where a set of domains' chain and key are.
 *
 * @param folder The storage folder.
 * @param domains The domains.
 * @returns The paths.
 *
 * @example
 * ```ts
 * certificatePaths("/srv/acme", ["a.example"]).cert; // "/srv/acme/certificates/a.example/cert.pem"
 * ```
 */
export function certificatePaths(folder: string, domains: readonly string[]): CertificatePaths {
  const set = join(folder, "certificates", domainSetName(domains));
  return { folder: set, cert: join(set, "cert.pem"), key: join(set, "key.pem") };
}

/**
 * Creates a folder and its missing parents, the folder itself mode 0700
 * (also when it existed: the mode is set after the umask).
 *
 * @param path The folder.
 *
 * @example
 * ```ts
 * await ensurePrivateFolder("/srv/acme/certificates/a.example");
 * ```
 */
export async function ensurePrivateFolder(path: string): Promise<void> {
  // A folder the user already had keeps its mode; one made here is private.
  const existed = await Deno.stat(path).then((info) => info.isDirectory, () => false);
  if (existed) return;
  await Deno.mkdir(path, { recursive: true, mode: FOLDER_MODE });
  if (Deno.build.os !== "windows") await Deno.chmod(path, FOLDER_MODE);
}

/**
 * Replaces a file atomically: writes a temporary file in the same folder
 * with the mode, then renames it over the path, so a reader sees the old
 * content or the new, never part of it.
 *
 * @param path The file.
 * @param text The content.
 * @param mode The permission bits, such as {@linkcode KEY_FILE_MODE}.
 *
 * @example
 * ```ts
 * await writeFileAtomic("/srv/acme/account.key.pem", pem, KEY_FILE_MODE);
 * ```
 */
export async function writeFileAtomic(path: string, text: string, mode: number): Promise<void> {
  const temporary = join(dirname(path), `.${crypto.randomUUID()}.tmp`);
  try {
    await Deno.writeTextFile(temporary, text, { mode, createNew: true });
    // The mode given at creation is reduced by the umask; set it exactly.
    if (Deno.build.os !== "windows") await Deno.chmod(temporary, mode);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

/**
 * Reads the account key, or null when there is none yet.
 *
 * @param folder The storage folder.
 * @returns The PKCS#8 PEM, or null.
 *
 * @example
 * ```ts
 * const pem = await readAccountKey("/srv/acme");
 * ```
 */
export async function readAccountKey(folder: string): Promise<string | null> {
  return await readIfExists(accountKeyPath(folder));
}

/**
 * Stores the account key (mode 0600), creating the folder (0700).
 *
 * @param folder The storage folder.
 * @param pem The PKCS#8 PEM.
 *
 * @example
 * ```ts
 * await writeAccountKey("/srv/acme", pem);
 * ```
 */
export async function writeAccountKey(folder: string, pem: string): Promise<void> {
  await ensurePrivateFolder(folder);
  await writeFileAtomic(accountKeyPath(folder), pem, KEY_FILE_MODE);
}

/**
 * Reads a set of domains' chain and key, or null when either is missing.
 *
 * @param folder The storage folder.
 * @param domains The domains.
 * @returns The pair, or null.
 *
 * @example
 * ```ts
 * const pair = await readCertificatePair("/srv/acme", ["a.example"]);
 * ```
 */
export async function readCertificatePair(
  folder: string,
  domains: readonly string[],
): Promise<CertificatePair | null> {
  const paths = certificatePaths(folder, domains);
  const [certPem, keyPem] = await Promise.all([readIfExists(paths.cert), readIfExists(paths.key)]);
  return certPem === null || keyPem === null ? null : { certPem, keyPem };
}

/**
 * Stores a set of domains' chain (0644) and key (0600), the key first; a
 * reader checks that the two belong together, since a stop between the
 * two renames leaves a new key beside the old chain.
 *
 * @param folder The storage folder.
 * @param domains The domains.
 * @param pair The chain and key.
 *
 * @example
 * ```ts
 * await writeCertificatePair("/srv/acme", ["a.example"], { certPem, keyPem });
 * ```
 */
export async function writeCertificatePair(
  folder: string,
  domains: readonly string[],
  pair: CertificatePair,
): Promise<void> {
  const paths = certificatePaths(folder, domains);
  await ensurePrivateFolder(folder);
  await ensurePrivateFolder(dirname(paths.folder));
  await ensurePrivateFolder(paths.folder);
  await writeFileAtomic(paths.key, pair.keyPem, KEY_FILE_MODE);
  await writeFileAtomic(paths.cert, pair.certPem, CERT_FILE_MODE);
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** FNV-1a, 32 bits, hexadecimal: a short stable name, not a security measure. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

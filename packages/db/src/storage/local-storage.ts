import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { assertValidKey } from "./storage-keys";
import { InvalidStorageKeyError, type LocalStorage, type StorageBody, StorageNotFoundError } from "./storage";

/** Staging entries start with this so listings and readers never mistake them for stored keys. */
const STAGING_PREFIX = ".hl-tmp-";

/** Stores keys as files below rootDir; writes go to a staging file in the same directory, then rename. */
export function createLocalStorage(rootDir: string): LocalStorage {
  const root = path.resolve(rootDir);

  function resolvePath(key: string): string {
    assertValidKey(key, { allowTrailingSlash: true });
    const resolved = path.resolve(root, key);
    const relative = path.relative(root, resolved);
    if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative)) {
      throw new InvalidStorageKeyError(key, "resolves outside the storage root");
    }
    return resolved;
  }

  function stagingPath(target: string): string {
    return path.join(path.dirname(target), `${STAGING_PREFIX}${path.basename(target)}.${randomBytes(6).toString("hex")}`);
  }

  /** Runs write(staging) then renames staging over target; the staging file never survives a failure. */
  async function writeAtomically(key: string, write: (staging: string) => Promise<void>): Promise<void> {
    const target = resolvePath(key);
    if (key.endsWith("/")) throw new InvalidStorageKeyError(key, "a key for bytes cannot end in /");
    await mkdir(path.dirname(target), { recursive: true });
    const staging = stagingPath(target);
    try {
      await write(staging);
      await rename(staging, target);
    } catch (error) {
      await rm(staging, { force: true });
      throw error;
    }
  }

  async function* walk(dir: string): AsyncGenerator<string> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(STAGING_PREFIX)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) yield* walk(full);
      else if (entry.isFile()) yield path.relative(root, full).split(path.sep).join("/");
    }
  }

  return {
    location: `local:${root}`,
    rootDir: root,
    resolvePath,

    async put(key, body: StorageBody) {
      await writeAtomically(key, async (staging) => {
        if (body instanceof Readable) await pipeline(body, createWriteStream(staging, { flags: "wx" }));
        else await writeFile(staging, body, { flag: "wx" });
      });
    },

    async putFile(key, sourcePath) {
      await writeAtomically(key, (staging) => copyFile(sourcePath, staging));
    },

    async putDirectory(prefix, sourceDir) {
      if (!prefix.endsWith("/")) throw new InvalidStorageKeyError(prefix, "a directory prefix must end in /");
      const target = resolvePath(prefix);
      if (await isNonEmptyDir(target)) return;
      await mkdir(path.dirname(target), { recursive: true });
      // Copy next to the target first when the source is on another filesystem, so the final step
      // is always a single rename and nobody sees a half-filled directory.
      try {
        await rename(sourceDir, target);
        return;
      } catch (error) {
        if (code(error) === "ENOTEMPTY" || code(error) === "EEXIST") return;
        if (code(error) !== "EXDEV") throw error;
      }
      const staged = stagingPath(target);
      try {
        await cp(sourceDir, staged, { recursive: true });
        await rename(staged, target);
      } catch (error) {
        await rm(staged, { recursive: true, force: true });
        if (code(error) === "ENOTEMPTY" || code(error) === "EEXIST") return;
        throw error;
      }
    },

    async exists(key) {
      try {
        return (await stat(resolvePath(key))).isFile();
      } catch (error) {
        if (isMissing(error)) return false;
        throw error;
      }
    },

    async read(key) {
      try {
        return await readFile(resolvePath(key));
      } catch (error) {
        if (isMissing(error)) throw new StorageNotFoundError(key);
        throw error;
      }
    },

    createReadStream(key, range) {
      return createReadStream(resolvePath(key), range ?? {});
    },

    async stat(key) {
      try {
        const s = await stat(resolvePath(key));
        return s.isFile() ? { size: s.size, modifiedAt: s.mtime } : null;
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },

    async delete(key) {
      const target = resolvePath(key);
      if (key.endsWith("/")) throw new InvalidStorageKeyError(key, "use deletePrefix for prefixes");
      await rm(target, { force: true });
    },

    async deletePrefix(prefix) {
      const target = resolvePath(prefix);
      if (prefix.endsWith("/")) {
        await rm(target, { recursive: true, force: true });
        return;
      }
      const dir = path.dirname(target);
      const stem = path.basename(target);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if (isMissing(error)) return;
        throw error;
      }
      await Promise.all(names.filter((n) => n.startsWith(stem)).map((n) => rm(path.join(dir, n), { recursive: true, force: true })));
    },

    async *list(prefix) {
      if (prefix === "") {
        yield* walk(root);
        return;
      }
      const target = resolvePath(prefix);
      const start = prefix.endsWith("/") ? target : path.dirname(target);
      for await (const key of walk(start)) if (key.startsWith(prefix)) yield key;
    },
  };
}

async function isNonEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch (error) {
    if (isMissing(error) || code(error) === "ENOTDIR") return false;
    throw error;
  }
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function isMissing(error: unknown): boolean {
  return code(error) === "ENOENT";
}

import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { assertValidKey } from "./storage-keys";
import { InvalidStorageKeyError, type LocalStorage, type Storage, StorageNotFoundError } from "./storage";

/**
 * Local paths for stored keys, for code that can only read files (sharp's worker pool, tfjs and ONNX
 * model loading). The local backend hands out its own files; any other backend's keys are downloaded
 * once into a cache directory. Keys are write-once (images are content-addressed, model artifacts
 * live under their model version's id), so a cached copy never goes stale; the cache may be wiped at
 * any time.
 */
export interface LocalFiles {
  /** A local file holding key's bytes (StorageNotFoundError when the key is missing). */
  pathOf(key: string): Promise<string>;
  /** pathOf for many keys, downloading a few at a time; same order as keys. */
  pathsOf(keys: readonly string[]): Promise<string[]>;
  /** A local directory holding every key below prefix (which ends in "/"). */
  directoryOf(prefix: string): Promise<string>;
}

const DOWNLOAD_CONCURRENCY = 8;

export function isLocalStorage(storage: Storage): storage is LocalStorage {
  return typeof (storage as Partial<LocalStorage>).resolvePath === "function";
}

/** Local files for `storage`; cacheDir (default: a folder in the OS temp dir) is used only for remote backends. */
export function createLocalFiles(storage: Storage, cacheDir = path.join(os.tmpdir(), "hemaloop-storage-cache")): LocalFiles {
  if (isLocalStorage(storage)) {
    return {
      pathOf: async (key) => storage.resolvePath(key),
      pathsOf: async (keys) => keys.map((key) => storage.resolvePath(key)),
      directoryOf: async (prefix) => {
        if (!prefix.endsWith("/")) throw new InvalidStorageKeyError(prefix, "a directory prefix must end in /");
        return storage.resolvePath(prefix);
      },
    };
  }
  // One cache folder per backend location, so two buckets never share cached keys.
  const root = path.join(path.resolve(cacheDir), createHash("sha256").update(storage.location).digest("hex").slice(0, 16));
  const inFlight = new Map<string, Promise<string>>();

  function localPath(key: string): string {
    assertValidKey(key, { allowTrailingSlash: true });
    return path.join(root, ...key.split("/"));
  }

  async function download(key: string, target: string): Promise<void> {
    await mkdir(path.dirname(target), { recursive: true });
    const staging = `${target}.hl-tmp-${randomBytes(6).toString("hex")}`;
    try {
      await pipeline(storage.createReadStream(key), createWriteStream(staging, { flags: "wx" }));
      await rename(staging, target);
    } catch (error) {
      await rm(staging, { force: true });
      throw error;
    }
  }

  async function pathOf(key: string): Promise<string> {
    if (key.endsWith("/")) throw new InvalidStorageKeyError(key, "a key for bytes cannot end in /");
    const target = localPath(key);
    if (await isFile(target)) return target;
    let pending = inFlight.get(target);
    if (!pending) {
      pending = download(key, target).then(() => target);
      pending.finally(() => inFlight.delete(target)).catch(() => {});
      inFlight.set(target, pending);
    }
    return pending;
  }

  return {
    pathOf,
    async pathsOf(keys) {
      const out = new Array<string>(keys.length);
      let next = 0;
      const lane = async () => {
        while (next < keys.length) {
          const i = next++;
          out[i] = await pathOf(keys[i]!);
        }
      };
      await Promise.all(Array.from({ length: Math.min(DOWNLOAD_CONCURRENCY, keys.length) }, lane));
      return out;
    },
    async directoryOf(prefix) {
      if (!prefix.endsWith("/")) throw new InvalidStorageKeyError(prefix, "a directory prefix must end in /");
      const target = localPath(prefix).replace(/[/\\]+$/, "");
      // Files land in a staging folder that is renamed into place whole: a present folder is complete.
      if (await isDirectory(target)) return target;
      const staging = `${target}.hl-tmp-${randomBytes(6).toString("hex")}`;
      try {
        let count = 0;
        for await (const key of storage.list(prefix)) {
          count++;
          const file = path.join(staging, ...key.slice(prefix.length).split("/"));
          await mkdir(path.dirname(file), { recursive: true });
          await pipeline(storage.createReadStream(key), createWriteStream(file, { flags: "wx" }));
        }
        if (count === 0) throw new StorageNotFoundError(prefix);
        await mkdir(path.dirname(target), { recursive: true });
        await rename(staging, target).catch(async (error: unknown) => {
          // Another process finished the same folder first: theirs is identical.
          if (!(await isDirectory(target))) throw error;
        });
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
      return target;
    },
  };
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

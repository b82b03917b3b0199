import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalStorage, createS3Storage, imageKeys, InvalidStorageKeyError, type LocalStorage } from "../src/storage";
import { startS3Server } from "./helpers/s3-server";
import { BAD_KEYS, collect, describeStorageContract, slowStream } from "./helpers/storage-contract";

async function sizeOfTree(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

describeStorageContract("local directory", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "hemaloop-storage-"));
  const root = path.join(dir, "root");
  return {
    storage: createLocalStorage(root),
    bytesHeld: () => sizeOfTree(dir),
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

describeStorageContract("S3 (s3rver, key prefix)", async () => {
  const server = await startS3Server();
  const baseline = await server.bytesOnDisk();
  return {
    storage: createS3Storage(server.storageConfig("contract/")),
    bytesHeld: async () => (await server.bytesOnDisk()) - baseline,
    close: () => server.close(),
  };
});

describe("local storage specifics", () => {
  let dir: string;
  let storage: LocalStorage;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "hemaloop-storage-"));
    storage = createLocalStorage(path.join(dir, "root"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("resolvePath refuses keys that escape the root", async () => {
    for (const key of BAD_KEYS) expect(() => storage.resolvePath(key), key).toThrow(InvalidStorageKeyError);
    expect(storage.resolvePath("images/ab/c.jpg")).toBe(path.join(dir, "root", "images", "ab", "c.jpg"));
    // Nothing was written anywhere near the root by the refused calls.
    expect(await readdir(dir)).toEqual([]);
  });

  it("put is atomic: the key appears only when complete, and a failed write leaves nothing", async () => {
    const key = "atomic/new.bin";
    const finalPath = storage.resolvePath(key);
    const writing = storage.put(key, slowStream(["aaaa", "bbbb", "cccc", "dddd"], { delayMs: 30 }));
    await new Promise((r) => setTimeout(r, 70));
    // Mid-write: the bytes are in a staging file, the key does not exist yet.
    expect(await storage.exists(key)).toBe(false);
    expect((await readdir(path.dirname(finalPath))).some((n) => n.startsWith(".hl-tmp-"))).toBe(true);
    expect(await collect(storage.list("atomic/"))).toEqual([]);
    await writing;
    expect((await readFile(finalPath)).toString()).toBe("aaaabbbbccccdddd");
    expect(await readdir(path.dirname(finalPath))).toEqual(["new.bin"]);

    // Overwriting: readers see the old bytes until the new ones are complete.
    const overwrite = storage.put(key, slowStream(["xxxx", "yyyy", "zzzz"], { delayMs: 30 }));
    await new Promise((r) => setTimeout(r, 50));
    expect((await storage.read(key)).toString()).toBe("aaaabbbbccccdddd");
    await overwrite;
    expect((await storage.read(key)).toString()).toBe("xxxxyyyyzzzz");

    // A source that fails half-way: the old value stays, no staging file is left behind.
    await expect(storage.put(key, slowStream(["1111", "2222", "3333"], { delayMs: 5, failAfter: 2 }))).rejects.toThrow("source broke");
    expect((await storage.read(key)).toString()).toBe("xxxxyyyyzzzz");
    await expect(storage.put("atomic/never.bin", slowStream(["1"], { delayMs: 5, failAfter: 0 }))).rejects.toThrow("source broke");
    expect(await readdir(path.dirname(finalPath))).toEqual(["new.bin"]);
  });

  it("builds content-addressed keys", () => {
    const sha = "ab".padEnd(64, "0");
    expect(imageKeys(sha, "jpg")).toEqual({
      original: `images/ab/${sha}.jpg`,
      thumbnail: `thumbs/ab/${sha}.webp`,
      dzi: `dz/ab/${sha}.dzi`,
      dzFiles: `dz/ab/${sha}_files/`,
    });
    expect(() => imageKeys("../../etc", "jpg")).toThrow(InvalidStorageKeyError);
  });
});

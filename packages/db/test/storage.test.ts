import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalStorage, imageKeys, InvalidStorageKeyError, type LocalStorage, StorageNotFoundError } from "../src/storage";

/** A stream that yields chunks slowly, optionally failing after some of them. */
function slowStream(chunks: string[], options: { delayMs?: number; failAfter?: number } = {}): Readable {
  let i = 0;
  return new Readable({
    read() {
      setTimeout(() => {
        if (options.failAfter !== undefined && i === options.failAfter) {
          this.destroy(new Error("source broke"));
          return;
        }
        this.push(i < chunks.length ? Buffer.from(chunks[i++]!) : null);
      }, options.delayMs ?? 20);
    },
  });
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of iterable) keys.push(key);
  return keys.sort();
}

describe("local storage", () => {
  let dir: string;
  let storage: LocalStorage;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "hemaloop-storage-"));
    storage = createLocalStorage(path.join(dir, "root"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses keys that escape the root or are not plain relative paths", async () => {
    const bad = ["../x", "a/../../x", "a/../b", "/etc/passwd", "a\\..\\b", "", "a//b", "./a", "a/./b", "..", "a/\u0000b"];
    for (const key of bad) {
      expect(() => storage.resolvePath(key), key).toThrow(InvalidStorageKeyError);
      await expect(storage.put(key, Buffer.from("x")), key).rejects.toThrow(InvalidStorageKeyError);
      await expect(storage.read(key), key).rejects.toThrow(InvalidStorageKeyError);
    }
    await expect(storage.deletePrefix("../")).rejects.toThrow(InvalidStorageKeyError);
    expect(() => storage.createReadStream("../../etc/passwd")).toThrow(InvalidStorageKeyError);
    expect(storage.resolvePath("images/ab/c.jpg")).toBe(path.join(dir, "root", "images", "ab", "c.jpg"));
    // Nothing was written anywhere near the root by the refused calls.
    expect(await readdir(dir)).toEqual([]);
  });

  it("puts, reads, stats, streams, lists and deletes", async () => {
    await storage.put("a/one.txt", Buffer.from("one"));
    await storage.put("a/b/two.txt", slowStream(["t", "w", "o"], { delayMs: 1 }));
    const src = path.join(dir, "src.txt");
    await writeFile(src, "three");
    await storage.putFile("c/three.txt", src);

    expect(await storage.exists("a/one.txt")).toBe(true);
    expect(await storage.exists("a/missing.txt")).toBe(false);
    expect(await storage.exists("a/b")).toBe(false); // a folder is not a key
    expect((await storage.read("a/b/two.txt")).toString()).toBe("two");
    expect((await storage.stat("c/three.txt"))?.size).toBe(5);
    expect(await storage.stat("nope")).toBeNull();
    await expect(storage.read("nope")).rejects.toThrow(StorageNotFoundError);
    const streamed: Buffer[] = [];
    for await (const chunk of storage.createReadStream("a/one.txt")) streamed.push(chunk as Buffer);
    expect(Buffer.concat(streamed).toString()).toBe("one");

    expect(await collect(storage.list(""))).toEqual(["a/b/two.txt", "a/one.txt", "c/three.txt"]);
    expect(await collect(storage.list("a/"))).toEqual(["a/b/two.txt", "a/one.txt"]);
    expect(await collect(storage.list("a/o"))).toEqual(["a/one.txt"]);

    await storage.delete("a/one.txt");
    await storage.delete("a/one.txt"); // already gone: no error
    await storage.deletePrefix("a/");
    expect(await collect(storage.list(""))).toEqual(["c/three.txt"]);
    await storage.deletePrefix("c/thr");
    expect(await collect(storage.list(""))).toEqual([]);
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

  it("putDirectory moves a tree into place once; an existing tree wins", async () => {
    const tree = path.join(dir, "tree");
    await mkdir(path.join(tree, "0"), { recursive: true });
    await writeFile(path.join(tree, "0", "0_0.jpeg"), "tile");
    await storage.putDirectory("dz/ab/x_files/", tree);
    expect(await collect(storage.list("dz/ab/x_files/"))).toEqual(["dz/ab/x_files/0/0_0.jpeg"]);

    const other = path.join(dir, "other");
    await mkdir(path.join(other, "0"), { recursive: true });
    await writeFile(path.join(other, "0", "0_0.jpeg"), "different");
    await storage.putDirectory("dz/ab/x_files/", other);
    expect((await storage.read("dz/ab/x_files/0/0_0.jpeg")).toString()).toBe("tile");
    await expect(storage.putDirectory("dz/ab/no-slash", other)).rejects.toThrow(InvalidStorageKeyError);
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

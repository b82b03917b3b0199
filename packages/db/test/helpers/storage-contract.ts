import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidStorageKeyError, type Storage, StorageNotFoundError } from "../../src/storage";

export type StorageBackend = {
  storage: Storage;
  /** Bytes the backend holds below its root right now, finished or not (staging files, multipart parts). */
  bytesHeld(): Promise<number>;
  close(): Promise<void>;
};

/** A stream that yields chunks slowly, optionally failing after some of them. */
export function slowStream(chunks: string[], options: { delayMs?: number; failAfter?: number } = {}): Readable {
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

export async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of iterable) keys.push(key);
  return keys.sort();
}

async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return condition();
}

export const BAD_KEYS = ["../x", "a/../../x", "a/../b", "/etc/passwd", "a\\..\\b", "", "a//b", "./a", "a/./b", "..", "a/\u0000b"];

/**
 * The behaviour every Storage backend must have; run once per backend (local directory, S3) so
 * callers can rely on the interface alone.
 */
export function describeStorageContract(name: string, open: () => Promise<StorageBackend>): void {
  describe(`storage contract: ${name}`, () => {
    let backend: StorageBackend;
    let storage: Storage;
    let scratch: string;
    beforeAll(async () => {
      backend = await open();
      storage = backend.storage;
      scratch = await mkdtemp(path.join(os.tmpdir(), "hemaloop-storage-src-"));
    });
    afterAll(async () => {
      await backend?.close();
      await rm(scratch, { recursive: true, force: true });
    });

    it("refuses keys that are not plain relative paths, on every method, and writes nothing", async () => {
      const src = path.join(scratch, "bad-src.txt");
      await writeFile(src, "x");
      for (const key of BAD_KEYS) {
        await expect(storage.put(key, Buffer.from("x")), key).rejects.toThrow(InvalidStorageKeyError);
        await expect(storage.put(key, Readable.from([Buffer.from("x")])), key).rejects.toThrow(InvalidStorageKeyError);
        await expect(storage.putFile(key, src), key).rejects.toThrow(InvalidStorageKeyError);
        await expect(storage.read(key), key).rejects.toThrow(InvalidStorageKeyError);
        await expect(storage.exists(key), key).rejects.toThrow(InvalidStorageKeyError);
        await expect(storage.stat(key), key).rejects.toThrow(InvalidStorageKeyError);
        await expect(storage.delete(key), key).rejects.toThrow(InvalidStorageKeyError);
        expect(() => storage.createReadStream(key), key).toThrow(InvalidStorageKeyError);
      }
      await expect(storage.deletePrefix("../")).rejects.toThrow(InvalidStorageKeyError);
      await expect(storage.putDirectory("../", scratch)).rejects.toThrow(InvalidStorageKeyError);
      await expect(collect(storage.list("../"))).rejects.toThrow(InvalidStorageKeyError);
      // Bytes need a key, not a prefix.
      await expect(storage.put("a/", Buffer.from("x"))).rejects.toThrow(InvalidStorageKeyError);
      await expect(storage.delete("a/")).rejects.toThrow(InvalidStorageKeyError);
      expect(await collect(storage.list(""))).toEqual([]);
      expect(await backend.bytesHeld()).toBe(0);
    });

    it("puts, reads, stats, streams, lists and deletes", async () => {
      await storage.put("a/one.txt", Buffer.from("one"));
      await storage.put("a/b/two.txt", slowStream(["t", "w", "o"], { delayMs: 1 }));
      await storage.put("a/u8.bin", new Uint8Array([1, 2, 3]));
      const src = path.join(scratch, "src.txt");
      await writeFile(src, "three");
      await storage.putFile("c/three.txt", src);

      expect(await storage.exists("a/one.txt")).toBe(true);
      expect(await storage.exists("a/missing.txt")).toBe(false);
      expect(await storage.exists("a/b")).toBe(false); // a folder is not a key
      expect(await storage.exists("a/b/")).toBe(false);
      expect((await storage.read("a/b/two.txt")).toString()).toBe("two");
      expect([...(await storage.read("a/u8.bin"))]).toEqual([1, 2, 3]);
      const st = await storage.stat("c/three.txt");
      expect(st?.size).toBe(5);
      expect(Math.abs(st!.modifiedAt.getTime() - Date.now())).toBeLessThan(60_000);
      expect(await storage.stat("nope")).toBeNull();
      expect((await readStream(storage.createReadStream("a/one.txt"))).toString()).toBe("one");

      expect(await collect(storage.list(""))).toEqual(["a/b/two.txt", "a/one.txt", "a/u8.bin", "c/three.txt"]);
      expect(await collect(storage.list("a/"))).toEqual(["a/b/two.txt", "a/one.txt", "a/u8.bin"]);
      expect(await collect(storage.list("a/o"))).toEqual(["a/one.txt"]);
      expect(await collect(storage.list("zzz/"))).toEqual([]);

      await storage.delete("a/one.txt");
      await storage.delete("a/one.txt"); // already gone: no error
      expect(await storage.exists("a/one.txt")).toBe(false);
      await storage.deletePrefix("a/");
      expect(await collect(storage.list(""))).toEqual(["c/three.txt"]);
      await storage.deletePrefix("c/thr");
      await storage.deletePrefix("never/was/");
      expect(await collect(storage.list(""))).toEqual([]);
    });

    it("reports missing keys as StorageNotFoundError / an ENOENT stream error", async () => {
      const error = await storage.read("missing/key.bin").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageNotFoundError);
      expect((error as StorageNotFoundError).code).toBe("ENOENT");
      const streamError = await readStream(storage.createReadStream("missing/key.bin")).catch((e: unknown) => e);
      expect((streamError as NodeJS.ErrnoException).code).toBe("ENOENT");
    });

    it("streams byte ranges (inclusive ends, as HTTP Range)", async () => {
      await storage.put("range/digits.txt", Buffer.from("0123456789"));
      expect((await readStream(storage.createReadStream("range/digits.txt", { start: 2, end: 4 }))).toString()).toBe("234");
      expect((await readStream(storage.createReadStream("range/digits.txt", { start: 7 }))).toString()).toBe("789");
      expect((await readStream(storage.createReadStream("range/digits.txt", { start: 0, end: 1 }))).toString()).toBe("01");
    });

    it("overwrites atomically: readers see the old bytes until the new ones are complete; a failed write changes nothing", async () => {
      const key = "atomic/value.bin";
      await storage.put(key, Buffer.from("old-value"));
      const overwrite = storage.put(key, slowStream(["xxxx", "yyyy", "zzzz"], { delayMs: 40 }));
      await new Promise((r) => setTimeout(r, 60));
      expect((await storage.read(key)).toString()).toBe("old-value");
      await overwrite;
      expect((await storage.read(key)).toString()).toBe("xxxxyyyyzzzz");

      await expect(storage.put(key, slowStream(["1111", "2222", "3333"], { delayMs: 5, failAfter: 2 }))).rejects.toThrow("source broke");
      expect((await storage.read(key)).toString()).toBe("xxxxyyyyzzzz");
      await expect(storage.put("atomic/never.bin", slowStream(["1"], { delayMs: 5, failAfter: 0 }))).rejects.toThrow("source broke");
      expect(await storage.exists("atomic/never.bin")).toBe(false);
      expect(await collect(storage.list("atomic/"))).toEqual([key]);
      await storage.deletePrefix("atomic/");
    });

    it("putDirectory stores a tree under a prefix once; an existing tree wins", async () => {
      const tree = path.join(scratch, "tree");
      await mkdir(path.join(tree, "0"), { recursive: true });
      await mkdir(path.join(tree, "1"), { recursive: true });
      await writeFile(path.join(tree, "0", "0_0.jpeg"), "tile");
      await writeFile(path.join(tree, "1", "0_0.jpeg"), "tile1");
      await writeFile(path.join(tree, "1", "1_0.jpeg"), "tile2");
      await storage.putDirectory("dz/ab/x_files/", tree);
      expect(await collect(storage.list("dz/ab/x_files/"))).toEqual([
        "dz/ab/x_files/0/0_0.jpeg",
        "dz/ab/x_files/1/0_0.jpeg",
        "dz/ab/x_files/1/1_0.jpeg",
      ]);
      expect((await storage.read("dz/ab/x_files/1/1_0.jpeg")).toString()).toBe("tile2");

      const other = path.join(scratch, "other");
      await mkdir(path.join(other, "0"), { recursive: true });
      await writeFile(path.join(other, "0", "0_0.jpeg"), "different");
      await storage.putDirectory("dz/ab/x_files/", other);
      expect((await storage.read("dz/ab/x_files/0/0_0.jpeg")).toString()).toBe("tile");
      await expect(storage.putDirectory("dz/ab/no-slash", other)).rejects.toThrow(InvalidStorageKeyError);

      await storage.deletePrefix("dz/ab/x_files/");
      expect(await collect(storage.list("dz/"))).toEqual([]);
    });

    it("streams a large body through without buffering it whole (and reads it back intact)", async () => {
      const chunk = 256 * 1024;
      const firstPart = 64; // 16 MiB, then the source stalls until released
      const total = 96; // 24 MiB
      let produced = 0;
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const hash = createHash("sha256");
      async function* source() {
        for (let i = 0; i < total; i++) {
          if (i === firstPart) await released;
          const bytes = Buffer.alloc(chunk, i % 251);
          hash.update(bytes);
          produced += bytes.length;
          yield bytes;
        }
      }
      const baseline = await backend.bytesHeld();
      const writing = storage.put("big/body.bin", Readable.from(source()));
      // While the source is stalled, most of what it produced must already be with the backend:
      // an implementation that collected the body in memory first would hold nothing yet.
      const landed = await until(async () => (await backend.bytesHeld()) - baseline >= 8 * 1024 * 1024, 20_000);
      const held = (await backend.bytesHeld()) - baseline;
      release();
      expect(landed, `backend held ${held} bytes of ${produced} produced while the source stalled`).toBe(true);
      await writing;
      expect((await storage.stat("big/body.bin"))?.size).toBe(total * chunk);
      const readBack = createHash("sha256");
      for await (const part of storage.createReadStream("big/body.bin")) readBack.update(part as Buffer);
      expect(readBack.digest("hex")).toBe(hash.digest("hex"));
      await storage.delete("big/body.bin");
    });
  });
}

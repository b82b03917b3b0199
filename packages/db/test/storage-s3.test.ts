import { mkdir, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveRuntimeConfig } from "../src/runtime-config";
import {
  createLocalFiles,
  createLocalStorage,
  createS3Storage,
  createStorage,
  InvalidStorageKeyError,
  isLocalStorage,
  StorageNotFoundError,
} from "../src/storage";
import { startS3Server, type TestS3Server } from "./helpers/s3-server";
import { collect } from "./helpers/storage-contract";

describe("S3 storage against s3rver", () => {
  let server: TestS3Server;
  let tmp: string;
  beforeAll(async () => {
    server = await startS3Server();
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-s3-test-"));
  });
  afterAll(async () => {
    await server?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("keeps deployments that share a bucket apart by key prefix", async () => {
    const a = createS3Storage(server.storageConfig("site-a/"));
    const b = createS3Storage(server.storageConfig("site-b/"));
    const whole = createS3Storage(server.storageConfig());
    expect(a.location).toBe(`s3://${server.bucket}/site-a/`);
    await a.put("images/x.jpg", Buffer.from("a"));
    await b.put("images/x.jpg", Buffer.from("b"));
    expect((await a.read("images/x.jpg")).toString()).toBe("a");
    expect(await collect(a.list(""))).toEqual(["images/x.jpg"]);
    expect(await collect(whole.list(""))).toEqual(["site-a/images/x.jpg", "site-b/images/x.jpg"]);
    await a.deletePrefix("images/");
    expect(await collect(whole.list(""))).toEqual(["site-b/images/x.jpg"]);
    await b.delete("images/x.jpg");
  });

  it("refuses a key prefix that is not a plain folder path", () => {
    for (const prefix of ["../", "a", "/a/", "a//"]) {
      expect(() => createS3Storage(server.storageConfig(prefix)), prefix).toThrow(InvalidStorageKeyError);
    }
  });

  it("reports a missing bucket as an error, not as a missing key", async () => {
    const wrong = createS3Storage({ ...server.storageConfig(), bucket: "no-such-bucket" });
    await expect(wrong.put("x/y.txt", Buffer.from("x"))).rejects.toThrow(/bucket/i);
    const error = await wrong.read("x/y.txt").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(StorageNotFoundError);
  });

  it("local files: downloads remote keys once into the cache, whole directories via a staging folder", async () => {
    const storage = createS3Storage(server.storageConfig("files/"));
    expect(isLocalStorage(storage)).toBe(false);
    await storage.put("images/ab/one.jpg", Buffer.from("one"));
    await storage.put("models/m1/model.json", Buffer.from("{}"));
    await storage.put("models/m1/weights/group1.bin", Buffer.from("w"));
    const cacheDir = path.join(tmp, "cache");
    const files = createLocalFiles(storage, cacheDir);

    const [p1, p2] = await Promise.all([files.pathOf("images/ab/one.jpg"), files.pathOf("images/ab/one.jpg")]);
    expect(p1).toBe(p2);
    expect(p1.startsWith(cacheDir)).toBe(true);
    expect(await readFile(p1, "utf8")).toBe("one");
    // Keys are write-once: once cached, the copy serves even if the object went away.
    await storage.delete("images/ab/one.jpg");
    expect(await files.pathOf("images/ab/one.jpg")).toBe(p1);
    await expect(files.pathOf("images/ab/missing.jpg")).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readdir(path.dirname(p1))).toEqual(["one.jpg"]); // no staging file left behind
    await expect(files.pathOf("../x")).rejects.toThrow(InvalidStorageKeyError);

    const dir = await files.directoryOf("models/m1/");
    expect(await readFile(path.join(dir, "model.json"), "utf8")).toBe("{}");
    expect(await readFile(path.join(dir, "weights", "group1.bin"), "utf8")).toBe("w");
    expect(await files.directoryOf("models/m1/")).toBe(dir);
    await expect(files.directoryOf("models/none/")).rejects.toThrow(StorageNotFoundError);
    expect((await readdir(path.dirname(dir))).sort()).toEqual(["m1"]);
    expect(await files.pathsOf(["models/m1/model.json"])).toEqual([path.join(dir, "model.json")]);
  });

  it("local files: the local backend hands out its own paths", async () => {
    const local = createLocalStorage(path.join(tmp, "local"));
    await local.put("images/ab/one.jpg", Buffer.from("one"));
    await mkdir(path.join(tmp, "unused"), { recursive: true });
    const files = createLocalFiles(local, path.join(tmp, "unused"));
    expect(await files.pathOf("images/ab/one.jpg")).toBe(local.resolvePath("images/ab/one.jpg"));
    expect(await files.directoryOf("images/ab/")).toBe(local.resolvePath("images/ab"));
    expect(await readdir(path.join(tmp, "unused"))).toEqual([]);
  });

  it("createStorage builds the backend the runtime config names", async () => {
    const env = {
      HEMALOOP_DATA_DIR: path.join(tmp, "data"),
      HEMALOOP_S3_BUCKET: server.bucket,
      HEMALOOP_S3_ENDPOINT: server.endpoint,
      HEMALOOP_S3_PREFIX: "factory/",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
    };
    const config = resolveRuntimeConfig(env, tmp);
    const storage = createStorage(config.storage);
    expect(storage.location).toBe(`s3://${server.bucket}/factory/`);
    await storage.put("x/y.txt", Buffer.from("via env"));
    expect((await createS3Storage(server.storageConfig("factory/")).read("x/y.txt")).toString()).toBe("via env");

    const local = createStorage(resolveRuntimeConfig({ HEMALOOP_DATA_DIR: path.join(tmp, "data") }, tmp).storage);
    expect(local.location).toBe(`local:${path.join(tmp, "data", "storage")}`);
  });
});

describe("runtime config: storage variables", () => {
  const root = "/repo";
  it("defaults to the local directory and a cache below the data dir", () => {
    const config = resolveRuntimeConfig({}, root);
    expect(config.storage).toEqual({ kind: "local", dir: "/repo/.data/storage" });
    expect(config.cacheDir).toBe("/repo/.data/cache");
    expect(resolveRuntimeConfig({ HEMALOOP_STORAGE_DIR: "/srv/s", HEMALOOP_CACHE_DIR: "/c" }, root)).toMatchObject({
      storage: { kind: "local", dir: "/srv/s" },
      cacheDir: "/c",
    });
  });

  it("reads the bucket settings once into an S3 config", () => {
    const config = resolveRuntimeConfig(
      {
        HEMALOOP_S3_BUCKET: "hemaloop",
        HEMALOOP_S3_ENDPOINT: "http://minio:9000",
        HEMALOOP_S3_PREFIX: "prod/",
        AWS_ACCESS_KEY_ID: "id",
        AWS_SECRET_ACCESS_KEY: "secret",
        AWS_REGION: "eu-west-1",
      },
      root,
    );
    expect(config.storage).toEqual({
      kind: "s3",
      bucket: "hemaloop",
      prefix: "prod/",
      region: "eu-west-1",
      endpoint: "http://minio:9000",
      forcePathStyle: true,
      credentials: { accessKeyId: "id", secretAccessKey: "secret" },
    });
    // AWS itself: virtual-hosted URLs and the SDK's own credential chain; blank variables count as unset.
    expect(
      resolveRuntimeConfig(
        {
          HEMALOOP_S3_BUCKET: "b",
          HEMALOOP_S3_REGION: "us-west-2",
          AWS_ACCESS_KEY_ID: "",
          AWS_SECRET_ACCESS_KEY: "",
          HEMALOOP_S3_ENDPOINT: "",
        },
        root,
      ).storage,
    ).toEqual({
      kind: "s3",
      bucket: "b",
      prefix: "",
      region: "us-west-2",
      forcePathStyle: false,
    });
    expect(
      resolveRuntimeConfig({ HEMALOOP_S3_BUCKET: "b", HEMALOOP_S3_ENDPOINT: "http://x:9000", HEMALOOP_S3_FORCE_PATH_STYLE: "false" }, root)
        .storage,
    ).toMatchObject({
      forcePathStyle: false,
    });
  });

  it("refuses half-configured storage", () => {
    expect(() => resolveRuntimeConfig({ HEMALOOP_S3_ENDPOINT: "http://minio:9000" }, root)).toThrow(/without HEMALOOP_S3_BUCKET/);
    expect(() => resolveRuntimeConfig({ HEMALOOP_S3_BUCKET: "b", AWS_ACCESS_KEY_ID: "id" }, root)).toThrow(/AWS_SECRET_ACCESS_KEY/);
    expect(() => resolveRuntimeConfig({ HEMALOOP_S3_BUCKET: "b", HEMALOOP_S3_PREFIX: "no-slash" }, root)).toThrow();
    expect(() => resolveRuntimeConfig({ HEMALOOP_S3_BUCKET: "b", HEMALOOP_S3_PREFIX: "../" }, root)).toThrow();
    expect(() => resolveRuntimeConfig({ HEMALOOP_S3_BUCKET: "b", HEMALOOP_S3_FORCE_PATH_STYLE: "yes" }, root)).toThrow();
  });
});

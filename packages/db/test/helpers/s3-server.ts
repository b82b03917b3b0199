// Referenced, not imported: the declaration must also reach tsconfigs that only import this helper (the trainer tests).
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./s3rver.d.ts" />
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import type { S3StorageConfig } from "../../src/storage";

export type TestS3Server = {
  endpoint: string;
  bucket: string;
  /** Where the server keeps its objects (and multipart parts) on disk. */
  dir: string;
  /** Storage config for this server's bucket under `prefix` ("" or ending in "/"). */
  storageConfig(prefix?: string): S3StorageConfig;
  /** Bytes the server holds on disk: objects plus parts of unfinished multipart uploads. */
  bytesOnDisk(): Promise<number>;
  close(): Promise<void>;
};

/**
 * A real S3-compatible server (s3rver: path-style, SigV4 checked, ListObjectsV2, DeleteObjects,
 * multipart) on a random loopback port with its objects in a temp dir; no mock.
 */
export async function startS3Server(): Promise<TestS3Server> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "hemaloop-s3rver-"));
  const bucket = "hemaloop-test";
  const server = new S3rver({ address: "127.0.0.1", port: 0, directory: dir, silent: true, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    dir,
    storageConfig: (prefix = "") => ({
      bucket,
      prefix,
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      // s3rver's fixed credentials; requests are still SigV4-signed and checked.
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    }),
    bytesOnDisk: () => sizeOfTree(dir),
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function sizeOfTree(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    total += await stat(path.join(entry.parentPath, entry.name)).then(
      (s) => s.size,
      () => 0,
    );
  }
  return total;
}

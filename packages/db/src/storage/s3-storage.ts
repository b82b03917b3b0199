import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createReadStream } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { assertValidKey } from "./storage-keys";
import { InvalidStorageKeyError, type ReadRange, type Storage, type StorageBody, StorageNotFoundError } from "./storage";

export type S3StorageConfig = {
  bucket: string;
  /** Key prefix inside the bucket ("" or ending in "/"), so several deployments can share a bucket. */
  prefix?: string;
  region?: string;
  /** For S3-compatible stores (MinIO, Ceph, R2...); unset = AWS. */
  endpoint?: string;
  /** bucket in the path (http://host/bucket/key) instead of the host name; most self-hosted stores need it. */
  forcePathStyle?: boolean;
  /** Unset = the SDK's default provider chain (instance role, profile, web identity...). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Part size of multipart uploads for streamed bodies; bounds the memory one upload holds (min 5 MiB). */
  partSizeBytes?: number;
};

const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Parts of one streamed upload in flight at once (memory = partSize x this). */
const UPLOAD_QUEUE_SIZE = 4;
/** Files of one putDirectory (a Deep Zoom pyramid has hundreds of small tiles) uploaded at once. */
const DIRECTORY_CONCURRENCY = 16;
/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;

/**
 * Stores keys as objects in an S3-compatible bucket (under an optional key prefix). Objects appear
 * whole or not at all, so writes need no staging; streamed bodies go up as multipart uploads of
 * `partSizeBytes`, never buffered whole.
 */
export function createS3Storage(config: S3StorageConfig): Storage {
  const base = config.prefix ?? "";
  if (base !== "") {
    assertValidKey(base, { allowTrailingSlash: true });
    if (!base.endsWith("/")) throw new InvalidStorageKeyError(base, "an S3 key prefix must end in /");
  }
  const partSize = Math.max(MIN_PART_SIZE, config.partSizeBytes ?? MIN_PART_SIZE);
  const Bucket = config.bucket;
  const client = new S3Client({
    region: config.region ?? "us-east-1",
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle ?? false,
    ...(config.credentials ? { credentials: config.credentials } : {}),
    // Checksums only where S3 requires them (DeleteObjects): the newer default streams bodies with
    // aws-chunked trailing checksums, which many S3-compatible servers do not understand.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });

  /** The object key of a storage key; refuses the same keys as the local backend. */
  function objectKey(key: string, options: { allowTrailingSlash?: boolean } = {}): string {
    assertValidKey(key, options);
    return base + key;
  }

  function bytesKey(key: string): string {
    if (key.endsWith("/")) {
      assertValidKey(key, { allowTrailingSlash: true });
      throw new InvalidStorageKeyError(key, "a key for bytes cannot end in /");
    }
    return objectKey(key);
  }

  async function upload(Key: string, Body: Readable): Promise<void> {
    await new Upload({ client, params: { Bucket, Key, Body }, partSize, queueSize: UPLOAD_QUEUE_SIZE, leavePartsOnError: false }).done();
  }

  async function head(key: string) {
    if (key.endsWith("/")) {
      assertValidKey(key, { allowTrailingSlash: true });
      return null; // a "folder" is never an object, as on the local backend
    }
    try {
      return await client.send(new HeadObjectCommand({ Bucket, Key: objectKey(key) }));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async function* listObjectKeys(prefix: string): AsyncGenerator<string> {
    const Prefix = prefix === "" ? base : objectKey(prefix, { allowTrailingSlash: true });
    for await (const page of paginateListObjectsV2({ client }, { Bucket, Prefix })) {
      for (const object of page.Contents ?? []) if (object.Key) yield object.Key;
    }
  }

  async function deleteObjects(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const out = await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      const failed = (out.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length > 0) throw new Error(`S3 DeleteObjects failed for ${failed.length} keys: ${failed[0]!.Key} ${failed[0]!.Code}`);
    }
  }

  return {
    location: `s3://${Bucket}/${base}`,

    async put(key, body: StorageBody) {
      const Key = bytesKey(key);
      if (body instanceof Readable) await upload(Key, body);
      else await client.send(new PutObjectCommand({ Bucket, Key, Body: body, ContentLength: body.byteLength }));
    },

    async putFile(key, sourcePath) {
      await upload(bytesKey(key), createReadStream(sourcePath));
    },

    async putDirectory(prefix, sourceDir) {
      if (!prefix.endsWith("/")) throw new InvalidStorageKeyError(prefix, "a directory prefix must end in /");
      objectKey(prefix, { allowTrailingSlash: true });
      // Content-addressed prefixes: whatever is there already holds the same bytes.
      for await (const existing of listObjectKeys(prefix)) {
        void existing;
        return;
      }
      const files = await listFilesBelow(sourceDir);
      const written: string[] = [];
      try {
        await forEachConcurrently(files, DIRECTORY_CONCURRENCY, async (relative) => {
          const Key = bytesKey(prefix + relative);
          await upload(Key, createReadStream(path.join(sourceDir, ...relative.split("/"))));
          written.push(Key);
        });
      } catch (error) {
        await deleteObjects(written).catch(() => {});
        throw error;
      }
    },

    async exists(key) {
      return (await head(key)) !== null;
    },

    async read(key) {
      const Key = bytesKey(key);
      try {
        const out = await client.send(new GetObjectCommand({ Bucket, Key }));
        return Buffer.from(await out.Body!.transformToByteArray());
      } catch (error) {
        if (isNotFound(error)) throw new StorageNotFoundError(key);
        throw error;
      }
    },

    createReadStream(key, range?: ReadRange) {
      const Key = bytesKey(key);
      const out = new PassThrough();
      const abort = new AbortController();
      // A consumer that goes away (a closed HTTP response) cancels the request or stops the download.
      out.once("close", () => abort.abort());
      const Range = range ? `bytes=${range.start ?? 0}-${range.end ?? ""}` : undefined;
      client
        .send(new GetObjectCommand({ Bucket, Key, Range }), { abortSignal: abort.signal })
        .then((res) => pipeline(res.Body as Readable, out))
        .catch((error: unknown) => {
          if (out.destroyed) return;
          out.destroy(isNotFound(error) ? new StorageNotFoundError(key) : (error as Error));
        });
      return out;
    },

    async stat(key) {
      const out = await head(key);
      if (!out) return null;
      return { size: out.ContentLength ?? 0, modifiedAt: out.LastModified ?? new Date(0) };
    },

    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: bytesKey(key) }));
    },

    async deletePrefix(prefix) {
      objectKey(prefix, { allowTrailingSlash: true });
      const keys: string[] = [];
      for await (const Key of listObjectKeys(prefix)) keys.push(Key);
      await deleteObjects(keys);
    },

    async *list(prefix) {
      for await (const Key of listObjectKeys(prefix)) yield Key.slice(base.length);
    },
  };
}

/** A missing key (not a missing bucket, which GetObject reports as NoSuchBucket: a configuration error). */
function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === "NoSuchKey" || name === "NotFound";
}

/** Paths of every file below dir, relative and "/"-separated. */
async function listFilesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join("/"));
}

async function forEachConcurrently<T>(items: readonly T[], concurrency: number, worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await worker(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  if (failure) throw failure.error;
}

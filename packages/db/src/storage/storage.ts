import type { Readable } from "node:stream";

/** Bytes to store: a buffer, or a stream that is consumed completely. */
export type StorageBody = Buffer | Uint8Array | Readable;

export type StorageStat = { size: number; modifiedAt: Date };

/** Byte offsets, both inclusive (as in fs.createReadStream and HTTP Range). */
export type ReadRange = { start?: number; end?: number };

/**
 * Blob storage for images, thumbnails, Deep Zoom pyramids and model artifacts, addressed by
 * POSIX-style relative keys ("images/ab/<sha>.jpg"). The local directory (local-storage.ts) is the
 * default; the S3-compatible one (s3-storage.ts) maps the interface like this:
 * - put/putFile -> PutObject, or a multipart upload for streams (S3 writes are already atomic: an
 *   object appears whole or not at all); putDirectory -> one upload per file; writers put Deep Zoom tiles first and the .dzi last, so
 *   the descriptor's existence means the pyramid is complete on any backend.
 * - exists/stat -> HeadObject; read/createReadStream -> GetObject (createReadStream returns a
 *   PassThrough that fails with the request's error, so callers handle errors the same way).
 * - delete -> DeleteObject; deletePrefix/list -> ListObjectsV2 + DeleteObjects on the key prefix.
 * Keys are validated by assertValidKey for every backend, so a key that escapes the local root is
 * also refused on S3 (where it would otherwise be a different, surprising object name).
 */
export interface Storage {
  /** Where the bytes live, for logs ("local:/path" or "s3://bucket/prefix"). */
  readonly location: string;
  /** Stores the body under key; readers never observe a partially written object. */
  put(key: string, body: StorageBody): Promise<void>;
  /** Stores a local file under key (same atomicity as put). */
  putFile(key: string, sourcePath: string): Promise<void>;
  /**
   * Stores every file below a local directory under `prefix` (which must end in "/"). The local
   * implementation moves the directory into place in one rename when it can. When the prefix already
   * holds files the existing ones win: keys are content-addressed, so they hold the same bytes.
   */
  putDirectory(prefix: string, sourceDir: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Throws StorageNotFoundError when missing. */
  read(key: string): Promise<Buffer>;
  /**
   * The bytes of key (or of `range`). The stream emits an error with code "ENOENT" when the key is
   * missing (as StorageNotFoundError does); invalid keys throw at once.
   */
  createReadStream(key: string, range?: ReadRange): Readable;
  /** null when missing. */
  stat(key: string): Promise<StorageStat | null>;
  /** No error when the key is already gone. */
  delete(key: string): Promise<void>;
  /** Deletes every key that starts with prefix ("dz/ab/<sha>_files/" removes a whole pyramid). */
  deletePrefix(prefix: string): Promise<void>;
  /** Every key starting with prefix, in no particular order. */
  list(prefix: string): AsyncIterable<string>;
}

/** The local directory backend; only it can hand out file paths (to sharp, to `next` static serving). */
export interface LocalStorage extends Storage {
  readonly rootDir: string;
  /** Absolute path of a key; throws InvalidStorageKeyError for keys that would leave rootDir. */
  resolvePath(key: string): string;
}

export class InvalidStorageKeyError extends Error {
  constructor(key: string, why: string) {
    super(`invalid storage key ${JSON.stringify(key)}: ${why}`);
    this.name = "InvalidStorageKeyError";
  }
}

export class StorageNotFoundError extends Error {
  readonly code = "ENOENT";
  constructor(readonly key: string) {
    super(`storage key not found: ${key}`);
    this.name = "StorageNotFoundError";
  }
}

import { createLocalStorage } from "./local-storage";
import { createS3Storage, type S3StorageConfig } from "./s3-storage";
import type { Storage } from "./storage";

/** Which backend holds images, pyramids and model artifacts (resolved from the environment by runtime-config). */
export type StorageConfig = { kind: "local"; dir: string } | ({ kind: "s3" } & S3StorageConfig);

export function createStorage(config: StorageConfig): Storage {
  if (config.kind === "local") return createLocalStorage(config.dir);
  const { kind: _kind, ...s3 } = config;
  return createS3Storage(s3);
}

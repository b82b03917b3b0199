import { createStorage, type Storage } from "@hemaloop/db/storage";
import { getEnv } from "../env";

const store = globalThis as unknown as { __hemaloopStorage?: Storage };

/** The image/artifact store for this process: the local directory, or the S3 bucket when HEMALOOP_S3_BUCKET is set. */
export function getStorage(): Storage {
  store.__hemaloopStorage ??= createStorage(getEnv().runtime.storage);
  return store.__hemaloopStorage;
}

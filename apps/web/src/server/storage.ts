import { createLocalStorage, type Storage } from "@hemaloop/db/storage";
import { getEnv } from "../env";

const store = globalThis as unknown as { __hemaloopStorage?: Storage };

/** The image/artifact store for this process (local directory under HEMALOOP_STORAGE_DIR). */
export function getStorage(): Storage {
  store.__hemaloopStorage ??= createLocalStorage(getEnv().runtime.storageDir);
  return store.__hemaloopStorage;
}

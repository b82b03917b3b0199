import type { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/*
 * pglite-socket 0.2.17 multiplexes many client connections onto one PGlite, but only keeps a client's
 * messages together inside an explicit transaction. Outside one, the Parse/Bind/Describe/Execute
 * messages of an extended-protocol batch from two connections interleave and corrupt each other
 * ("bind message supplies 1 parameters, but prepared statement requires 6"): postgres-js and Drizzle
 * use exactly such batches. This replaces the queue's scheduler so a batch runs to its Sync (or a
 * simple Query) before another client's messages run. It reaches into the library's internals, so it
 * is pinned to the version it was written for; embedded-server.test.ts proves the behaviour.
 */

type QueueItem = {
  handlerId: number;
  message: Uint8Array;
  resolve: (bytes: number) => void;
  reject: (error: unknown) => void;
  onData: (data: Uint8Array) => void;
};

type QueryQueue = {
  queue: QueueItem[];
  processing: boolean;
  lastHandlerId: number | null;
  db: {
    isInTransaction(): boolean;
    runExclusive<T>(fn: () => Promise<T>): Promise<T>;
    execProtocolRawStream(message: Uint8Array, options: { onRawData: (data: Uint8Array) => void }): Promise<unknown>;
  };
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
};

export const PATCHED_PGLITE_SOCKET_VERSION = "0.2.17";

// Message types that continue an extended-protocol batch: Parse, Bind, Describe, Execute, Close, Flush.
const CONTINUES_BATCH = new Set(["P", "B", "D", "E", "C", "H"].map((c) => c.charCodeAt(0)));

export function keepProtocolBatchesTogether(server: PGLiteSocketServer, installedVersion: string): void {
  if (installedVersion !== PATCHED_PGLITE_SOCKET_VERSION) {
    throw new Error(
      `@electric-sql/pglite-socket ${installedVersion} is not the version the batching fix was written for ` +
        `(${PATCHED_PGLITE_SOCKET_VERSION}); re-check packages/db/src/embedded-protocol-batching.ts`,
    );
  }
  const queue = (server as unknown as { queryQueue?: QueryQueue }).queryQueue;
  if (!queue || typeof queue.processQueue !== "function") throw new Error("pglite-socket internals changed");
  let batchOwner: number | null = null;

  const clearForHandler = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = (handlerId: number) => {
    // A client that disconnects mid-batch must not hold every other client forever.
    if (batchOwner === handlerId) batchOwner = null;
    clearForHandler(handlerId);
    void queue.processQueue();
  };

  queue.processQueue = async function processQueue(this: QueryQueue) {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const owner = batchOwner ?? (this.db.isInTransaction() ? this.lastHandlerId : null);
        const index = owner === null ? 0 : this.queue.findIndex((item) => item.handlerId === owner);
        if (index === -1) break; // the owner's next message has not arrived yet; its enqueue resumes us
        const item = this.queue.splice(index, 1)[0]!;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (error) {
          batchOwner = null;
          item.reject(error);
          continue;
        }
        batchOwner = CONTINUES_BATCH.has(item.message[0]!) ? item.handlerId : null;
        this.lastHandlerId = item.handlerId;
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  };
}

import { PassThrough, Readable } from "node:stream";
import { ZipFile } from "yazl";
import type { Storage } from "../storage/storage";

export type ZipEntry = { name: string } & ({ buffer: Buffer } | { storageKey: string } | { build: () => Promise<Buffer> });

/**
 * A zip streamed as its entries are produced: stored originals are piped from storage one at a time
 * (JPEG/PNG do not shrink, so they are stored uncompressed). Any failure (a missing original) ends the
 * returned stream with that error instead of a truncated zip that looks complete.
 */
export function createZipStream(storage: Storage, entries: Iterable<ZipEntry> | AsyncIterable<ZipEntry>): Readable {
  const zip = new ZipFile();
  const out = new PassThrough();
  zip.outputStream.on("error", (error: Error) => out.destroy(error));
  zip.outputStream.pipe(out);
  const fail = (error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error)));
  void (async () => {
    for await (const entry of entries) {
      if ("buffer" in entry) {
        zip.addBuffer(entry.buffer, entry.name);
        continue;
      }
      // Lazy: yazl asks for each body only when it reaches the entry, so one original is open at a time.
      zip.addReadStreamLazy(entry.name, { compress: false }, (cb) => {
        if ("storageKey" in entry) {
          const source = storage.createReadStream(entry.storageKey);
          source.on("error", fail);
          cb(null, source);
          return;
        }
        entry.build().then((buffer) => cb(null, Readable.from([buffer])), fail);
      });
    }
    zip.end();
  })().catch(fail);
  return out;
}

import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { buffer as readAll } from "node:stream/consumers";
import yauzl from "yauzl";

/** Every entry of a zip as name -> bytes (test archives are small). */
export async function readZip(zip: Buffer): Promise<Map<string, Buffer>> {
  const zipFile = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z))),
  );
  const files = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zipFile.on("error", reject);
    zipFile.on("end", () => resolve());
    zipFile.on("entry", (entry: yauzl.Entry) => {
      zipFile.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        readAll(stream).then((bytes) => {
          files.set(entry.fileName, bytes);
          zipFile.readEntry();
        }, reject);
      });
    });
    zipFile.readEntry();
  });
  return files;
}

export async function extractZip(zip: Buffer, dir: string): Promise<string[]> {
  const files = await readZip(zip);
  for (const [name, bytes] of files) {
    const target = path.join(dir, name);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
  }
  return [...files.keys()].sort();
}

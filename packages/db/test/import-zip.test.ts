import { spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { count, eq } from "drizzle-orm";
import yazl from "yazl";
import { afterAll, beforeAll, expect, it } from "vitest";
import { importImages, type ImportOptions } from "../src/import";
import { extractZip, ZipRefusedError } from "../src/import/extract-zip";
import { image } from "../src/schema";
import { createLocalStorage, type LocalStorage } from "../src/storage";
import { listFiles, pbcCrop, repoRoot } from "./fixtures/import-test-files";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

type ZipItem = { name: string; data: Buffer; mode?: number; compress?: boolean };

async function buildZip(items: ZipItem[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const item of items) zip.addBuffer(item.data, item.name, { mode: item.mode, compress: item.compress ?? true });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Central directory headers (signature PK\1\2) by entry name, for planting what writers refuse to write. */
function centralHeader(zip: Buffer, name: string): number {
  for (let at = zip.indexOf("PK\x01\x02"); at >= 0; at = zip.indexOf("PK\x01\x02", at + 4)) {
    const nameLength = zip.readUInt16LE(at + 28);
    if (zip.subarray(at + 46, at + 46 + nameLength).toString("latin1") === Buffer.from(name).toString("latin1")) return at;
  }
  throw new Error(`no central header for ${name}`);
}

/** Rewrites a name in both the local and the central header (same length). */
function renameEntry(zip: Buffer, from: string | Buffer, to: Buffer): void {
  const needle = typeof from === "string" ? Buffer.from(from) : from;
  expect(to.length).toBe(needle.length);
  let hits = 0;
  for (let at = zip.indexOf(needle); at >= 0; at = zip.indexOf(needle, at + 1), hits++) to.copy(zip, at);
  expect(hits).toBe(2);
}

function envWithout(name: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env[name];
  return env;
}

describeEachDb("import: zip archives (hostile entries rejected, zip bombs refused)", (kind) => {
  let t: TestDb;
  let tmp: string;
  let tempParent: string;
  let storage: LocalStorage;
  let hostileZip: string;
  let bombZip: string;
  const crops: Buffer[] = [];

  const run = (file: string, extra: Partial<ImportOptions> = {}) =>
    importImages(t.db, storage, {
      source: { kind: "zip", file, tempDir: tempParent },
      institution: "Zip Hospital",
      dataset: "zip-set",
      schemeKey: "pbc-8",
      maxImagePixels: 50_000_000,
      ...extra,
    });
  const imageCount = async () => (await t.db.select({ n: count() }).from(image))[0]!.n;

  beforeAll(async () => {
    t = await createTestDb(kind);
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-zip-test-"));
    tempParent = path.join(tmp, "extract");
    await mkdir(tempParent);
    storage = createLocalStorage(path.join(tmp, "storage"));
    for (const [cls, n] of [
      ["lymphocyte", 0],
      ["monocyte", 0],
      ["ig", 0],
      ["lymphocyte", 1],
      ["monocyte", 1],
    ] as const) {
      crops.push(await readFile(await pbcCrop(cls, n)));
    }
    const innerZip = await buildZip([{ name: "x.jpg", data: crops[0]! }]);
    const zip = await buildZip([
      { name: "lymphocyte/a.jpg", data: crops[0]! },
      { name: "monocyte/b.jpg", data: crops[1]! },
      { name: "IG/c.jpg", data: crops[2]! },
      { name: "xx/evil.jpg", data: crops[3]! },
      { name: "xtmp/abs.jpg", data: crops[3]! },
      { name: "Cx/drive.jpg", data: crops[3]! },
      { name: "lymphocyte/link.jpg", data: Buffer.from("/etc/passwd"), mode: 0o120777 },
      { name: "lymphocyte/secret.jpg", data: crops[3]! },
      { name: "lymphocyte/inner.zip", data: innerZip },
      { name: "lymphocyte/sneaky.jpg", data: innerZip, compress: false },
      { name: "lymphocyte/bad-é.jpg", data: crops[3]! },
      { name: "monocyte/lie.jpg", data: crops[4]! },
    ]);
    renameEntry(zip, "xx/evil.jpg", Buffer.from("../evil.jpg"));
    renameEntry(zip, "xtmp/abs.jpg", Buffer.from("/tmp/abs.jpg"));
    renameEntry(zip, "Cx/drive.jpg", Buffer.from("C:/drive.jpg"));
    renameEntry(zip, "bad-é.jpg", Buffer.concat([Buffer.from("bad-"), Buffer.from([0xff, 0xfe]), Buffer.from(".jpg")]));
    const secret = centralHeader(zip, "lymphocyte/secret.jpg");
    zip.writeUInt16LE(zip.readUInt16LE(secret + 8) | 0x1, secret + 8);
    // The lying entry declares 100 bytes; its deflated data holds a whole crop.
    zip.writeUInt32LE(100, centralHeader(zip, "monocyte/lie.jpg") + 24);
    hostileZip = path.join(tmp, "hostile.zip");
    await writeFile(hostileZip, zip);

    // 200 MB of zeros, written streaming: about 200 KB on disk.
    const bomb = new yazl.ZipFile();
    const zeros = Buffer.alloc(1024 * 1024);
    bomb.addReadStream(
      Readable.from(
        (function* () {
          for (let i = 0; i < 200; i++) yield zeros;
        })(),
      ),
      "lymphocyte/zeros.jpg",
    );
    bomb.end();
    bombZip = path.join(tmp, "bomb.zip");
    await pipeline(bomb.outputStream, createWriteStream(bombZip));
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("imports the good entries and rejects each hostile one with its reason", async () => {
    const result = await run(hostileZip);
    expect(result.imported).toBe(3);
    // yauzl reports how far it got ("got at least 16384"): inflate's chunking, not ours.
    const rejected = result.rejected.map((r) => `${r.file} | ${r.reason.replace(/\. got at least \d+\)$/, ")")}`);
    expect(rejected.sort()).toEqual(
      [
        '../evil.jpg | zip entry rejected: path escapes the archive ("..")',
        "/tmp/abs.jpg | zip entry rejected: absolute path",
        "C:/drive.jpg | zip entry rejected: absolute path",
        "lymphocyte/link.jpg | zip entry rejected: symlink entry",
        "lymphocyte/secret.jpg | zip entry rejected: encrypted entry",
        "lymphocyte/inner.zip | zip entry rejected: nested archive (by name)",
        "lymphocyte/sneaky.jpg | zip entry rejected: nested archive (zip by content)",
        "lymphocyte/bad-??.jpg | zip entry rejected: name is not valid UTF-8",
        "monocyte/lie.jpg | zip entry rejected: declared size 100 does not match its data (too many bytes in the stream. expected 100)",
      ].sort(),
    );
    expect(result.total).toBe(12);
    const names = await t.db.select({ name: image.originalName }).from(image).where(eq(image.datasetId, result.datasetId));
    expect(names.map((n) => n.name).sort()).toEqual(["IG/c.jpg", "lymphocyte/a.jpg", "monocyte/b.jpg"]);
    // Nothing escaped the extraction folder, and the extraction folder is gone.
    expect(await listFiles(tempParent)).toEqual([]);
    expect(await listFiles(tmp).then((files) => files.filter((f) => f.endsWith("evil.jpg") || f.endsWith("abs.jpg")))).toEqual([]);
  });

  it("refuses a zip bomb before writing anything: no temp files, no rows", async () => {
    const before = await imageCount();
    await expect(run(bombZip, { dataset: "bomb-set" })).rejects.toThrow(
      /zip refused \(possible zip bomb\): lymphocyte\/zeros\.jpg expands \d+x \(limit 200x\)/,
    );
    await expect(
      run(hostileZip, {
        dataset: "bomb-set",
        source: { kind: "zip", file: hostileZip, tempDir: tempParent, limits: { maxTotalBytes: 100_000 } },
      }),
    ).rejects.toThrow(ZipRefusedError);
    expect(await listFiles(tempParent)).toEqual([]);
    expect(await imageCount()).toBe(before);
  });

  if (kind === "pglite") {
    // Extraction alone needs no database: checked once.
    it("stops writing a lying entry at its declared size + 1 byte", async () => {
      const extracted = await extractZip(hostileZip, {}, tempParent);
      try {
        expect(extracted.files.sort()).toEqual(["IG/c.jpg", "lymphocyte/a.jpg", "monocyte/b.jpg"]);
        expect(await listFiles(extracted.dir)).toEqual(["IG/c.jpg", "lymphocyte/a.jpg", "monocyte/b.jpg"]);
      } finally {
        await rm(extracted.dir, { recursive: true, force: true });
      }
    });

    it("refuses archives over the entry-count and overall-ratio limits, leaving no folder", async () => {
      await expect(extractZip(hostileZip, { maxEntries: 5 }, tempParent)).rejects.toThrow(
        "zip refused (possible zip bomb): more than 5 entries",
      );
      await expect(extractZip(bombZip, { maxEntryRatio: 1e6 }, tempParent)).rejects.toThrow(
        /^zip refused \(possible zip bomb\): the archive expands \d+x \(limit 100x\)$/,
      );
      expect(await listFiles(tempParent)).toEqual([]);
    });

    it("detects a manifest at the root and names the manifest and line in rejections", async () => {
      const manifestZip = path.join(tmp, "manifest.zip");
      await writeFile(
        manifestZip,
        await buildZip([
          { name: "list.csv", data: Buffer.from("file,label\nimg/one.jpg,lymphocyte\nimg/two.jpg,\n") },
          { name: "img/one.jpg", data: crops[3]! },
          { name: "img/two.jpg", data: crops[4]! },
        ]),
      );
      const result = await run(manifestZip, { dataset: "manifest-zip" });
      expect(result.imported).toBe(1);
      expect(result.rejected).toEqual([{ file: "img/two.jpg", reason: "list.csv line 3: malformed CSV row: empty label" }]);
    });
  } else {
    // Spawning costs seconds: the CLI flag is checked on one engine.
    it("npm run import -- --zip prints the rejections and the summary line", () => {
      const cli = spawnSync(
        path.join(repoRoot, "node_modules", ".bin", "tsx"),
        [
          "packages/db/src/cli/import-cli.ts",
          "--zip",
          hostileZip,
          "--institution",
          "Zip CLI",
          "--dataset",
          "zip-cli",
          "--scheme",
          "pbc-8",
          "--database-url",
          t.url!,
          "--storage-dir",
          path.join(tmp, "cli-storage"),
        ],
        { cwd: repoRoot, encoding: "utf8", env: envWithout("DATABASE_URL") },
      );
      expect(cli.status).toBe(0);
      expect(cli.stdout).toContain("rejected lymphocyte/link.jpg: zip entry rejected: symlink entry");
      expect(cli.stdout.trimEnd().split("\n").at(-1)).toBe("imported=3 duplicates=0 rejected=9");
    }, 60_000);
  }
});

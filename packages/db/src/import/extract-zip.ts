import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import yauzl, { type Entry, type ZipFile } from "yauzl";
import { ImportSetupError, type RejectedFile } from "./import-types";

export type ZipLimits = {
  /** Sum of the declared uncompressed sizes of all entries. */
  maxTotalBytes: number;
  maxEntries: number;
  /** Uncompressed / compressed, per entry and for the whole archive. */
  maxEntryRatio: number;
  maxTotalRatio: number;
  /** Ratios are only checked above this size: small text files legitimately compress very well. */
  ratioMinBytes: number;
};

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxTotalBytes: 8 * 1024 ** 3,
  maxEntries: 200_000,
  maxEntryRatio: 200,
  maxTotalRatio: 100,
  ratioMinBytes: 1024 * 1024,
};

/** The archive as a whole is refused (zip bomb, unreadable archive): nothing was kept. */
export class ZipRefusedError extends ImportSetupError {
  constructor(message: string) {
    super(message);
    this.name = "ZipRefusedError";
  }
}

export type ExtractedZip = { dir: string; files: string[]; rejected: RejectedFile[] };

const ARCHIVE_EXTENSIONS = /\.(zip|7z|rar|tar|gz|tgz|bz2|xz|zst)$/i;
const MAGIC_BYTES_NEEDED = 262;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Extracts a zip into a fresh folder below tempParent, entry by entry (yauzl reads the central
 * directory and streams each entry; the archive is never held in memory). Hostile entries are
 * skipped with a reason; limits that mark a zip bomb refuse the whole archive before anything is
 * written. On any thrown error the folder is already removed; otherwise the caller removes it.
 */
export async function extractZip(zipPath: string, limits: Partial<ZipLimits> = {}, tempParent = os.tmpdir()): Promise<ExtractedZip> {
  // An explicit undefined (an option not given) keeps the default.
  const given = Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
  const effective: ZipLimits = { ...DEFAULT_ZIP_LIMITS, ...given };
  const zip = await openZip(zipPath);
  const dir = await mkdtemp(path.join(tempParent, "hemaloop-zip-"));
  try {
    const entries = await readAllEntries(zip, effective);
    const files: string[] = [];
    const rejected: RejectedFile[] = [];
    const seen = new Set<string>();
    for (const entry of entries) {
      const checked = checkEntry(entry, seen);
      if ("reason" in checked) {
        rejected.push({ file: checked.name, reason: `zip entry rejected: ${checked.reason}` });
        continue;
      }
      if (checked.directory) continue;
      const target = path.join(dir, ...checked.name.split("/"));
      const reason = await writeEntry(zip, entry, target);
      if (reason) {
        await rm(target, { force: true });
        rejected.push({ file: checked.name, reason: `zip entry rejected: ${reason}` });
      } else files.push(checked.name);
    }
    return { dir, files, rejected };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  } finally {
    zip.close();
  }
}

function openZip(zipPath: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    // decodeStrings false: names are checked here (UTF-8 validity), not silently read as CP437.
    yauzl.open(zipPath, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true }, (error, zip) => {
      if (error) reject(new ZipRefusedError(`cannot read zip ${path.basename(zipPath)}: ${error.message}`));
      else resolve(zip);
    });
  });
}

/** Reads the whole central directory first so that bomb limits refuse the archive before any write. */
function readAllEntries(zip: ZipFile, limits: ZipLimits): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    let totalBytes = 0;
    let totalCompressed = 0;
    // No further readEntry() after a refusal, so yauzl emits nothing more; the error listener stays.
    const refuse = (message: string) => reject(new ZipRefusedError(`zip refused (possible zip bomb): ${message}`));
    zip.on("entry", (entry: Entry) => {
      entries.push(entry);
      totalBytes += entry.uncompressedSize;
      totalCompressed += entry.compressedSize;
      if (entries.length > limits.maxEntries) return refuse(`more than ${limits.maxEntries} entries`);
      if (totalBytes > limits.maxTotalBytes) return refuse(`uncompressed size over ${limits.maxTotalBytes} bytes`);
      const ratio = entry.uncompressedSize / Math.max(entry.compressedSize, 1);
      if (entry.uncompressedSize > limits.ratioMinBytes && ratio > limits.maxEntryRatio) {
        return refuse(`${nameForMessage(entry)} expands ${Math.round(ratio)}x (limit ${limits.maxEntryRatio}x)`);
      }
      zip.readEntry();
    });
    zip.on("end", () => {
      const ratio = totalBytes / Math.max(totalCompressed, 1);
      if (totalBytes > limits.ratioMinBytes && ratio > limits.maxTotalRatio) {
        return refuse(`the archive expands ${Math.round(ratio)}x (limit ${limits.maxTotalRatio}x)`);
      }
      resolve(entries);
    });
    zip.on("error", (error: Error) => reject(new ZipRefusedError(`unreadable zip: ${error.message}`)));
    zip.readEntry();
  });
}

type CheckedEntry = { name: string; directory: boolean } | { name: string; reason: string };

function checkEntry(entry: Entry, seen: Set<string>): CheckedEntry {
  let name: string;
  try {
    name = utf8.decode(entry.fileNameRaw);
  } catch {
    return { name: nameForMessage(entry), reason: "name is not valid UTF-8" };
  }
  const normalised = name.replace(/\\/g, "/");
  if (normalised.includes("\0")) return { name: nameForMessage(entry), reason: "name contains a NUL byte" };
  if (normalised.startsWith("/") || /^[a-zA-Z]:/.test(normalised)) return { name, reason: "absolute path" };
  const segments = normalised.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return { name, reason: 'path escapes the archive ("..")' };
  if (segments.length === 0) return { name, reason: "empty name" };
  const clean = segments.join("/");
  const directory = normalised.endsWith("/");
  if ((entry.generalPurposeBitFlag & 0x1) !== 0) return { name: clean, reason: "encrypted entry" };
  const unixType = (entry.externalFileAttributes >>> 16) & 0o170000;
  if (unixType === 0o120000) return { name: clean, reason: "symlink entry" };
  if (directory) return { name: clean, directory };
  if (unixType !== 0 && unixType !== 0o100000) return { name: clean, reason: "not a regular file" };
  if (ARCHIVE_EXTENSIONS.test(clean)) return { name: clean, reason: "nested archive (by name)" };
  if (seen.has(clean.toLowerCase())) return { name: clean, reason: "duplicate name in the archive" };
  seen.add(clean.toLowerCase());
  return { name: clean, directory: false };
}

/**
 * Streams one entry to target. yauzl stops at the declared size (+1 byte) and errors when the data
 * is longer or shorter than declared. Returns a reason when the entry must be dropped.
 */
async function writeEntry(zip: ZipFile, entry: Entry, target: string): Promise<string | null> {
  await mkdir(path.dirname(target), { recursive: true });
  let head = Buffer.alloc(0);
  const sniff = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (head.length < MAGIC_BYTES_NEEDED) head = Buffer.concat([head, chunk.subarray(0, MAGIC_BYTES_NEEDED - head.length)]);
      callback(null, chunk);
    },
  });
  try {
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      zip.openReadStream(entry, (error, readStream) => (error ? reject(error) : resolve(readStream))),
    );
    await pipeline(stream, sniff, createWriteStream(target, { flags: "wx" }));
  } catch (error) {
    const message = (error as Error).message;
    if (/too many bytes|not enough bytes/.test(message))
      return `declared size ${entry.uncompressedSize} does not match its data (${message})`;
    return `unreadable entry (${message.split("\n")[0]})`;
  }
  const archive = archiveKind(head);
  return archive ? `nested archive (${archive} by content)` : null;
}

function archiveKind(head: Buffer): string | null {
  const starts = (bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts([0x50, 0x4b, 0x03, 0x04]) || starts([0x50, 0x4b, 0x05, 0x06])) return "zip";
  if (starts([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return "7z";
  if (starts([0x52, 0x61, 0x72, 0x21, 0x1a, 0x07])) return "rar";
  if (starts([0x1f, 0x8b])) return "gzip";
  if (starts([0x42, 0x5a, 0x68])) return "bzip2";
  if (starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return "xz";
  if (head.length >= 262 && head.subarray(257, 262).toString("latin1") === "ustar") return "tar";
  return null;
}

/** A printable name for messages even when the raw bytes are not UTF-8. */
function nameForMessage(entry: Entry): string {
  return Buffer.from(entry.fileNameRaw)
    .toString("latin1")
    .replace(/[^\x20-\x7e]/g, "?");
}

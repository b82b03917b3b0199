import { createHash } from "node:crypto";
import { access, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../client";
import { NotFoundError } from "../errors";
import { recordAudit } from "../queries/audit";
import { ensureDataset, ensureInstitution } from "../queries/datasets";
import { getSchemeByKey, type SchemeWithClasses } from "../queries/schemes";
import { image } from "../schema";
import type { Storage } from "../storage/storage";
import { imageKeys } from "../storage/storage-keys";
import { decodeImage } from "./decode-image";
import { detectLayout } from "./detect-layout";
import { extractZip } from "./extract-zip";
import {
  FileRejectedError,
  type ImportEntry,
  type ImportOptions,
  type ImportResult,
  ImportSetupError,
  type ImportSource,
  type RejectedFile,
} from "./import-types";
import { createGroupWriter } from "./group-writer";
import type { ImageRowsInput } from "./insert-image-rows";
import { createLabelResolver } from "./label-resolver";
import { placeCells } from "./place-cells";
import { readCocoSource } from "./read-coco-source";
import { assertDirectory, readDirSource } from "./read-dir-source";
import { readManifestLines, readManifestSource } from "./read-manifest-source";
import { readVocSource } from "./read-voc-source";
import { runPool } from "./run-pool";
import { resolveInsideRoot } from "./safe-paths";
import { type CreatedFiles, discardCreatedFiles, storeImageFiles } from "./store-image-files";

export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

const optionsSchema = z.object({
  institution: z.string().trim().min(1, "institution is required"),
  dataset: z.string().trim().min(1, "dataset is required"),
  schemeKey: z.string().trim().min(1, "scheme is required"),
  maxImagePixels: z.number().int().positive(),
  maxFileBytes: z.number().int().positive().optional(),
  concurrency: z.number().int().min(1).max(64).optional(),
});

type Outcome =
  | { status: "imported"; cells: number; labels: number; unlabeled: number; clipped: number; rejectedBoxes: string[]; warnings: string[] }
  /** sameAs: the name the same bytes were first imported under, when known. */
  | { status: "duplicate"; sameAs: string | null }
  | { status: "rejected"; reason: string };

/**
 * Imports images with their cells and labels into an institution's dataset. Each image is hashed,
 * fully decoded, stored with its derivatives and written to the database in one transaction with
 * its cells and labels (images finishing together share a group commit); a file that fails anywhere
 * is rejected with a reason and leaves neither rows nor files behind. Takes the database itself, not
 * a transaction: images are committed as they finish, concurrently.
 * Throws ImportSetupError before writing anything when the import cannot start at all.
 */
export async function importImages(db: Db, storage: Storage, options: ImportOptions): Promise<ImportResult> {
  const started = Date.now();
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new ImportSetupError(parsed.error.issues.map((i) => i.message).join("; "));
  const zipSource = options.source;
  if (zipSource.kind !== "zip") return importUnpacked(db, storage, options, zipSource, [], started);
  // Scheme first: a typo must not cost an extraction.
  await loadScheme(db, options.schemeKey);
  const extracted = await extractZip(zipSource.file, zipSource.limits, zipSource.tempDir);
  try {
    return await importUnpacked(db, storage, options, await detectLayout(extracted.dir), extracted.rejected, started);
  } finally {
    await rm(extracted.dir, { recursive: true, force: true });
  }
}

/** Imports an unpacked source; preRejected are files already refused (zip entries). */
async function importUnpacked(
  db: Db,
  storage: Storage,
  options: ImportOptions,
  source: Exclude<ImportSource, { kind: "zip" }>,
  preRejected: RejectedFile[],
  started: number,
): Promise<ImportResult> {
  const parsed = optionsSchema.parse(options);
  const kind = options.kind ?? (source.kind === "voc" || source.kind === "coco" ? "field" : "crop");
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  // Beyond the core count: workers waiting for their database commit hold no pixels, and more of
  // them waiting means larger group commits.
  const concurrency = options.concurrency ?? Math.min(16, os.availableParallelism() * 2 + 2);
  const actorId = options.actorId ?? null;

  const scheme = await loadScheme(db, options.schemeKey);
  const resolveLabel = createLabelResolver(scheme, options.labelMap);
  const entries = await listEntries(source);

  const institution = await ensureInstitution(db, options.institution.trim());
  let datasetId: string;
  try {
    const dataset = await ensureDataset(db, {
      institutionId: institution.id,
      name: options.dataset.trim(),
      schemeKey: scheme.key,
      createdBy: actorId,
      ...options.provenance,
    });
    datasetId = dataset.id;
  } catch (error) {
    if (error instanceof NotFoundError) throw new ImportSetupError(error.message);
    throw error;
  }

  const result: ImportResult = {
    institutionId: institution.id,
    datasetId,
    total: entries.length + preRejected.length,
    imported: 0,
    duplicates: 0,
    sameContent: [],
    rejected: [...preRejected],
    rejectedBoxes: [],
    clippedBoxes: 0,
    cells: 0,
    labels: 0,
    unlabeledCells: 0,
    warnings: [],
    aborted: false,
    durationMs: 0,
  };
  // One query instead of one per file; rows another process adds meanwhile are still caught by the
  // unique index (the writer then reports a duplicate).
  const knownHashes = await loadDatasetHashes(db, datasetId);
  const writer = createGroupWriter(db, { schemeId: scheme.id, actorId, maxBatch: 64 });
  const realRoots = new Map<string, Promise<string>>();
  const inFlight = new Map<string, Promise<void>>();
  let done = 0;

  const processEntry = async (entry: ImportEntry): Promise<Outcome> => {
    if (entry.rejectReason) return { status: "rejected", reason: entry.rejectReason };
    if (entry.unknownLabel === "reject") {
      for (const spec of entry.cells) {
        if (spec.rawLabel === null) return { status: "rejected", reason: "no label" };
        if (!resolveLabel(spec.rawLabel)) return { status: "rejected", reason: `label "${spec.rawLabel}" is not in scheme ${scheme.key}` };
      }
    }
    const { realPath, size } = await resolveInsideRoot(entry.root, entry.rootName, entry.relativePath, realRoots);
    if (size === 0) return { status: "rejected", reason: "empty file" };
    if (size > maxFileBytes) return { status: "rejected", reason: `file is ${size} bytes, over the limit of ${maxFileBytes}` };
    let bytes: Buffer | null = await readFile(realPath);
    const sha256 = createHash("sha256").update(bytes).digest("hex");

    // The same bytes twice in one run (e.g. one file in two class folders): the second waits for the
    // first and then counts as a duplicate instead of racing it for the same storage keys.
    while (inFlight.has(sha256)) await inFlight.get(sha256);
    let release!: () => void;
    inFlight.set(sha256, new Promise<void>((resolve) => (release = resolve)));
    try {
      const firstName = knownHashes.get(sha256);
      if (firstName !== undefined) return { status: "duplicate", sameAs: firstName };
      const prepared = await storeFiles(entry, bytes, sha256);
      bytes = null; // the pixels and bytes are not needed while waiting for the database

      const written = await writer.write(prepared.rows);
      if (written.status === "failed") {
        // Without the database we cannot tell whether another row shares these files: keep them.
        if (isConnectionError(written.error)) throw written.error;
        await discardFiles(entry, sha256, prepared.created);
        throw new FileRejectedError(`database write failed: ${firstLine(written.error)}`);
      }
      knownHashes.set(sha256, entry.file);
      if (written.status === "duplicate") {
        await discardFiles(entry, sha256, prepared.created);
        return { status: "duplicate", sameAs: null };
      }
      const { placed } = prepared;
      return {
        status: "imported",
        cells: placed.cells.length,
        labels: written.labels,
        unlabeled: placed.unlabeled,
        clipped: placed.clipped,
        rejectedBoxes: placed.rejectedBoxes,
        warnings: placed.warnings,
      };
    } finally {
      inFlight.delete(sha256);
      release();
    }
  };

  /** Decodes, derives and stores; returns only small data, so pixels are freed before the database write. */
  const storeFiles = async (entry: ImportEntry, bytes: Buffer, sha256: string) => {
    const decoded = await decodeImage(bytes, parsed.maxImagePixels);
    const placed = placeCells(entry, decoded, resolveLabel);
    const keys = imageKeys(sha256, decoded.extension);
    const created: CreatedFiles = { keys: [], prefixes: [] };
    try {
      await storeImageFiles(storage, { keys, bytes, decoded, withDeepZoom: kind === "field", sha256 }, created);
    } catch (error) {
      await discardFiles(entry, sha256, created);
      throw new FileRejectedError(`storage write failed: ${firstLine(error)}`);
    }
    const rows: ImageRowsInput = {
      cells: placed.cells,
      image: {
        datasetId,
        sha256,
        kind,
        originalName: entry.file,
        format: decoded.format,
        width: decoded.width,
        height: decoded.height,
        byteSize: bytes.length,
        storageKey: keys.original,
        thumbnailKey: keys.thumbnail,
        dziKey: kind === "field" ? keys.dzi : null,
        patient: entry.patient ?? null,
        smear: entry.smear ?? null,
        metadata: {
          importSource: options.source.kind === "zip" ? `zip/${source.kind}` : source.kind,
          ...(entry.origin ? { sourceOrigin: entry.origin } : {}),
          ...(decoded.exifOrientation ? { exifOrientation: decoded.exifOrientation } : {}),
        },
      },
    };
    return { rows, placed, created };
  };

  const discardFiles = (entry: ImportEntry, sha256: string, created: CreatedFiles) =>
    discardCreatedFiles(db, storage, sha256, created).catch((cleanupError: unknown) => {
      result.warnings.push(`${entry.file}: could not remove its files after the failure (${firstLine(cleanupError)})`);
    });

  const worker = async (entry: ImportEntry) => {
    let outcome: Outcome;
    try {
      outcome = await processEntry(entry);
    } catch (error) {
      if (!(error instanceof FileRejectedError)) {
        if (isConnectionError(error)) throw error;
        outcome = { status: "rejected", reason: firstLine(error) };
      } else {
        outcome = { status: "rejected", reason: error.message };
      }
    }
    record(entry, outcome);
  };

  const record = (entry: ImportEntry, outcome: Outcome) => {
    done++;
    if (outcome.status === "duplicate") {
      result.duplicates++;
      // Re-importing a file is routine; the same bytes under another name is worth telling the user.
      if (outcome.sameAs !== null && outcome.sameAs !== entry.file) result.sameContent.push({ file: entry.file, sameAs: outcome.sameAs });
    } else if (outcome.status === "rejected") {
      result.rejected.push({ file: entry.file, reason: entry.origin ? `${entry.origin}: ${outcome.reason}` : outcome.reason });
    } else {
      result.imported++;
      result.cells += outcome.cells;
      result.labels += outcome.labels;
      result.unlabeledCells += outcome.unlabeled;
      result.clippedBoxes += outcome.clipped;
      result.warnings.push(...outcome.warnings);
      for (const reason of outcome.rejectedBoxes) result.rejectedBoxes.push({ file: entry.origin ?? entry.file, reason });
    }
    if (options.onProgress) {
      const seconds = (Date.now() - started) / 1000;
      const ratePerSec = seconds > 0 ? done / seconds : 0;
      options.onProgress({
        done,
        total: entries.length,
        imported: result.imported,
        duplicates: result.duplicates,
        rejected: result.rejected.length,
        ratePerSec,
        etaSeconds: ratePerSec > 0 ? (entries.length - done) / ratePerSec : null,
        currentFile: entry.file,
      });
    }
  };

  await runPool(entries, concurrency, worker, () => options.signal?.aborted === true);
  result.aborted = done < entries.length;
  result.rejected.sort((a, b) => a.file.localeCompare(b.file));
  if (result.imported > 0) {
    await recordAudit(db, {
      actorId,
      action: "dataset.import",
      entityType: "dataset",
      entityId: datasetId,
      after: {
        source: options.source.kind === "zip" ? `zip/${source.kind}` : source.kind,
        imported: result.imported,
        duplicates: result.duplicates,
        rejected: result.rejected.length,
        cells: result.cells,
        labels: result.labels,
      },
    });
  }
  result.durationMs = Date.now() - started;
  return result;
}

async function loadScheme(db: Db, key: string): Promise<SchemeWithClasses> {
  try {
    return await getSchemeByKey(db, key.trim());
  } catch (error) {
    if (error instanceof NotFoundError) throw new ImportSetupError(`unknown class scheme "${key}"`);
    throw error;
  }
}

/**
 * Checks that the source can be read at all (folder exists, manifest header has file,label) without
 * touching the database: entry points call it first so bad input fails in a fraction of a second.
 * importImages runs the same checks itself.
 */
export async function validateImportSource(source: ImportSource): Promise<void> {
  if (source.kind === "manifest") await readManifestLines(source.file);
  else if (source.kind === "coco" || source.kind === "zip") {
    await access(path.resolve(source.file)).catch(() => {
      throw new ImportSetupError(`${source.kind === "zip" ? "zip" : "COCO"} file ${source.file} does not exist`);
    });
    if (source.kind === "coco" && source.imagesDir) await assertDirectory(path.resolve(source.imagesDir), "COCO images folder");
  } else await assertDirectory(path.resolve(source.dir), source.kind === "voc" ? "VOC folder" : "import folder");
}

function listEntries(source: Exclude<ImportSource, { kind: "zip" }>): Promise<ImportEntry[]> {
  switch (source.kind) {
    case "dir":
      return readDirSource(source.dir);
    case "manifest":
      return readManifestSource(source.file);
    case "voc":
      return readVocSource(source.dir);
    case "coco":
      return readCocoSource(source.file, source.imagesDir);
  }
}

/** sha256 -> the file name the content was first imported under. */
async function loadDatasetHashes(db: Db, datasetId: string): Promise<Map<string, string>> {
  const rows = await db
    .select({ sha256: image.sha256, originalName: image.originalName })
    .from(image)
    .where(eq(image.datasetId, datasetId));
  return new Map(rows.map((r) => [r.sha256, r.originalName]));
}

const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P02",
  "57P03",
  "08000",
  "08003",
  "08006",
]);

/** A lost database is fatal for the whole run; rejecting every remaining file would only hide it. */
function isConnectionError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_ERROR_CODES.has(code)) return true;
  }
  return false;
}

function firstLine(error: unknown): string {
  const e = error as { message?: string; cause?: { message?: string } };
  // Drizzle wraps driver errors as "Failed query: <sql>"; the cause says what went wrong.
  const message = e.cause?.message ?? e.message ?? String(error);
  return message.split("\n")[0]!.trim();
}

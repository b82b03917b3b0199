import {
  addProjectDataset,
  getDatasetImportNames,
  getInstitutionById,
  importImages,
  ImportSetupError,
  NotFoundError,
  type ImportProgress,
  type ImportResult,
  type ImportSource,
} from "@hemaloop/db";
import { type Storage, uploadPrefix } from "@hemaloop/db/storage";
import { importPayloadSchema, type ImportJobResult, type ImportPayload } from "@hemaloop/ml/contracts";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { PermanentJobError, type JobContext, type JobHandler } from "../worker";

export type ImportDeps = {
  storage: Storage;
  maxImagePixels: number;
  /** Parent of the per-job temp folder (default: the OS's). */
  tempDir?: string;
  /** Least time between two progress writes. */
  progressIntervalMs?: number;
};

/**
 * Imports files a browser uploaded (job.type "import"): fetches them from uploads/ into a temp folder,
 * runs the same pipeline as `npm run import` with progress written to the job, attaches the dataset to
 * the project and removes the temp folder and the uploaded objects. Every image is committed with its
 * files and rows or not at all (importImages), so a failure leaves no half-written image.
 */
export function createImportHandler(deps: ImportDeps): JobHandler {
  return async (ctx) => {
    const parsed = importPayloadSchema.safeParse(ctx.job.payload);
    if (!parsed.success) throw new PermanentJobError(`invalid import payload: ${parsed.error.message}`);
    const payload = parsed.data;
    if (!ctx.job.projectId) throw new PermanentJobError("import job has no project");
    const uploadId = payload.uploads[0]!.key.split("/")[1]!;
    let finished = false;
    try {
      const result = await runImport(ctx, deps, payload);
      finished = true;
      return result;
    } catch (error) {
      // A permanent failure, or the last attempt: nobody will read the upload again.
      if (error instanceof PermanentJobError || ctx.job.attempts >= ctx.job.maxAttempts) finished = true;
      throw error;
    } finally {
      if (finished) {
        await deps.storage.deletePrefix(uploadPrefix(uploadId)).catch((error: unknown) => {
          void ctx.log(`could not remove the uploaded files: ${(error as Error).message}`, "warn");
        });
      }
    }
  };
}

async function runImport(ctx: JobContext, deps: ImportDeps, payload: ImportPayload): Promise<ImportJobResult> {
  const names = await resolveTarget(ctx, payload);
  const work = await mkdtemp(path.join(deps.tempDir ?? os.tmpdir(), "hemaloop-upload-"));
  try {
    await ctx.reportProgress(0, `fetching ${payload.uploads.length} uploaded file(s)`);
    const source = await fetchUploads(ctx, deps.storage, payload, work);
    const progress = createProgressReporter(ctx, deps.progressIntervalMs ?? 1_000);
    let result: ImportResult;
    try {
      result = await importImages(ctx.db, deps.storage, {
        source,
        ...names,
        provenance: payload.provenance,
        maxImagePixels: deps.maxImagePixels,
        actorId: ctx.job.createdBy,
        signal: ctx.signal,
        onProgress: progress,
      });
    } catch (error) {
      if (error instanceof ImportSetupError) throw new PermanentJobError(error.message);
      throw error;
    }
    if (ctx.signal.aborted) throw ctx.signal.reason;
    await addProjectDataset(ctx.db, ctx.job.projectId!, result.datasetId);
    const rejections = result.rejected.slice(0, payload.rejectionListCap).map(toRejection);
    await ctx.reportProgress(1, `${summary(result)} in ${(result.durationMs / 1000).toFixed(0)} s`);
    return {
      datasetId: result.datasetId,
      total: result.total,
      imported: result.imported,
      duplicates: result.duplicates,
      rejected: result.rejected.length,
      rejections,
      aborted: result.aborted,
      durationMs: result.durationMs,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function resolveTarget(ctx: JobContext, payload: ImportPayload) {
  try {
    if (payload.target.kind === "existing") {
      const names = await getDatasetImportNames(ctx.db, payload.target.datasetId);
      return { institution: names.institution, dataset: names.dataset, schemeKey: names.schemeKey };
    }
    const inst = await getInstitutionById(ctx.db, payload.target.institutionId);
    return { institution: inst.name, dataset: payload.target.name, schemeKey: payload.target.schemeKey };
  } catch (error) {
    if (error instanceof NotFoundError) throw new PermanentJobError(`import target is gone: ${error.message}`);
    throw error;
  }
}

/**
 * Copies the uploaded objects into `work`. One zip is imported as a zip (its own defences apply); loose
 * files are laid out flat under their browser names, and the layout is the CLI's: a CSV is a manifest,
 * a JSON is COCO, XML files are Pascal VOC, otherwise `<class>/<image>` (loose images then get a
 * "not in a class folder" rejection each).
 */
async function fetchUploads(ctx: JobContext, storage: Storage, payload: ImportPayload, work: string): Promise<ImportSource> {
  const files = path.join(work, "files");
  await mkdir(files);
  const used = new Set<string>();
  const local: string[] = [];
  for (const upload of payload.uploads) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const name = uniqueName(safeFileName(upload.name), used);
    const target = path.join(files, name);
    await pipeline(storage.createReadStream(upload.key), createWriteStream(target, { flags: "wx" }));
    local.push(target);
  }
  if (local.length === 1 && /\.zip$/i.test(local[0]!)) return { kind: "zip", file: local[0]!, tempDir: work };
  const ofType = (ext: RegExp) => local.filter((f) => ext.test(f)).sort();
  const csv = ofType(/\.csv$/i)[0];
  if (csv) return { kind: "manifest", file: csv };
  const json = ofType(/\.json$/i)[0];
  if (json) return { kind: "coco", file: json };
  if (ofType(/\.xml$/i).length > 0) return { kind: "voc", dir: files };
  return { kind: "dir", dir: files };
}

/** A browser file name as a plain file name: no folders, no leading dots, no control characters. */
export function safeFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? "";
  // eslint-disable-next-line no-control-regex -- control characters are what is removed
  const visible = base.replace(/[\u0000-\u001f]/g, "_");
  const cleaned = visible.replace(/^\.+/, "").slice(-200);
  return cleaned || "file";
}

function uniqueName(name: string, used: Set<string>): string {
  let candidate = name;
  for (let n = 2; used.has(candidate.toLowerCase()); n++) {
    const ext = path.extname(name);
    candidate = `${path.basename(name, ext)} (${n})${ext}`;
  }
  used.add(candidate.toLowerCase());
  return candidate;
}

/** Writes progress at most once per interval (and at the end); a slow write never stalls the import. */
function createProgressReporter(ctx: JobContext, intervalMs: number): (p: ImportProgress) => void {
  let last = 0;
  let writing = false;
  return (p) => {
    const now = Date.now();
    if (writing || (now - last < intervalMs && p.done !== p.total)) return;
    last = now;
    writing = true;
    // Cancellation shows up as ctx.signal aborting, which importImages watches; the error itself is not needed here.
    ctx
      .reportProgress(p.total > 0 ? p.done / p.total : 0, formatProgress(p))
      .catch(() => {})
      .finally(() => (writing = false));
  };
}

const count = new Intl.NumberFormat("en-US");

/** "1,234 / 6,400 images, 85/s, ETA 1 min" */
export function formatProgress(p: Pick<ImportProgress, "done" | "total" | "ratePerSec" | "etaSeconds">): string {
  const parts = [`${count.format(p.done)} / ${count.format(p.total)} images`, `${count.format(Math.round(p.ratePerSec))}/s`];
  if (p.etaSeconds !== null && p.done < p.total) {
    parts.push(p.etaSeconds < 60 ? `ETA ${Math.max(1, Math.round(p.etaSeconds))} s` : `ETA ${Math.round(p.etaSeconds / 60)} min`);
  }
  return parts.join(", ");
}

function summary(r: ImportResult): string {
  return `imported ${count.format(r.imported)}, duplicates ${count.format(r.duplicates)}, rejected ${count.format(r.rejected.length)}`;
}

/** "manifest.csv line 7: label ..." -> { line: 7 } and the reason without the prefix's file name. */
function toRejection(r: { file: string; reason: string }): ImportJobResult["rejections"][number] {
  const match = /^\S.* line (\d+): (.*)$/s.exec(r.reason);
  return match ? { file: r.file, line: Number(match[1]), reason: match[2]! } : { file: r.file, reason: r.reason };
}

import type { Db } from "@hemaloop/db/client";
import { DomainError } from "@hemaloop/db/errors";
import { checkImportTarget, enqueueImportJob, type ImportActor } from "@hemaloop/db/services";
import { type Storage, uploadFileKey, uploadPrefix } from "@hemaloop/db/storage";
import { importProvenanceSchema, importTargetSchema, type UploadedFile } from "@hemaloop/ml/contracts";
import busboy from "busboy";
import { randomUUID } from "node:crypto";
import { Readable, Transform } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { z } from "zod";
import { authorizeProject } from "./downloads";
import type { SessionUser } from "./trpc/init";

export type UploadDeps = { db: Db; storage: Storage; user: SessionUser | null; maxBytes: number };

/** A request the client must fix; `status` is the HTTP status, the message is shown to the user. */
class UploadRejected extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function json(status: number, body: Record<string, unknown>): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store" } });
}

const blankToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

/** The form fields (sent before the files): a target and provenance. */
const formSchema = z
  .object({
    targetKind: z.enum(["new", "existing"], { message: 'targetKind must be "new" or "existing"' }),
    datasetId: z.preprocess(blankToUndefined, z.string().optional()),
    institutionId: z.preprocess(blankToUndefined, z.string().optional()),
    datasetName: z.preprocess(blankToUndefined, z.string().optional()),
    schemeKey: z.preprocess(blankToUndefined, z.string().optional()),
    site: z.preprocess(blankToUndefined, z.string().optional()),
    device: z.preprocess(blankToUndefined, z.string().optional()),
    stain: z.preprocess(blankToUndefined, z.string().optional()),
    magnification: z.preprocess(blankToUndefined, z.string().optional()),
    licence: z.preprocess(blankToUndefined, z.string().optional()),
  })
  .transform((f, ctx) => {
    const target = importTargetSchema.safeParse(
      f.targetKind === "new"
        ? { kind: "new", institutionId: f.institutionId, name: f.datasetName, schemeKey: f.schemeKey }
        : { kind: "existing", datasetId: f.datasetId },
    );
    const provenance = importProvenanceSchema.safeParse({
      site: f.site,
      device: f.device,
      stain: f.stain,
      magnification: f.magnification,
      licence: f.licence,
    });
    for (const issue of [...(target.error?.issues ?? []), ...(provenance.error?.issues ?? [])]) {
      ctx.addIssue({ code: "custom", message: `${fieldName(issue.path) || "form"}: ${issue.message}` });
    }
    if (!target.success || !provenance.success) return z.NEVER;
    return { target: target.data, provenance: provenance.data };
  });

/** Contract paths back to the form's field names, so errors name what the user filled in. */
function fieldName(path: PropertyKey[]): string {
  const names: Record<string, string> = {
    name: "datasetName",
    schemeKey: "schemeKey",
    institutionId: "institutionId",
    datasetId: "datasetId",
  };
  const last = String(path[path.length - 1] ?? "");
  return names[last] ?? last;
}

const MAX_FILES = 20_000;
const isZip = (name: string) => /\.zip$/i.test(name);

/**
 * POST /api/projects/<slug>/uploads (multipart/form-data; lead or higher): the form fields, then one
 * zip or several files in the field "files". Each file is streamed into storage under
 * uploads/<id>/ (never held in memory) while the total is counted against maxBytes; then an import job
 * is queued with its audit event. Any failure or an aborted request removes what was stored.
 * Answers 201 { jobId } or a 4xx { error }.
 */
export async function handleProjectUpload(deps: UploadDeps, slug: string, request: Request): Promise<Response> {
  let stored = false;
  const uploadId = randomUUID();
  try {
    const auth = await authorizeProject(deps, slug, "lead");
    if (!("project" in auth)) return json(auth.status, { error: auth.message });
    const actor: ImportActor = { projectId: auth.project.id, actorId: deps.user!.id, isSystemAdmin: deps.user!.isSystemAdmin };

    const contentType = request.headers.get("content-type") ?? "";
    if (!/^multipart\/form-data/i.test(contentType)) throw new UploadRejected(415, "send the files as multipart/form-data");
    const declared = Number(request.headers.get("content-length") ?? NaN);
    if (declared > deps.maxBytes) throw new UploadRejected(413, tooLarge(deps.maxBytes));
    if (!request.body) throw new UploadRejected(400, "the request has no body");

    stored = true; // from here on, files may exist under the prefix
    const { form, uploads } = await receiveFiles(deps, actor, request, uploadId, contentType);
    const job = await enqueueImportJob(deps.db, actor, { target: form.target, provenance: form.provenance, uploads });
    stored = false;
    return json(201, { jobId: job.id, files: uploads.length, bytes: uploads.reduce((sum, u) => sum + u.size, 0) });
  } catch (error) {
    if (stored) await deps.storage.deletePrefix(uploadPrefix(uploadId)).catch((e: unknown) => console.error("[upload] cleanup", e));
    if (error instanceof UploadRejected) return json(error.status, { error: error.message });
    if (error instanceof DomainError) return json(domainStatus(error), { error: error.message });
    console.error("[upload]", error);
    return json(500, { error: "upload failed" });
  }
}

function domainStatus(error: DomainError): number {
  return { NOT_FOUND: 404, FORBIDDEN: 403, CONFLICT: 409, INVALID: 400 }[error.code];
}

function tooLarge(maxBytes: number): string {
  return `the upload is larger than the limit of ${formatBytes(maxBytes)}`;
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${+(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${+(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${+(n / 1024).toFixed(1)} KiB`;
}

type ParsedForm = z.output<typeof formSchema>;

/**
 * Parses the multipart body with busboy, one file at a time: the next file's bytes are not read until
 * the previous one is stored, so memory stays flat whatever the upload's size.
 */
function receiveFiles(
  deps: UploadDeps,
  actor: ImportActor,
  request: Request,
  uploadId: string,
  contentType: string,
): Promise<{ form: ParsedForm; uploads: UploadedFile[] }> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { "content-type": contentType },
        limits: { files: MAX_FILES, fields: 50, fieldSize: 10_000, parts: MAX_FILES + 50 },
      });
    } catch {
      reject(new UploadRejected(400, "the multipart body has no boundary"));
      return;
    }
    const body = Readable.fromWeb(request.body! as NodeReadableStream<Uint8Array>);
    const fields: Record<string, string> = {};
    const uploads: UploadedFile[] = [];
    let form: ParsedForm | null = null;
    let total = 0;
    let failed = false;
    let chain: Promise<void> = Promise.resolve();
    let fileCount = 0;
    /** The file being stored: destroyed on failure, or storage would wait for bytes that never come. */
    let current: Transform | null = null;

    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      body.unpipe(parser);
      body.destroy();
      current?.destroy(error instanceof Error ? error : new Error(String(error)));
      // Wait for files in flight to settle before the caller deletes the prefix.
      void chain.finally(() => reject(error instanceof Error ? error : new Error(String(error))));
    };

    const checkForm = async (): Promise<ParsedForm> => {
      if (form) return form;
      const parsed = formSchema.safeParse(fields);
      if (!parsed.success) throw new UploadRejected(400, parsed.error.issues.map((i) => i.message).join("; "));
      await checkImportTarget(deps.db, actor, parsed.data.target);
      form = parsed.data;
      return form;
    };

    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) fail(new UploadRejected(400, `field ${name} is too long`));
      else fields[name] = value;
    });
    parser.on("file", (name, stream, info) => {
      const fileName = info.filename?.trim() ?? "";
      if (failed || name !== "files" || fileName === "") {
        stream.resume();
        return;
      }
      const index = fileCount++;
      chain = chain.then(async () => {
        try {
          if (failed) return void stream.resume();
          await checkForm();
          // The request may have failed while the form was checked: its file will never end.
          if (failed) return void stream.resume();
          if (index > 0 && (isZip(fileName) || uploads.some((u) => isZip(u.name)))) {
            throw new UploadRejected(400, "send one zip, or several files without a zip");
          }
          const key = uploadFileKey(uploadId, index, fileName);
          let size = 0;
          const counter = new Transform({
            transform(chunk: Buffer, _enc, done) {
              size += chunk.length;
              total += chunk.length;
              if (total <= deps.maxBytes) done(null, chunk);
              else if (!counter.destroyed) done(new UploadRejected(413, tooLarge(deps.maxBytes)));
              else done();
            },
          });
          stream.on("error", (error) => counter.destroy(error));
          // The cap can trip before storage attaches its own listeners; storage.put still sees the error.
          counter.on("error", () => {});
          current = counter;
          await deps.storage.put(key, stream.pipe(counter));
          uploads.push({ key, name: fileName, size });
        } catch (error) {
          // Drain what is left of the file without storing it (the request is being torn down anyway).
          stream.unpipe();
          stream.resume();
          fail(error);
        } finally {
          current = null;
        }
      });
    });
    parser.on("filesLimit", () => fail(new UploadRejected(413, `at most ${MAX_FILES} files per upload`)));
    parser.on("fieldsLimit", () => fail(new UploadRejected(400, "too many form fields")));
    parser.on("partsLimit", () => fail(new UploadRejected(413, "too many parts")));
    parser.on("error", (error) => fail(new UploadRejected(400, `the multipart body is malformed (${(error as Error).message})`)));
    parser.on("close", () => {
      void chain.then(async () => {
        if (failed) return;
        try {
          const parsedForm = await checkForm();
          if (uploads.length === 0) throw new UploadRejected(400, 'choose a zip or image files (form field "files")');
          resolve({ form: parsedForm, uploads });
        } catch (error) {
          fail(error);
        }
      });
    });
    // A client that goes away mid-upload: the body stream errors; the partial files are removed.
    body.on("error", () => fail(new UploadRejected(400, "the upload was interrupted")));
    body.pipe(parser);
  });
}

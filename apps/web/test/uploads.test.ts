import { claimNextJob, getJob } from "@hemaloop/db/queries";
import { addInstitutionMember } from "@hemaloop/db/queries";
import * as schema from "@hemaloop/db/schema";
import { createLocalStorage, type LocalStorage } from "@hemaloop/db/storage";
import { importJobResultSchema } from "@hemaloop/ml/contracts";
import { and, eq } from "drizzle-orm";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import yazl from "yazl";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createImportHandler, formatProgress } from "../../trainer/src/handlers/import-handler";
import { runClaimedJob } from "../../trainer/src/worker";
import { listFiles, pbcCrop } from "../../../packages/db/test/fixtures/import-test-files";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { handleProjectUpload, type UploadDeps } from "../src/server/uploads";

async function buildZip(items: Array<{ name: string; data: Buffer }>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const item of items) zip.addBuffer(item.data, item.name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Rewrites an entry name in the local and central headers (same length): writers refuse to write "../". */
function renameEntry(zip: Buffer, from: string, to: string): void {
  const needle = Buffer.from(from);
  let at = zip.indexOf(needle);
  expect(at).toBeGreaterThan(0);
  while (at >= 0) {
    Buffer.from(to).copy(zip, at);
    at = zip.indexOf(needle, at + 1);
  }
}

type Fields = Record<string, string>;

function uploadRequest(fields: Fields, files: Array<{ name: string; data: Buffer }>): Request {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const f of files) form.append("files", new Blob([new Uint8Array(f.data)]), f.name);
  return new Request("http://localhost/api/projects/x/uploads", { method: "POST", body: form });
}

describeEachDb("browser upload: streamed into storage, imported by the trainer's import handler", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  let tmp: string;
  let storage: LocalStorage;
  let institutionId: string;
  let goodZip: Buffer;
  const deps = (user: ProjectFixture["users"][keyof ProjectFixture["users"]] | null, maxBytes = 10 * 1024 ** 2): UploadDeps => ({
    db: t.db,
    storage,
    user,
    maxBytes,
  });
  const newDataset = (name: string): Fields => ({
    targetKind: "new",
    institutionId,
    datasetName: name,
    schemeKey: "pbc-8",
    site: "Leeds",
    stain: "Wright",
    magnification: "100x",
    licence: "CC BY 4.0",
  });
  const uploadsLeft = async () => (await listFiles(tmp)).filter((file) => file.startsWith("uploads/"));

  const runImportJob = async () => {
    const claimed = await claimNextJob(t.db, { workerId: "test-trainer", types: ["import"] });
    expect(claimed).not.toBeNull();
    const handler = createImportHandler({ storage, maxImagePixels: 50_000_000, tempDir: tmp, progressIntervalMs: 0 });
    const controller = new AbortController();
    await runClaimedJob(
      claimed!,
      { db: t.db, workerId: "test-trainer", handlers: { import: handler }, signal: controller.signal },
      () => {},
    );
    return getJob(t.db, claimed!.id);
  };

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-uploads-"));
    storage = createLocalStorage(tmp);
    const [crops] = await t.db.select().from(schema.dataset).where(eq(schema.dataset.id, f.cropDatasetId));
    institutionId = crops!.institutionId;
    await addInstitutionMember(t.db, { institutionId, userId: f.users.lead.id, role: "member" });
    const real = (cls: string, n: number) => pbcCrop(cls, n).then((p) => readFile(p));
    const jpeg = await real("neutrophil", 1);
    goodZip = await buildZip([
      { name: "basophil/a.jpg", data: await real("basophil", 0) },
      { name: "eosinophil/b.jpg", data: await real("eosinophil", 0) },
      { name: "neutrophil/c.jpg", data: jpeg },
      // planted: a path that escapes the archive, a truncated JPEG, a text file named .png
      { name: "xx/evil.jpg", data: await real("platelet", 0) },
      { name: "neutrophil/corrupt.jpg", data: jpeg.subarray(0, 400) },
      { name: "basophil/notes.png", data: Buffer.from("these are my notes, not an image\n".repeat(20)) },
    ]);
    renameEntry(goodZip, "xx/evil.jpg", "../evil.jpg");
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("a lead uploads a zip; the import job reports counts, progress and named rejections; the new dataset joins the project", async () => {
    const res = await handleProjectUpload(
      deps(f.users.lead),
      f.projectSlug,
      uploadRequest(newDataset("leeds-1"), [{ name: "batch.zip", data: goodZip }]),
    );
    expect(res.status).toBe(201);
    const body = (await res.json()) as { jobId: string; files: number; bytes: number };
    expect(body).toMatchObject({ files: 1, bytes: goodZip.length });
    expect(await uploadsLeft()).toHaveLength(1);

    const queued = await getJob(t.db, body.jobId);
    expect(queued).toMatchObject({ type: "import", status: "queued", projectId: f.projectId, createdBy: f.users.lead.id });
    const [audit] = await t.db
      .select()
      .from(schema.auditEvent)
      .where(and(eq(schema.auditEvent.entityId, body.jobId), eq(schema.auditEvent.action, "job.enqueue")));
    expect(audit?.after).toMatchObject({ type: "import", files: 1, target: { kind: "new", name: "leeds-1" } });

    const done = await runImportJob();
    expect(done.status).toBe("succeeded");
    const result = importJobResultSchema.parse(done.result);
    expect(result).toMatchObject({ imported: 3, duplicates: 0, rejected: 3, aborted: false });
    const byFile = Object.fromEntries(result.rejections.map((r) => [r.file, r.reason]));
    expect(Object.keys(byFile).sort()).toEqual(["../evil.jpg", "basophil/notes.png", "neutrophil/corrupt.jpg"]);
    expect(byFile["../evil.jpg"]).toMatch(/escapes the archive/);
    expect(done.progress).toBe(1);
    expect(done.progressMessage).toMatch(/^imported 3, duplicates 0, rejected 3 in \d+ s$/);

    const [ds] = await t.db.select().from(schema.dataset).where(eq(schema.dataset.id, result.datasetId));
    expect(ds).toMatchObject({
      name: "leeds-1",
      institutionId,
      site: "Leeds",
      stain: "Wright",
      magnification: "100x",
      licence: "CC BY 4.0",
    });
    const attached = await t.db
      .select()
      .from(schema.projectDataset)
      .where(and(eq(schema.projectDataset.projectId, f.projectId), eq(schema.projectDataset.datasetId, result.datasetId)));
    expect(attached).toHaveLength(1);
    // The upload and the job's temp folders are gone.
    expect(await uploadsLeft()).toEqual([]);
    expect((await listFiles(tmp)).filter((file) => file.startsWith("hemaloop-"))).toEqual([]);

    // The same zip again into the now existing dataset: all duplicates.
    const again = await handleProjectUpload(
      deps(f.users.lead),
      f.projectSlug,
      uploadRequest({ targetKind: "existing", datasetId: result.datasetId }, [{ name: "batch.zip", data: goodZip }]),
    );
    expect(again.status).toBe(201);
    const second = importJobResultSchema.parse((await runImportJob()).result);
    expect(second).toMatchObject({ imported: 0, duplicates: 3, rejected: 3 });
  });

  it("loose files with a CSV manifest are imported like the CLI's manifest layout; lines are named", async () => {
    const manifest = "file,label\na.jpg,basophil\nb.jpg,neutrophil\nmissing.jpg,basophil\nc.jpg,not-a-class\n";
    const res = await handleProjectUpload(
      deps(f.users.lead),
      f.projectSlug,
      uploadRequest(newDataset("loose-1"), [
        { name: "manifest.csv", data: Buffer.from(manifest) },
        { name: "a.jpg", data: await readFile(await pbcCrop("basophil", 1)) },
        { name: "b.jpg", data: await readFile(await pbcCrop("neutrophil", 2)) },
        { name: "c.jpg", data: await readFile(await pbcCrop("neutrophil", 3)) },
      ]),
    );
    expect(res.status).toBe(201);
    const done = await runImportJob();
    const result = importJobResultSchema.parse(done.result);
    expect(result).toMatchObject({ imported: 2, rejected: 2 });
    expect(result.rejections.find((r) => r.file === "c.jpg")).toMatchObject({ line: 5 });
    expect(result.rejections.find((r) => r.file === "missing.jpg")).toMatchObject({ line: 4 });
  });

  it("annotator 403, reviewer 403, signed out 401, outsider 404; nothing is stored", async () => {
    const req = () => uploadRequest(newDataset("nope"), [{ name: "batch.zip", data: goodZip }]);
    const annotator = await handleProjectUpload(deps(f.users.annotator), f.projectSlug, req());
    expect(annotator.status).toBe(403);
    expect(await annotator.json()).toEqual({ error: "this needs the lead role or higher (you are annotator)" });
    expect((await handleProjectUpload(deps(f.users.reviewer), f.projectSlug, req())).status).toBe(403);
    expect((await handleProjectUpload(deps(null), f.projectSlug, req())).status).toBe(401);
    expect((await handleProjectUpload(deps(f.users.outsider), f.projectSlug, req())).status).toBe(404);
    expect(await uploadsLeft()).toEqual([]);
  });

  it("bad requests get a clear 4xx JSON error and leave no upload behind", async () => {
    const zip = [{ name: "batch.zip", data: goodZip }];
    const cases: Array<[Request, number, RegExp]> = [
      [uploadRequest({ ...newDataset("x"), targetKind: "maybe" }, zip), 400, /targetKind/],
      [uploadRequest({ ...newDataset("x"), datasetName: "" }, zip), 400, /datasetName/],
      [uploadRequest({ ...newDataset("x"), schemeKey: "nope" }, zip), 400, /unknown class scheme "nope"/],
      [uploadRequest({ targetKind: "existing", datasetId: f.otherDatasetId }, zip), 404, /dataset of this project not found/],
      [uploadRequest(newDataset(`crops-taken`), []), 400, /choose a zip or image files/],
      [uploadRequest(newDataset("x"), [...zip, { name: "a.jpg", data: Buffer.from("x") }]), 400, /one zip/],
      [
        new Request("http://localhost/x", { method: "POST", body: "{}", headers: { "content-type": "application/json" } }),
        415,
        /multipart/,
      ],
    ];
    for (const [req, status, message] of cases) {
      const res = await handleProjectUpload(deps(f.users.lead), f.projectSlug, req);
      expect(res.status, String(message)).toBe(status);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
    // A new dataset for an institution the lead does not belong to.
    const [other] = await t.db.select().from(schema.dataset).where(eq(schema.dataset.id, f.otherDatasetId));
    const foreign = await handleProjectUpload(
      deps(f.users.lead),
      f.projectSlug,
      uploadRequest({ ...newDataset("x"), institutionId: other!.institutionId }, zip),
    );
    expect(foreign.status).toBe(403);
    expect(await uploadsLeft()).toEqual([]);
  });

  it("the size cap answers 413 (declared or counted) and removes the partial upload", async () => {
    const small = deps(f.users.lead, 20_000);
    const counted = await handleProjectUpload(
      small,
      f.projectSlug,
      uploadRequest(newDataset("big"), [{ name: "batch.zip", data: goodZip }]),
    );
    expect(counted.status).toBe(413);
    expect(((await counted.json()) as { error: string }).error).toMatch(/larger than the limit of 19.5 KiB/);
    const declared = uploadRequest(newDataset("big"), [{ name: "batch.zip", data: goodZip }]);
    const withLength = new Request(declared.url, {
      method: "POST",
      headers: { "content-type": declared.headers.get("content-type")!, "content-length": String(10 ** 9) },
      body: await declared.arrayBuffer(),
    });
    expect((await handleProjectUpload(small, f.projectSlug, withLength)).status).toBe(413);
    expect(await uploadsLeft()).toEqual([]);
  });

  it("an upload cut off mid-file is removed", async () => {
    const full = Buffer.from(await uploadRequest(newDataset("cut"), [{ name: "batch.zip", data: goodZip }]).arrayBuffer());
    const contentType = uploadRequest(newDataset("cut"), []).headers.get("content-type")!;
    const boundary = /boundary=(.*)$/.exec(contentType)![1]!;
    // Re-encode the first request's body with this request's boundary, then cut it half way through the zip.
    const firstBoundary = full.subarray(2, full.indexOf("\r\n")).toString();
    const body = Buffer.from(full.toString("latin1").split(firstBoundary).join(boundary), "latin1");
    const half = body.subarray(0, body.length - Math.floor(goodZip.length / 2));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(half));
        setTimeout(() => controller.error(new Error("client went away")), 50);
      },
    });
    const req = new Request("http://localhost/x", {
      method: "POST",
      headers: { "content-type": contentType },
      body: stream,
      duplex: "half",
    } as RequestInit);
    const res = await handleProjectUpload(deps(f.users.lead), f.projectSlug, req);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/interrupted/);
    expect(await uploadsLeft()).toEqual([]);
  });

  it("formats progress as count, rate and ETA", () => {
    expect(formatProgress({ done: 1234, total: 6400, ratePerSec: 85.2, etaSeconds: 61 })).toBe("1,234 / 6,400 images, 85/s, ETA 1 min");
    expect(formatProgress({ done: 10, total: 20, ratePerSec: 5, etaSeconds: 2 })).toBe("10 / 20 images, 5/s, ETA 2 s");
    expect(formatProgress({ done: 20, total: 20, ratePerSec: 5, etaSeconds: 0 })).toBe("20 / 20 images, 5/s");
  });
});

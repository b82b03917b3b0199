import { ConflictError, getProjectJob, type Db, type PublicUser } from "@hemaloop/db";
import { TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import superjson from "superjson";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { appRouter, createCaller } from "../src/server/trpc/root";
import { trpcCode } from "./helpers/trpc-code";

/** Calls a procedure over the real HTTP adapter (fetch), as the browser does. */
async function httpCall(db: Db, user: PublicUser | null, path: string, input: unknown) {
  const res = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req: new Request(`http://localhost/api/trpc/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(superjson.serialize(input)),
    }),
    router: appRouter,
    createContext: () => ({ db, user }),
  });
  const body = (await res.json()) as {
    error?: { json: { data: { code: string; httpStatus: number; domain: { code: string; details: unknown } | null } } };
  };
  return { status: res.status, body };
}

describeEachDb("tRPC API: roles, scoping and errors", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  const as = (u: PublicUser | null) => createCaller({ db: t.db, user: u });

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
  });
  afterAll(async () => {
    await t.close();
  });

  it("refuses signed-out callers with UNAUTHORIZED", async () => {
    expect(await trpcCode(as(null).project.mine())).toBe("UNAUTHORIZED");
    expect(await trpcCode(as(null).project.get({ projectSlug: f.projectSlug }))).toBe("UNAUTHORIZED");
    expect(
      await trpcCode(
        as(null).label.save({ projectId: f.projectId, cellId: f.cropCellIds[0]!, classId: f.classIds.ig!, expectedVersion: null }),
      ),
    ).toBe("UNAUTHORIZED");
    const http = await httpCall(t.db, null, "job.enqueueTrain", { projectId: f.projectId });
    expect(http.status).toBe(401);
  });

  it("lets members read their project and refuses non-members with FORBIDDEN", async () => {
    const mine = await as(f.users.annotator).project.mine();
    expect(mine.map((p) => p.slug)).toEqual([f.projectSlug]);
    const overview = await as(f.users.annotator).project.get({ projectSlug: f.projectSlug });
    expect(overview.role).toBe("annotator");
    expect(overview.datasets).toHaveLength(2);
    expect(overview.classCounts).toHaveLength(8);
    const byId = await as(f.users.reviewer).project.get({ projectId: f.projectId });
    expect(byId.project.slug).toBe(f.projectSlug);

    const outsider = as(f.users.outsider);
    expect(await trpcCode(outsider.project.get({ projectSlug: f.projectSlug }))).toBe("FORBIDDEN");
    expect(await trpcCode(outsider.cell.list({ projectId: f.projectId }))).toBe("FORBIDDEN");
    expect(await trpcCode(outsider.dataset.list({ projectId: f.projectId }))).toBe("FORBIDDEN");
    expect(await trpcCode(outsider.image.get({ projectId: f.projectId, imageId: f.fieldImageId }))).toBe("FORBIDDEN");
    expect(
      await trpcCode(
        outsider.label.save({ projectId: f.projectId, cellId: f.cropCellIds[0]!, classId: f.classIds.ig!, expectedVersion: null }),
      ),
    ).toBe("FORBIDDEN");
    // an institution member sees the files but is not a project member
    expect(await trpcCode(as(f.users.instMember).cell.list({ projectId: f.projectId }))).toBe("FORBIDDEN");
    // system admins pass every role check
    const admin = await as(f.users.sysadmin).project.get({ projectSlug: f.projectSlug });
    expect(admin.role).toBe("admin");
  });

  it("an annotator saves labels but cannot start or cancel training", async () => {
    const annotator = as(f.users.annotator);
    const saved = await annotator.label.save({
      projectId: f.projectId,
      cellId: f.cropCellIds[2]!,
      classId: f.classIds.lymphocyte!,
      expectedVersion: null,
    });
    expect(saved).toMatchObject({ version: 1, readerId: f.users.annotator.id, source: "human" });
    const page = await annotator.cell.list({ projectId: f.projectId, imageKind: "crop" });
    expect(page.items.find((c) => c.cellId === f.cropCellIds[2])?.myLabel).toMatchObject({ key: "lymphocyte", version: 1 });

    expect(await trpcCode(annotator.job.enqueueTrain({ projectId: f.projectId }))).toBe("FORBIDDEN");
    expect(await trpcCode(as(f.users.reviewer).job.enqueueTrain({ projectId: f.projectId }))).toBe("FORBIDDEN");
    const http = await httpCall(t.db, f.users.annotator, "job.enqueueTrain", { projectSlug: f.projectSlug });
    expect(http.status).toBe(403);
    expect(http.body.error?.json.data.code).toBe("FORBIDDEN");
    expect(await annotator.job.list({ projectId: f.projectId })).toHaveLength(0);

    const job = await as(f.users.lead).job.enqueueTrain({ projectId: f.projectId, backbone: "small-cnn" });
    expect(job).toMatchObject({ type: "train", status: "queued", projectId: f.projectId, createdBy: f.users.lead.id });
    expect(job.payload).toMatchObject({ backbone: "small-cnn", inputSize: 64 });
    expect(await trpcCode(annotator.job.cancel({ projectId: f.projectId, jobId: job.id }))).toBe("FORBIDDEN");
    const listed = await annotator.job.list({ projectId: f.projectId });
    expect(listed.map((j) => j.id)).toEqual([job.id]);
    expect(listed[0]!.progress).toBe(0);

    const cancelled = await as(f.users.admin).job.cancel({ projectId: f.projectId, jobId: job.id });
    expect(cancelled.status).toBe("cancelled");
    expect(await trpcCode(as(f.users.lead).job.cancel({ projectId: f.projectId, jobId: job.id }))).toBe("CONFLICT");
    const sysJob = await as(f.users.sysadmin).job.enqueueTrain({ projectSlug: f.projectSlug });
    expect(sysJob.status).toBe("queued");
  });

  it("a stale expectedVersion is a CONFLICT that carries the current label", async () => {
    const annotator = as(f.users.annotator);
    const cellId = f.cropCellIds[3]!;
    const v1 = await annotator.label.save({ projectId: f.projectId, cellId, classId: f.classIds.neutrophil!, expectedVersion: null });
    const v2 = await annotator.label.save({ projectId: f.projectId, cellId, classId: f.classIds.monocyte!, expectedVersion: v1.version });
    expect(v2.version).toBe(2);

    let caught: unknown;
    try {
      await annotator.label.save({ projectId: f.projectId, cellId, classId: f.classIds.ig!, expectedVersion: 1 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TRPCError);
    expect((caught as TRPCError).code).toBe("CONFLICT");
    expect((caught as TRPCError).cause).toBeInstanceOf(ConflictError);
    // "I had no label" when there is one is a conflict too
    expect(await trpcCode(annotator.label.save({ projectId: f.projectId, cellId, classId: f.classIds.ig!, expectedVersion: null }))).toBe(
      "CONFLICT",
    );

    const http = await httpCall(t.db, f.users.annotator, "label.save", {
      projectId: f.projectId,
      cellId,
      classId: f.classIds.ig!,
      expectedVersion: 1,
    });
    expect(http.status).toBe(409);
    expect(http.body.error?.json.data.code).toBe("CONFLICT");
    const details = http.body.error?.json.data.domain?.details as { current: { version: number; classId: string } };
    expect(details.current).toMatchObject({ version: 2, classId: f.classIds.monocyte });
  });

  it("scopes ids to the project named in the input", async () => {
    const outsiderAsLead = as(f.users.outsider);
    // outsider leads the other project but names a cell / image / job of this one
    expect(
      await trpcCode(
        outsiderAsLead.label.save({
          projectId: f.otherProjectId,
          cellId: f.cropCellIds[0]!,
          classId: f.classIds.ig!,
          expectedVersion: null,
        }),
      ),
    ).toBe("NOT_FOUND");
    expect(await trpcCode(outsiderAsLead.image.get({ projectId: f.otherProjectId, imageId: f.fieldImageId }))).toBe("NOT_FOUND");
    const job = await as(f.users.lead).job.enqueueTrain({ projectId: f.projectId });
    expect(await trpcCode(outsiderAsLead.job.cancel({ projectId: f.otherProjectId, jobId: job.id }))).toBe("NOT_FOUND");
    expect((await getProjectJob(t.db, { projectId: f.projectId, jobId: job.id })).cancelRequested).toBe(false);
    // a class of another scheme is invalid input
    const field = await as(f.users.annotator).image.get({ projectId: f.projectId, imageId: f.fieldImageId });
    const wbcClassId = field.cells.find((c) => c.importedLabel)!.importedLabel!.classId;
    expect(
      await trpcCode(
        as(f.users.annotator).label.save({
          projectId: f.projectId,
          cellId: f.fieldCellIds[0]!,
          classId: wbcClassId,
          expectedVersion: null,
        }),
      ),
    ).toBe("BAD_REQUEST");
  });

  it("validates every input with zod", async () => {
    const annotator = as(f.users.annotator);
    expect(await trpcCode(annotator.project.get({}))).toBe("BAD_REQUEST");
    expect(await trpcCode(annotator.project.get({ projectSlug: "../../etc" }))).toBe("BAD_REQUEST");
    expect(await trpcCode(annotator.image.get({ projectId: f.projectId, imageId: "not-a-uuid" }))).toBe("BAD_REQUEST");
    expect(await trpcCode(annotator.cell.list({ projectId: f.projectId, pageSize: 10_000 }))).toBe("BAD_REQUEST");
    expect(
      await trpcCode(
        annotator.label.save({ projectId: f.projectId, cellId: f.cropCellIds[0]!, classId: f.classIds.ig!, expectedVersion: 0 }),
      ),
    ).toBe("BAD_REQUEST");
    expect(await trpcCode(as(f.users.lead).job.enqueueTrain({ projectId: f.projectId, backbone: "vgg" as never }))).toBe("BAD_REQUEST");
    expect(await trpcCode(annotator.project.get({ projectSlug: "no-such-project" }))).toBe("NOT_FOUND");
  });

  it("returns a field with its boxes for the viewer", async () => {
    const field = await as(f.users.reviewer).image.get({ projectId: f.projectId, imageId: f.fieldImageId });
    expect(field.image).toMatchObject({ kind: "field", dziKey: f.keys.dzi, width: 640, height: 480 });
    expect(field.cells.map((c) => c.geometry)).toEqual(["box", "box", "box"]);
    const fields = await as(f.users.reviewer).project.fields({ projectSlug: f.projectSlug });
    expect(fields.map((x) => x.id)).toEqual([f.fieldImageId]);
  });
});

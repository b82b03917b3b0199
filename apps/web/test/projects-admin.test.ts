import { type Db, type PublicUser } from "@hemaloop/db";
import { addInstitutionMember } from "@hemaloop/db/queries";
import { dataset, image } from "@hemaloop/db/schema";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { eq } from "drizzle-orm";
import superjson from "superjson";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { checkFileAccess } from "../src/server/files";
import { appRouter, createCaller } from "../src/server/trpc/root";
import { trpcCode } from "./helpers/trpc-code";

async function httpCall(db: Db, user: PublicUser, path: string, input: unknown) {
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
  return { status: res.status, body: (await res.json()) as { error?: { json: { message: string; data: { code: string } } } } };
}

describeEachDb("tRPC: project settings, members, dataset sharing", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  let otherImageId: string;
  const as = (u: PublicUser) => createCaller({ db: t.db, user: u });

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
    const [img] = await t.db.select({ id: image.id }).from(image).where(eq(image.datasetId, f.otherDatasetId));
    otherImageId = img!.id;
  });
  afterAll(async () => t?.close());

  it("an annotator of P cannot reach another institution's private dataset: NOT_FOUND everywhere, files included", async () => {
    const annotator = as(f.users.annotator);
    expect(await trpcCode(annotator.cell.list({ projectId: f.projectId, datasetId: f.otherDatasetId }))).toBe("NOT_FOUND");
    expect(await trpcCode(annotator.image.get({ projectId: f.projectId, imageId: otherImageId }))).toBe("NOT_FOUND");
    expect(await trpcCode(annotator.dataset.share({ datasetId: f.otherDatasetId, projectSlug: f.projectSlug }))).toBe("NOT_FOUND");
    expect(await checkFileAccess(t.db, f.users.annotator, f.keys.otherThumb)).toBe("not_found");
    expect((await annotator.dataset.list({ projectId: f.projectId })).map((d) => d.id)).not.toContain(f.otherDatasetId);
    // its own project's data stays readable
    expect((await annotator.cell.list({ projectId: f.projectId, datasetId: f.cropDatasetId })).total).toBe(6);
  });

  it("roles are middleware: annotators cannot attach, leads cannot edit settings or members", async () => {
    expect(await trpcCode(as(f.users.annotator).project.attachDataset({ projectId: f.projectId, datasetId: f.cropDatasetId }))).toBe(
      "FORBIDDEN",
    );
    expect(await trpcCode(as(f.users.annotator).project.settings({ projectId: f.projectId }))).toBe("FORBIDDEN");
    expect(await trpcCode(as(f.users.lead).project.update({ projectId: f.projectId, name: "x", description: null }))).toBe("FORBIDDEN");
    expect(await trpcCode(as(f.users.lead).member.list({ projectId: f.projectId }))).toBe("FORBIDDEN");
    const settings = await as(f.users.lead).project.settings({ projectId: f.projectId });
    expect(settings.role).toBe("lead");
    expect(settings.attachable).toEqual([]); // the lead belongs to no institution and nothing is shared
  });

  it("creates a project (institution admin), with a validated, unique slug; the creator is its admin", async () => {
    const [crops] = await t.db.select().from(dataset).where(eq(dataset.id, f.cropDatasetId));
    await addInstitutionMember(t.db, { institutionId: crops!.institutionId, userId: f.users.instMember.id, role: "admin" });
    const creator = as(f.users.instMember);
    const options = await creator.project.createOptions();
    expect(options.allowed).toBe(true);
    expect(options.datasets.map((d) => d.id)).toContain(f.cropDatasetId);
    expect(options.datasets.map((d) => d.id)).not.toContain(f.otherDatasetId);
    expect((await as(f.users.annotator).project.createOptions()).allowed).toBe(false);
    expect(await trpcCode(as(f.users.annotator).project.create({ slug: "nope", name: "N", schemeKey: "pbc-8" }))).toBe("FORBIDDEN");

    const bad = await httpCall(t.db, f.users.instMember, "project.create", { slug: "Bad Slug", name: "N", schemeKey: "pbc-8" });
    expect(bad.status).toBe(400);
    const slug = `ui-${f.projectSlug}`;
    const created = await creator.project.create({ slug, name: "UI project", schemeKey: "pbc-8", datasetIds: [f.cropDatasetId] });
    expect(created.slug).toBe(slug);
    const overview = await creator.project.get({ projectSlug: slug });
    expect(overview.role).toBe("admin");
    expect(overview.datasets.map((d) => d.id)).toEqual([f.cropDatasetId]);
    const taken = await httpCall(t.db, f.users.instMember, "project.create", { slug, name: "Again", schemeKey: "pbc-8" });
    expect(taken.status).toBe(409);
    expect(taken.body.error?.json.message).toContain("already exists");
  });

  it("members by email: add, change role, remove; the last admin guard is a CONFLICT", async () => {
    const admin = as(f.users.admin);
    await admin.member.add({ projectId: f.projectId, email: ` ${f.users.outsider.email.toUpperCase()} `, role: "annotator" });
    expect((await as(f.users.outsider).project.mine()).map((p) => p.slug)).toContain(f.projectSlug);
    await admin.member.changeRole({ projectId: f.projectId, email: f.users.outsider.email, role: "reviewer" });
    await admin.member.remove({ projectId: f.projectId, email: f.users.outsider.email });
    expect(await trpcCode(admin.member.add({ projectId: f.projectId, email: "ghost@test.local", role: "lead" }))).toBe("NOT_FOUND");
    expect(await trpcCode(admin.member.remove({ projectId: f.projectId, email: f.users.admin.email }))).toBe("CONFLICT");
    const members = await admin.member.list({ projectId: f.projectId });
    expect(members.filter((m) => m.role === "admin").map((m) => m.email)).toEqual([f.users.admin.email]);
  });

  it("archived: label saves and job starts are CONFLICT with a clear message; unarchive is allowed", async () => {
    const admin = as(f.users.admin);
    await admin.project.setArchived({ projectId: f.projectId, archived: true });
    const save = await httpCall(t.db, f.users.annotator, "label.save", {
      projectId: f.projectId,
      cellId: f.cropCellIds[0]!,
      classId: f.classIds.ig!,
      expectedVersion: null,
    });
    expect(save.status).toBe(409);
    expect(save.body.error?.json.message).toMatch(/archived and read-only/);
    expect(await trpcCode(as(f.users.lead).job.enqueueTrain({ projectId: f.projectId }))).toBe("CONFLICT");
    expect(await trpcCode(admin.member.add({ projectId: f.projectId, email: f.users.outsider.email, role: "lead" }))).toBe("CONFLICT");
    // still readable, hidden from the list unless asked
    expect((await as(f.users.annotator).project.get({ projectId: f.projectId })).project.archivedAt).toBeInstanceOf(Date);
    expect((await as(f.users.annotator).project.mine()).map((p) => p.slug)).not.toContain(f.projectSlug);
    expect((await as(f.users.annotator).project.mine({ includeArchived: true })).map((p) => p.slug)).toContain(f.projectSlug);
    await admin.project.setArchived({ projectId: f.projectId, archived: false });
    expect(await trpcCode(as(f.users.lead).job.enqueueTrain({ projectId: f.projectId }))).toBe("OK");
  });
});

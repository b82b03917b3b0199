import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from "../src/errors";
import { ensureDataset, ensureInstitution } from "../src/queries/datasets";
import { getVisibleDataset, listAdministeredDatasets, listAttachableDatasets } from "../src/queries/dataset-access";
import { listProjectMembers, listProjectsForViewer, setMembership } from "../src/queries/projects";
import { addInstitutionMember, ensureUser, type PublicUser } from "../src/queries/users";
import { auditEvent, dataset, membership, project, projectDataset } from "../src/schema";
import {
  addProjectMember,
  attachDatasetToProject,
  changeProjectMemberRole,
  createProjectAsUser,
  detachDatasetFromProject,
  enqueueTrainJob,
  getFineTuneState,
  removeProjectMember,
  saveProjectLabel,
  setProjectArchived,
  shareDatasetWithProject,
  unshareDatasetFromProject,
  updateFineTuneEveryLabels,
  updateProjectDetails,
} from "../src/services";
import { createProjectFixture, type ProjectFixture } from "./helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

describeEachDb("projects from the UI: sharing, lifecycle, members", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  let otherInstId: string;
  let ownInstId: string;
  let otherAdmin: PublicUser;
  let unsharedId: string;
  let ownExtraId: string;
  const as = (u: PublicUser, projectId = f.projectId) => ({ projectId, actorId: u.id, isSystemAdmin: u.isSystemAdmin });
  const user = (u: PublicUser) => ({ actorId: u.id, isSystemAdmin: u.isSystemAdmin });
  const events = (action: string, entityId: string) =>
    t.db
      .select()
      .from(auditEvent)
      .where(and(eq(auditEvent.action, action), eq(auditEvent.entityId, entityId)));
  const attached = async (projectId: string) =>
    (await t.db.select().from(projectDataset).where(eq(projectDataset.projectId, projectId))).map((r) => r.datasetId).sort();

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
    const [other] = await t.db.select().from(dataset).where(eq(dataset.id, f.otherDatasetId));
    const [own] = await t.db.select().from(dataset).where(eq(dataset.id, f.cropDatasetId));
    otherInstId = other!.institutionId;
    ownInstId = own!.institutionId;
    otherAdmin = await ensureUser(t.db, { email: `inst-admin-${f.projectSlug}@test.local`, name: "Other admin", password: "x" });
    await addInstitutionMember(t.db, { institutionId: otherInstId, userId: otherAdmin.id, role: "admin" });
    unsharedId = (await ensureDataset(t.db, { institutionId: otherInstId, name: `unshared-${f.projectSlug}`, schemeKey: "pbc-8" })).id;
    ownExtraId = (await ensureDataset(t.db, { institutionId: ownInstId, name: `extra-${f.projectSlug}`, schemeKey: "pbc-8" })).id;
    // The lead belongs to the project's own institution and also reads in the other project (sees its dataset).
    await addInstitutionMember(t.db, { institutionId: ownInstId, userId: f.users.lead.id, role: "member" });
    await setMembership(t.db, { projectId: f.otherProjectId, userId: f.users.lead.id, role: "annotator" });
  });
  afterAll(async () => t?.close());

  describe("who may attach a dataset", () => {
    it("another institution's dataset the lead cannot see: NOT_FOUND, nothing written", async () => {
      await expect(attachDatasetToProject(t.db, as(f.users.lead), { datasetId: unsharedId })).rejects.toThrow(NotFoundError);
      expect(await attached(f.projectId)).not.toContain(unsharedId);
    });

    it("another institution's dataset the lead sees (via another project) but not shared: FORBIDDEN", async () => {
      await expect(attachDatasetToProject(t.db, as(f.users.lead), { datasetId: f.otherDatasetId })).rejects.toThrow(ForbiddenError);
      expect(await attached(f.projectId)).not.toContain(f.otherDatasetId);
    });

    it("once its institution admin shares it with the project, the lead attaches it (audited)", async () => {
      await shareDatasetWithProject(t.db, user(otherAdmin), { datasetId: f.otherDatasetId, projectSlug: f.projectSlug });
      expect((await listAttachableDatasets(t.db, f.users.lead, f.projectId)).map((d) => d.id)).toContain(f.otherDatasetId);
      await attachDatasetToProject(t.db, as(f.users.lead), { datasetId: f.otherDatasetId });
      expect(await attached(f.projectId)).toContain(f.otherDatasetId);
      const [event] = await events("project.attach-dataset", f.projectId);
      expect(event).toMatchObject({ actorId: f.users.lead.id, before: null, after: { datasetId: f.otherDatasetId } });
      const [share] = await events("dataset.share", f.otherDatasetId);
      expect(share).toMatchObject({ actorId: otherAdmin.id, after: { projectSlug: f.projectSlug } });
      await expect(attachDatasetToProject(t.db, as(f.users.lead), { datasetId: f.otherDatasetId })).rejects.toThrow(ConflictError);
    });

    it("a share alone lets the lead attach a dataset they could not see before", async () => {
      const third = await ensureInstitution(t.db, `Third ${f.projectSlug}`);
      const thirdAdmin = await ensureUser(t.db, { email: `third-admin-${f.projectSlug}@test.local`, name: "Third admin" });
      await addInstitutionMember(t.db, { institutionId: third.id, userId: thirdAdmin.id, role: "admin" });
      const onlyShared = (await ensureDataset(t.db, { institutionId: third.id, name: `only-shared-${f.projectSlug}`, schemeKey: "pbc-8" }))
        .id;
      await expect(attachDatasetToProject(t.db, as(f.users.lead), { datasetId: onlyShared })).rejects.toThrow(NotFoundError);
      await shareDatasetWithProject(t.db, user(thirdAdmin), { datasetId: onlyShared, projectSlug: f.projectSlug });
      expect((await listAttachableDatasets(t.db, f.users.lead, f.projectId)).map((d) => d.id)).toContain(onlyShared);
      await attachDatasetToProject(t.db, as(f.users.lead), { datasetId: onlyShared });
      expect(await attached(f.projectId)).toContain(onlyShared);
    });

    it("a dataset of the lead's own institution: ok; annotators' role is checked by the middleware, detach is audited", async () => {
      await attachDatasetToProject(t.db, as(f.users.lead), { datasetId: ownExtraId });
      expect(await attached(f.projectId)).toContain(ownExtraId);
      await detachDatasetFromProject(t.db, as(f.users.lead), { datasetId: ownExtraId });
      expect(await attached(f.projectId)).not.toContain(ownExtraId);
      expect(await events("project.detach-dataset", f.projectId)).toHaveLength(1);
      await expect(detachDatasetFromProject(t.db, as(f.users.lead), { datasetId: ownExtraId })).rejects.toThrow(NotFoundError);
    });

    it("a system admin attaches any dataset", async () => {
      await attachDatasetToProject(t.db, as(f.users.sysadmin), { datasetId: unsharedId });
      await detachDatasetFromProject(t.db, as(f.users.sysadmin), { datasetId: unsharedId });
    });
  });

  describe("who may see and share a dataset", () => {
    it("a project member cannot see another institution's private dataset: NOT_FOUND", async () => {
      await expect(getVisibleDataset(t.db, f.users.annotator, unsharedId)).rejects.toThrow(NotFoundError);
      await expect(getVisibleDataset(t.db, otherAdmin, unsharedId)).resolves.toMatchObject({ id: unsharedId });
      await expect(getVisibleDataset(t.db, f.users.sysadmin, unsharedId)).resolves.toMatchObject({ id: unsharedId });
      await expect(getVisibleDataset(t.db, f.users.instMember, f.cropDatasetId)).resolves.toMatchObject({ id: f.cropDatasetId });
    });

    it("sharing: invisible dataset NOT_FOUND, visible but not its admin FORBIDDEN, unknown project NOT_FOUND", async () => {
      await expect(
        shareDatasetWithProject(t.db, user(f.users.annotator), { datasetId: unsharedId, projectSlug: f.projectSlug }),
      ).rejects.toThrow(NotFoundError);
      await expect(
        shareDatasetWithProject(t.db, user(f.users.instMember), { datasetId: f.cropDatasetId, projectSlug: f.otherProjectSlug }),
      ).rejects.toThrow(ForbiddenError);
      await expect(
        shareDatasetWithProject(t.db, user(otherAdmin), { datasetId: unsharedId, projectSlug: "no-such-project" }),
      ).rejects.toThrow(NotFoundError);
      const mine = await listAdministeredDatasets(t.db, otherAdmin);
      expect(mine.map((d) => d.id).sort()).toEqual([f.otherDatasetId, unsharedId].sort());
      expect(mine.find((d) => d.id === f.otherDatasetId)!.sharedWith.map((s) => s.slug)).toEqual([f.projectSlug]);
      expect(await listAdministeredDatasets(t.db, f.users.annotator)).toEqual([]);
    });

    it("unsharing removes the share (audited) but keeps an existing attachment", async () => {
      await unshareDatasetFromProject(t.db, user(otherAdmin), { datasetId: f.otherDatasetId, projectSlug: f.projectSlug });
      expect(await attached(f.projectId)).toContain(f.otherDatasetId);
      const [event] = await events("dataset.unshare", f.otherDatasetId);
      expect(event).toMatchObject({ before: { projectSlug: f.projectSlug, sharedBy: otherAdmin.id }, after: null });
      await expect(
        unshareDatasetFromProject(t.db, user(otherAdmin), { datasetId: f.otherDatasetId, projectSlug: f.projectSlug }),
      ).rejects.toThrow(NotFoundError);
    });
  });

  describe("project lifecycle", () => {
    it("creation: institution admins and system admins only; the creator becomes admin; datasets they may attach", async () => {
      const input = { slug: `new-${f.projectSlug}`, name: "New", schemeKey: "pbc-8", datasetIds: [unsharedId] };
      await expect(createProjectAsUser(t.db, user(f.users.lead), input)).rejects.toThrow(ForbiddenError);
      await expect(createProjectAsUser(t.db, user(otherAdmin), { ...input, datasetIds: [f.cropDatasetId] })).rejects.toThrow(NotFoundError);
      const created = await createProjectAsUser(t.db, user(otherAdmin), input);
      expect(await attached(created.id)).toEqual([unsharedId]);
      expect(await listProjectMembers(t.db, created.id)).toMatchObject([{ userId: otherAdmin.id, role: "admin" }]);
      const [event] = await events("project.create", created.id);
      expect(event).toMatchObject({ actorId: otherAdmin.id, after: { slug: input.slug, creatorRole: "admin" } });
      await expect(createProjectAsUser(t.db, user(f.users.sysadmin), { ...input, datasetIds: [] })).rejects.toThrow(ConflictError);
    });

    it("archived projects are read-only: label saves and job starts refused, hidden from the list; unarchive restores", async () => {
      const admin = as(f.users.admin);
      await setProjectArchived(t.db, admin, { archived: true });
      const label = { cellId: f.cropCellIds[0]!, classId: f.classIds.ig!, expectedVersion: null };
      await expect(saveProjectLabel(t.db, { projectId: f.projectId, actorId: f.users.annotator.id }, label)).rejects.toThrow(/archived/);
      await expect(enqueueTrainJob(t.db, { projectId: f.projectId, actorId: f.users.lead.id }, {})).rejects.toThrow(/archived/);
      await expect(updateProjectDetails(t.db, admin, { name: "x", description: null })).rejects.toThrow(ConflictError);
      await expect(attachDatasetToProject(t.db, as(f.users.lead), { datasetId: ownExtraId })).rejects.toThrow(/archived/);
      expect((await listProjectsForViewer(t.db, f.users.annotator)).map((p) => p.id)).not.toContain(f.projectId);
      expect((await listProjectsForViewer(t.db, f.users.annotator, { includeArchived: true })).map((p) => p.id)).toContain(f.projectId);
      await expect(setProjectArchived(t.db, admin, { archived: true })).rejects.toThrow(ConflictError);

      await setProjectArchived(t.db, admin, { archived: false });
      await saveProjectLabel(t.db, { projectId: f.projectId, actorId: f.users.annotator.id }, label);
      const [archived] = await events("project.archive", f.projectId);
      expect(archived).toMatchObject({ before: { archivedAt: null } });
      expect((archived!.after as { archivedAt: string }).archivedAt).toMatch(/^\d{4}-/);
      expect(await events("project.unarchive", f.projectId)).toHaveLength(1);

      const renamed = await updateProjectDetails(t.db, admin, { name: " Renamed ", description: "About it" });
      expect(renamed).toMatchObject({ name: "Renamed", description: "About it" });
      const [update] = await events("project.update", f.projectId);
      expect(update).toMatchObject({ after: { name: "Renamed", description: "About it" } });
    });
  });

  describe("active-learning settings", () => {
    it("a lead sets fineTuneEveryLabels (10..100,000), audited with the old value; rounds read it", async () => {
      const lead = as(f.users.lead);
      const [start] = await t.db.select().from(project).where(eq(project.id, f.projectId));
      await t.db
        .update(project)
        .set({ settings: { ...start!.settings, defaultBackbone: "resnet" } })
        .where(eq(project.id, f.projectId));
      expect((await getFineTuneState(t.db, f.projectId))!.threshold).toBe(200);
      for (const bad of [9, 100_001, 12.5, Number.NaN]) {
        await expect(updateFineTuneEveryLabels(t.db, lead, { fineTuneEveryLabels: bad })).rejects.toThrow(InvalidInputError);
      }
      expect(await events("project.settings", f.projectId)).toHaveLength(0);

      const updated = await updateFineTuneEveryLabels(t.db, lead, { fineTuneEveryLabels: 10 });
      expect(updated.settings.fineTuneEveryLabels).toBe(10);
      expect((await getFineTuneState(t.db, f.projectId))!.threshold).toBe(10);
      await updateFineTuneEveryLabels(t.db, lead, { fineTuneEveryLabels: 100_000 });
      // The same value again changes nothing and writes no event.
      await updateFineTuneEveryLabels(t.db, lead, { fineTuneEveryLabels: 100_000 });
      const audits = (await events("project.settings", f.projectId)).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
      expect(audits.map((e) => [e.actorId, e.before, e.after])).toEqual([
        [f.users.lead.id, { fineTuneEveryLabels: null }, { fineTuneEveryLabels: 10 }],
        [f.users.lead.id, { fineTuneEveryLabels: 10 }, { fineTuneEveryLabels: 100_000 }],
      ]);

      // Other settings survive; an archived project refuses the change.
      const [row] = await t.db.select().from(project).where(eq(project.id, f.projectId));
      expect(row!.settings).toMatchObject({ defaultBackbone: "resnet", fineTuneEveryLabels: 100_000 });
      await setProjectArchived(t.db, as(f.users.admin), { archived: true });
      await expect(updateFineTuneEveryLabels(t.db, lead, { fineTuneEveryLabels: 50 })).rejects.toThrow(/archived/);
      await setProjectArchived(t.db, as(f.users.admin), { archived: false });
    });
  });

  describe("members", () => {
    const members = async () => Object.fromEntries((await listProjectMembers(t.db, f.projectId)).map((m) => [m.email, m.role]));

    it("adds by email (existing, enabled users only), changes the role, removes; each audited before/after", async () => {
      const web = { actorId: f.users.admin.id };
      await addProjectMember(t.db, web, { projectId: f.projectId, email: f.users.instMember.email.toUpperCase(), role: "annotator" });
      expect((await members())[f.users.instMember.email]).toBe("annotator");
      await expect(addProjectMember(t.db, web, { projectId: f.projectId, email: f.users.instMember.email, role: "lead" })).rejects.toThrow(
        ConflictError,
      );
      await expect(addProjectMember(t.db, web, { projectId: f.projectId, email: "nobody@test.local", role: "lead" })).rejects.toThrow(
        NotFoundError,
      );
      await changeProjectMemberRole(t.db, web, { projectId: f.projectId, email: f.users.instMember.email, role: "reviewer" });
      await removeProjectMember(t.db, web, { projectId: f.projectId, email: f.users.instMember.email });
      expect((await members())[f.users.instMember.email]).toBeUndefined();
      const [changed] = await events("membership.change-role", f.projectId);
      expect(changed).toMatchObject({ actorId: f.users.admin.id, before: { role: "annotator" }, after: { role: "reviewer" } });
      const [removed] = await events("membership.remove", f.projectId);
      expect(removed).toMatchObject({ before: { role: "reviewer" }, after: { role: null } });
    });

    it("the last project admin cannot be demoted or removed; with a second admin they can", async () => {
      const web = { actorId: f.users.admin.id };
      const target = { projectId: f.projectId, email: f.users.admin.email };
      await expect(changeProjectMemberRole(t.db, web, { ...target, role: "lead" })).rejects.toThrow(/last admin/);
      await expect(removeProjectMember(t.db, web, target)).rejects.toThrow(/last admin/);
      expect((await members())[f.users.admin.email]).toBe("admin");
      await changeProjectMemberRole(t.db, web, { projectId: f.projectId, email: f.users.lead.email, role: "admin" });
      await changeProjectMemberRole(t.db, web, { ...target, role: "lead" });
      const rows = await t.db
        .select()
        .from(membership)
        .where(and(eq(membership.projectId, f.projectId), eq(membership.role, "admin")));
      expect(rows.map((r) => r.userId)).toEqual([f.users.lead.id]);
    });
  });
});

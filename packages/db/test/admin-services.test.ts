import { and, count, eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ConflictError, InvalidInputError, NotFoundError } from "../src/errors";
import { saveLabel } from "../src/queries/labels";
import { listTrainingCells } from "../src/queries/training-set";
import { authenticateUser, loadSessionUserState } from "../src/queries/users";
import { auditEvent, dataset, institutionMember, label, labelHistory, membership, project, user } from "../src/schema";
import {
  addDatasetToProject,
  addInstitutionAdmin,
  addProjectMember,
  changeProjectMemberRole,
  createInstitution,
  createProject,
  createUser,
  disableUser,
  enableUser,
  removeProjectMember,
  resetPassword,
  setSystemAdmin,
  SYSTEM_ACTOR,
} from "../src/services";
import { createProjectFixture, type ProjectFixture } from "./helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

describeEachDb("admin services", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  const events = async (action: string, entityId?: string) =>
    t.db
      .select()
      .from(auditEvent)
      .where(and(eq(auditEvent.action, action), entityId ? eq(auditEvent.entityId, entityId) : undefined));
  const auditCount = async () => (await t.db.select({ n: count() }).from(auditEvent))[0]!.n;

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
  });
  afterAll(async () => t?.close());

  it("creates a user with a generated one-time password, audited as the system; refuses a duplicate", async () => {
    const created = await createUser(t.db, SYSTEM_ACTOR, { email: " Zoe@Example.org ", name: "Zoe" });
    expect(created).toMatchObject({ email: "zoe@example.org", name: "Zoe", isSystemAdmin: false, generated: true });
    expect(created.password.length).toBeGreaterThanOrEqual(20);
    expect(await authenticateUser(t.db, "zoe@example.org", created.password)).toMatchObject({ id: created.id });
    const [event] = await events("user.create", created.id);
    expect(event).toMatchObject({ actorId: null, after: { email: "zoe@example.org", disabled: false, via: "system" } });
    expect(JSON.stringify(event)).not.toContain(created.password);

    const before = await auditCount();
    await expect(createUser(t.db, { actorId: f.users.sysadmin.id }, { email: "ZOE@example.org", name: "Eve" })).rejects.toThrow(
      ConflictError,
    );
    await expect(createUser(t.db, SYSTEM_ACTOR, { email: "x@example.org", name: "X", password: "short" })).rejects.toThrow(
      InvalidInputError,
    );
    expect(await auditCount()).toBe(before);
  });

  it("disables and enables a user: sign-in and the session stop at once, with before/after audit", async () => {
    const u = await createUser(
      t.db,
      { actorId: f.users.sysadmin.id },
      { email: "dan@example.org", name: "Dan", password: "dan's long password" },
    );
    await disableUser(t.db, { actorId: f.users.sysadmin.id }, { email: "dan@example.org" });
    expect(await authenticateUser(t.db, "dan@example.org", "dan's long password")).toBeNull();
    expect(await loadSessionUserState(t.db, u.id)).toEqual({ status: "disabled" });
    const [event] = await events("user.disable", u.id);
    expect(event).toMatchObject({ actorId: f.users.sysadmin.id, before: { disabled: false }, after: { disabled: true } });
    expect((event!.after as Record<string, unknown>).via).toBeUndefined(); // a person acted, not the system
    await expect(disableUser(t.db, SYSTEM_ACTOR, { email: "dan@example.org" })).rejects.toThrow(ConflictError);

    await enableUser(t.db, SYSTEM_ACTOR, { email: "dan@example.org" });
    expect(await authenticateUser(t.db, "dan@example.org", "dan's long password")).toMatchObject({ id: u.id });
    expect(await loadSessionUserState(t.db, u.id)).toMatchObject({ status: "active", user: { email: "dan@example.org" } });
    expect(await events("user.enable", u.id)).toHaveLength(1);
    await expect(disableUser(t.db, SYSTEM_ACTOR, { email: "nobody@example.org" })).rejects.toThrow(NotFoundError);
  });

  it("rolls the change back when its audit event cannot be written", async () => {
    await createUser(t.db, SYSTEM_ACTOR, { email: "rita@example.org", name: "Rita", password: "rita's long password" });
    await t.db.execute(sql`create function test_refuse_disable() returns trigger language plpgsql as $$
      begin if new.action = 'user.disable' then raise exception 'audit store unavailable'; end if; return new; end $$`);
    await t.db.execute(
      sql`create trigger test_refuse_disable before insert on audit_event for each row execute function test_refuse_disable()`,
    );
    try {
      await expect(disableUser(t.db, SYSTEM_ACTOR, { email: "rita@example.org" })).rejects.toThrow();
    } finally {
      await t.db.execute(sql`drop trigger test_refuse_disable on audit_event`);
      await t.db.execute(sql`drop function test_refuse_disable()`);
    }
    const [row] = await t.db.select().from(user).where(eq(user.email, "rita@example.org"));
    expect(row!.disabledAt).toBeNull();
    expect(await authenticateUser(t.db, "rita@example.org", "rita's long password")).not.toBeNull();
  });

  it("resets a password and changes system-admin rights, never leaving the instance without an admin", async () => {
    const reset = await resetPassword(t.db, SYSTEM_ACTOR, { email: f.users.annotator.email });
    expect(reset.generated).toBe(true);
    expect(await authenticateUser(t.db, f.users.annotator.email, "annotator-pw")).toBeNull();
    expect(await authenticateUser(t.db, f.users.annotator.email, reset.password)).not.toBeNull();
    const [resetEvent] = await events("user.reset-password", f.users.annotator.id);
    expect(JSON.stringify(resetEvent)).not.toContain(reset.password);

    // The fixture's sysadmin is the only admin: demoting or disabling them is refused.
    await expect(setSystemAdmin(t.db, SYSTEM_ACTOR, { email: f.users.sysadmin.email, isSystemAdmin: false })).rejects.toThrow(
      /last active/,
    );
    await expect(disableUser(t.db, SYSTEM_ACTOR, { email: f.users.sysadmin.email })).rejects.toThrow(/last active/);
    const promoted = await setSystemAdmin(t.db, SYSTEM_ACTOR, { email: f.users.lead.email, isSystemAdmin: true });
    expect(promoted.isSystemAdmin).toBe(true);
    expect(await events("user.set-system-admin", f.users.lead.id)).toMatchObject([
      { before: { isSystemAdmin: false }, after: { isSystemAdmin: true, via: "system" } },
    ]);
    await setSystemAdmin(t.db, SYSTEM_ACTOR, { email: f.users.lead.email, isSystemAdmin: false });
  });

  it("creates institutions and institution admins; duplicates and unknown names are refused", async () => {
    const inst = await createInstitution(t.db, SYSTEM_ACTOR, { name: "Karolinska", country: "SE" });
    await expect(createInstitution(t.db, SYSTEM_ACTOR, { name: " Karolinska " })).rejects.toThrow(ConflictError);
    await addInstitutionAdmin(t.db, SYSTEM_ACTOR, { institutionName: "Karolinska", email: f.users.reviewer.email });
    await expect(addInstitutionAdmin(t.db, SYSTEM_ACTOR, { institutionName: "Karolinska", email: f.users.reviewer.email })).rejects.toThrow(
      ConflictError,
    );
    await expect(addInstitutionAdmin(t.db, SYSTEM_ACTOR, { institutionName: "Nowhere", email: f.users.reviewer.email })).rejects.toThrow(
      NotFoundError,
    );
    expect(
      await t.db.select({ role: institutionMember.role }).from(institutionMember).where(eq(institutionMember.institutionId, inst.id)),
    ).toEqual([{ role: "admin" }]);
    expect(await events("institution.create", inst.id)).toHaveLength(1);
    expect(await events("institution.add-admin", inst.id)).toMatchObject([{ before: null, after: { role: "admin", via: "system" } }]);
  });

  it("creates a project, adds a dataset by name and manages members, each audited", async () => {
    const p = await createProject(t.db, { actorId: f.users.sysadmin.id }, { slug: "aml-study", name: "AML study", schemeKey: "pbc-8" });
    expect(p.createdBy).toBe(f.users.sysadmin.id);
    await expect(createProject(t.db, SYSTEM_ACTOR, { slug: "aml-study", name: "again", schemeKey: "pbc-8" })).rejects.toThrow(
      ConflictError,
    );
    await expect(createProject(t.db, SYSTEM_ACTOR, { slug: "x-1", name: "x", schemeKey: "no-such-scheme" })).rejects.toThrow(NotFoundError);
    await expect(createProject(t.db, SYSTEM_ACTOR, { slug: "Bad Slug", name: "x", schemeKey: "pbc-8" })).rejects.toThrow(InvalidInputError);

    const [{ datasetName }] = (await t.db.select({ datasetName: dataset.name }).from(dataset).where(eq(dataset.id, f.cropDatasetId))) as [
      { datasetName: string },
    ];
    await addDatasetToProject(t.db, SYSTEM_ACTOR, { projectSlug: "aml-study", datasetName });
    await expect(addDatasetToProject(t.db, SYSTEM_ACTOR, { projectSlug: "aml-study", datasetName })).rejects.toThrow(ConflictError);
    await expect(addDatasetToProject(t.db, SYSTEM_ACTOR, { projectSlug: "aml-study", datasetName: "no such dataset" })).rejects.toThrow(
      NotFoundError,
    );

    const member = { projectSlug: "aml-study", email: f.users.annotator.email };
    await addProjectMember(t.db, SYSTEM_ACTOR, { ...member, role: "annotator" });
    await expect(addProjectMember(t.db, SYSTEM_ACTOR, { ...member, role: "lead" })).rejects.toThrow(ConflictError);
    await changeProjectMemberRole(t.db, SYSTEM_ACTOR, { ...member, role: "reviewer" });
    const roleOf = async () =>
      (
        await t.db
          .select({ role: membership.role })
          .from(membership)
          .where(and(eq(membership.projectId, p.id), eq(membership.userId, f.users.annotator.id)))
      )[0]?.role;
    expect(await roleOf()).toBe("reviewer");
    await removeProjectMember(t.db, SYSTEM_ACTOR, member);
    expect(await roleOf()).toBeUndefined();
    await expect(removeProjectMember(t.db, SYSTEM_ACTOR, member)).rejects.toThrow(NotFoundError);

    expect(await events("project.create", p.id)).toHaveLength(1);
    expect(await events("project.add-dataset", p.id)).toHaveLength(1);
    const trail = await t.db
      .select()
      .from(auditEvent)
      .where(and(eq(auditEvent.entityId, p.id), sql`${auditEvent.action} like 'membership.%'`));
    expect(trail.map((e) => [e.action, e.before, e.after]).sort()).toEqual(
      [
        ["membership.add", null, { email: f.users.annotator.email, role: "annotator", via: "system" }],
        [
          "membership.change-role",
          { email: f.users.annotator.email, role: "annotator" },
          { email: f.users.annotator.email, role: "reviewer", via: "system" },
        ],
        [
          "membership.remove",
          { email: f.users.annotator.email, role: "reviewer" },
          { email: f.users.annotator.email, role: null, via: "system" },
        ],
      ].sort(),
    );
  });

  it("refuses to delete a user with labels; disabling keeps their labels, history and the consensus", async () => {
    const reader = await createUser(t.db, SYSTEM_ACTOR, { email: "reader@example.org", name: "Reader", password: "reader long password" });
    // A human label outranks the imported one: this reader decides the consensus of these two cells.
    // actorId null: no audit row names the reader, so only the label's own foreign key protects it.
    const voted = f.cropCellIds.slice(0, 2);
    for (const cellId of voted) {
      await saveLabel(t.db, {
        cellId,
        classId: f.classIds.ig!,
        readerId: reader.id,
        source: "human",
        expectedVersion: null,
        actorId: reader.id,
      });
    }
    const labelsBefore = await t.db.select().from(label).where(eq(label.readerId, reader.id));
    expect(labelsBefore).toHaveLength(2);
    const consensusBefore = await listTrainingCells(t.db, f.projectId);
    expect(consensusBefore.filter((c) => voted.includes(c.cellId)).map((c) => c.classKey)).toEqual(["ig", "ig"]);

    await expect(t.db.delete(user).where(eq(user.id, reader.id))).rejects.toThrow();
    expect(await t.db.select().from(label).where(eq(label.readerId, reader.id))).toHaveLength(2);

    await disableUser(t.db, SYSTEM_ACTOR, { email: "reader@example.org" });
    expect(await t.db.select().from(label).where(eq(label.readerId, reader.id))).toEqual(labelsBefore);
    expect(
      await t.db
        .select({ n: count() })
        .from(labelHistory)
        .where(
          inArray(
            labelHistory.labelId,
            labelsBefore.map((l) => l.id),
          ),
        ),
    ).toEqual([{ n: 2 }]);
    expect(await listTrainingCells(t.db, f.projectId)).toEqual(consensusBefore);
    expect(await t.db.select({ id: project.id }).from(project).where(eq(project.id, f.projectId))).toHaveLength(1);
  });

  it("keeps every history reference to a user on delete restrict (nothing cascades or is set null)", async () => {
    const result: unknown = await t.db.execute(sql`
      select conrelid::regclass::text || '.' || a.attname as ref, confdeltype::text as action
      from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
      where c.contype = 'f' and c.confrelid = 'public.user'::regclass`);
    // postgres-js returns the rows as an array, PGlite as { rows }
    type Row = { ref: string; action: string };
    const rows: Row[] = Array.isArray(result) ? (result as Row[]) : (result as { rows: Row[] }).rows;
    const actions = Object.fromEntries(rows.map((r) => [r.ref.replaceAll('"', ""), r.action]));
    for (const ref of [
      "label.reader_id",
      "label_history.actor_id",
      "model_version.created_by",
      "job.created_by",
      "project.created_by",
      "dataset.created_by",
      "cell.created_by",
    ]) {
      expect([ref, actions[ref]]).toEqual([ref, "r"]);
    }
    expect(actions["audit_event.actor_id"]).toBe("a"); // no action: the append-only trigger already refuses rewrites
  });
});

import { and, count, eq, isNotNull } from "drizzle-orm";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { listProjectDatasets } from "../src/queries/datasets";
import { getMembershipRole, listProjectsForViewer } from "../src/queries/projects";
import { authenticateUser, ensureUser } from "../src/queries/users";
import { auditEvent, cell, image, institution, institutionMember, label, labelHistory, projectDataset, user } from "../src/schema";
import {
  DEMO_ANNOTATOR_LOGIN,
  DEMO_LOGIN,
  DEMO_LOGINS,
  DEMO_REVIEWER_LOGIN,
  disableDemoUsers,
  seedDemo,
  type SeedDemoResult,
} from "../src/seed/seed-demo";
import { createLocalStorage, type LocalStorage } from "../src/storage";
import { demoFixtureDir, listFiles } from "./fixtures/import-test-files";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

describeEachDb("demo seed", (kind) => {
  let t: TestDb;
  let tmp: string;
  let storage: LocalStorage;
  let first: SeedDemoResult;

  beforeAll(async () => {
    t = await createTestDb(kind);
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-seed-"));
    storage = createLocalStorage(path.join(tmp, "storage"));
    first = await seedDemo(t.db, storage, { fixtureDir: demoFixtureDir });
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("imports the 40 PBC crops and the 4 BCCD fields from the committed fixture", async () => {
    expect(first.pbc).toMatchObject({ imported: 40, duplicates: 0, rejected: [], cells: 40, labels: 40 });
    expect(first.bccd).toMatchObject({ imported: 4, duplicates: 0, rejected: [], rejectedBoxes: [] });
    expect(first.bccd.labels).toBe(5); // the 5 Platelets boxes; the 67 WBC/RBC boxes wait for labelling
    expect(first.bccd.unlabeledCells).toBe(67);
    const datasets = await listProjectDatasets(t.db, first.projectId);
    expect(datasets.map((d) => [d.institution, d.name, d.cropCount + d.fieldCount]).sort()).toEqual([
      ["BCCD (demo)", "bccd-demo", 4],
      ["Hospital Clinic Barcelona (demo)", "pbc-demo", 40],
    ]);
    const pbc = datasets.find((d) => d.name === "pbc-demo")!;
    expect(pbc).toMatchObject({ device: "CellaVision DM96", stain: "May-Grünwald-Giemsa", licence: "CC BY 4.0" });
    const fields = await t.db.select().from(image).where(isNotNull(image.dziKey));
    expect(fields).toHaveLength(4);
    for (const f of fields) expect(await storage.exists(f.dziKey!)).toBe(true);
  });

  it("creates the demo users with working logins, roles and the project linked to both datasets", async () => {
    const lead = await authenticateUser(t.db, DEMO_LOGIN.email, DEMO_LOGIN.password);
    expect(lead).toMatchObject({ email: "demo@hemaloop.local", name: "Demo Lead", isSystemAdmin: true });
    expect(await authenticateUser(t.db, DEMO_LOGIN.email, "wrong")).toBeNull();
    const annotator = await authenticateUser(t.db, DEMO_ANNOTATOR_LOGIN.email, DEMO_ANNOTATOR_LOGIN.password);
    const reviewer = await authenticateUser(t.db, DEMO_REVIEWER_LOGIN.email, DEMO_REVIEWER_LOGIN.password);
    expect(annotator?.isSystemAdmin).toBe(false);
    expect(await getMembershipRole(t.db, first.projectId, lead!.id)).toBe("lead");
    expect(await getMembershipRole(t.db, first.projectId, annotator!.id)).toBe("annotator");
    expect(await getMembershipRole(t.db, first.projectId, reviewer!.id)).toBe("reviewer");
    // As a member (not through the admin flag): exactly the demo project, with both datasets.
    expect(await listProjectsForViewer(t.db, { id: lead!.id, isSystemAdmin: false })).toEqual([
      expect.objectContaining({ slug: "pbc-demo", name: "PBC demo", schemeKey: "pbc-8", role: "lead", datasetCount: 2 }),
    ]);
    const linked = await t.db.select().from(projectDataset).where(eq(projectDataset.projectId, first.projectId));
    expect(linked.map((l) => l.datasetId).sort()).toEqual([first.pbc.datasetId, first.bccd.datasetId].sort());
    const admins = await t.db.select().from(institutionMember).where(eq(institutionMember.userId, lead!.id));
    expect(admins.map((a) => a.role)).toEqual(["admin", "admin"]);
  });

  it("running it again adds nothing", async () => {
    const tables = [user, institution, institutionMember, image, cell, label, labelHistory, projectDataset, auditEvent] as const;
    const counts = async () => Promise.all(tables.map(async (tbl) => (await t.db.select({ n: count() }).from(tbl))[0]!.n));
    const before = await counts();
    const filesBefore = await listFiles(storage.rootDir);
    const again = await seedDemo(t.db, storage, { fixtureDir: demoFixtureDir });
    expect(again.pbc).toMatchObject({ imported: 0, duplicates: 40 });
    expect(again.bccd).toMatchObject({ imported: 0, duplicates: 4 });
    expect(again.projectId).toBe(first.projectId);
    expect(await counts()).toEqual(before);
    expect(await listFiles(storage.rootDir)).toEqual(filesBefore);
  });

  it("a non-demo start disables every published demo login (audited) and a demo run restores them", async () => {
    const other = await ensureUser(t.db, { email: "real@example.org", name: "Real", password: "a real password" });
    const demoAudit = async (action: string) =>
      (
        await t.db
          .select({ n: count() })
          .from(auditEvent)
          .where(and(eq(auditEvent.action, action), eq(auditEvent.entityType, "user")))
      )[0]!.n;

    expect(await disableDemoUsers(t.db)).toEqual(DEMO_LOGINS.map((l) => l.email).sort());
    for (const login of DEMO_LOGINS) expect(await authenticateUser(t.db, login.email, login.password)).toBeNull();
    expect(await demoAudit("user.demo-disable")).toBe(3);
    // The accounts stay (their labels and memberships point at them); only the password is gone.
    expect(await t.db.select({ n: count() }).from(user).where(isNotNull(user.passwordHash))).toEqual([{ n: 1 }]);
    expect(await t.db.select({ n: count() }).from(user).where(isNotNull(user.disabledAt))).toEqual([{ n: DEMO_LOGINS.length }]);
    expect(await authenticateUser(t.db, "real@example.org", "a real password")).toEqual(other);
    // Idempotent: nothing left to disable, no new events.
    expect(await disableDemoUsers(t.db)).toEqual([]);
    expect(await demoAudit("user.demo-disable")).toBe(3);

    const again = await seedDemo(t.db, storage, { fixtureDir: demoFixtureDir });
    expect(again.projectId).toBe(first.projectId);
    for (const login of DEMO_LOGINS) expect(await authenticateUser(t.db, login.email, login.password)).not.toBeNull();
    expect(await demoAudit("user.demo-enable")).toBe(3);
    expect(await t.db.select({ n: count() }).from(user).where(isNotNull(user.disabledAt))).toEqual([{ n: 0 }]);
  });
});

import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDb, type DbHandle } from "../src/client";
import { ConflictError } from "../src/errors";
import { listLabelHistory, saveLabel } from "../src/queries/labels";
import { authenticateUser } from "../src/queries/users";
import { auditEvent, label } from "../src/schema";
import { createCells } from "./helpers/fixtures";
import { createTestDb, describeEachDb, describePostgres, type TestDb } from "./helpers/test-db";

describeEachDb("labels with history and optimistic concurrency", (kind) => {
  let t: TestDb;
  let f: Awaited<ReturnType<typeof createCells>>;
  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createCells(t.db, 3);
  });
  afterAll(async () => t.close());

  it("creates, updates and records every version in history and audit", async () => {
    const cellId = f.cellIds[0]!;
    const first = await saveLabel(t.db, {
      cellId,
      classId: f.classId("neutrophil"),
      readerId: f.alice.id,
      source: "human",
      expectedVersion: null,
      actorId: f.alice.id,
    });
    expect(first.version).toBe(1);
    const second = await saveLabel(t.db, {
      cellId,
      classId: f.classId("ig"),
      readerId: f.alice.id,
      source: "human",
      expectedVersion: 1,
      actorId: f.alice.id,
    });
    expect(second.version).toBe(2);
    expect(second.id).toBe(first.id);
    const history = await listLabelHistory(t.db, first.id);
    expect(history.map((h) => [h.version, h.classId, h.previousClassId])).toEqual([
      [1, f.classId("neutrophil"), null],
      [2, f.classId("ig"), f.classId("neutrophil")],
    ]);
    const audits = await t.db.select().from(auditEvent).where(eq(auditEvent.entityId, first.id));
    expect(audits.map((a) => a.action).sort()).toEqual(["label.create", "label.update"]);
    expect(audits.find((a) => a.action === "label.update")?.before).toEqual({ classId: f.classId("neutrophil"), version: 1 });
  });

  it("rejects a stale version with the current label and changes nothing", async () => {
    const cellId = f.cellIds[0]!;
    const err = await saveLabel(t.db, {
      cellId,
      classId: f.classId("monocyte"),
      readerId: f.alice.id,
      source: "human",
      expectedVersion: 1,
      actorId: f.alice.id,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).details?.current).toMatchObject({ version: 2, classId: f.classId("ig") });
    const [row] = await t.db.select().from(label).where(eq(label.cellId, cellId));
    expect(row?.classId).toBe(f.classId("ig"));
  });

  it("keeps one label per reader: a second reader's label is separate, a ground-truth label has no reader", async () => {
    const cellId = f.cellIds[1]!;
    await saveLabel(t.db, {
      cellId,
      classId: f.classId("basophil"),
      readerId: null,
      source: "imported",
      expectedVersion: null,
      actorId: null,
    });
    await saveLabel(t.db, {
      cellId,
      classId: f.classId("eosinophil"),
      readerId: f.bob.id,
      source: "human",
      expectedVersion: null,
      actorId: f.bob.id,
    });
    const dup = saveLabel(t.db, {
      cellId,
      classId: f.classId("platelet"),
      readerId: null,
      source: "imported",
      expectedVersion: null,
      actorId: null,
    });
    await expect(dup).rejects.toBeInstanceOf(ConflictError);
    const rows = await t.db.select().from(label).where(eq(label.cellId, cellId));
    expect(rows).toHaveLength(2);
  });

  it("authenticates with the scrypt hash and never exposes it", async () => {
    const ok = await authenticateUser(t.db, "ALICE-t@x.org", "pw-alice");
    expect(ok).toEqual({ id: f.alice.id, email: "alice-t@x.org", name: "Alice", isSystemAdmin: false });
    expect(await authenticateUser(t.db, "alice-t@x.org", "wrong")).toBeNull();
  });
});

describePostgres("concurrent writers on the server", () => {
  let t: TestDb;
  let second: DbHandle;
  let f: Awaited<ReturnType<typeof createCells>>;
  beforeAll(async () => {
    t = await createTestDb("postgres");
    second = await createDb({ url: t.url! });
    f = await createCells(t.db, 2, "c");
  });
  afterAll(async () => {
    await second.close();
    await t.close();
  });

  it("two connections saving the same label from the same version: exactly one wins, the other gets a conflict", async () => {
    const cellId = f.cellIds[0]!;
    const base = await saveLabel(t.db, {
      cellId,
      classId: f.classId("neutrophil"),
      readerId: f.alice.id,
      source: "human",
      expectedVersion: null,
      actorId: f.alice.id,
    });
    for (let round = 0; round < 10; round++) {
      const version = base.version + round;
      const results = await Promise.allSettled([
        saveLabel(t.db, {
          cellId,
          classId: f.classId("ig"),
          readerId: f.alice.id,
          source: "human",
          expectedVersion: version,
          actorId: f.alice.id,
        }),
        saveLabel(second.db, {
          cellId,
          classId: f.classId("monocyte"),
          readerId: f.alice.id,
          source: "human",
          expectedVersion: version,
          actorId: f.bob.id,
        }),
      ]);
      const fulfilled = results.filter((r) => r.status === "fulfilled");
      const rejected = results.filter((r) => r.status === "rejected");
      expect(fulfilled).toHaveLength(1);
      expect(rejected).toHaveLength(1);
      expect((rejected[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    }
    const history = await listLabelHistory(t.db, base.id);
    // No lost update: every accepted write is a distinct version in history.
    expect(history.map((h) => h.version)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
  });

  it("two connections creating the first label at once: one insert, one conflict", async () => {
    const cellId = f.cellIds[1]!;
    const results = await Promise.allSettled([
      saveLabel(t.db, { cellId, classId: f.classId("ig"), readerId: null, source: "imported", expectedVersion: null, actorId: null }),
      saveLabel(second.db, {
        cellId,
        classId: f.classId("platelet"),
        readerId: null,
        source: "imported",
        expectedVersion: null,
        actorId: null,
      }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(1);
    const rows = await t.db.select().from(label).where(eq(label.cellId, cellId));
    expect(rows).toHaveLength(1);
  });
});

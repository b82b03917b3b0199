import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Db } from "../src/client";
import { ConflictError } from "../src/errors";
import { createModelVersion } from "../src/queries/models";
import { writePredictions } from "../src/queries/predictions";
import { addProjectDataset, ensureProject } from "../src/queries/projects";
import { getSchemeByKey } from "../src/queries/schemes";
import { saveLabel } from "../src/queries/labels";
import { ensureUser } from "../src/queries/users";
import { getQueueProgress } from "../src/queries/work-queue";
import { auditEvent, cell, evaluationSetCell, label, labelHistory, project, reviewDecision, reviewQueueItem } from "../src/schema";
import {
  buildWorkQueue,
  claimReaderBatch,
  decideQueueItem,
  renewReaderClaims,
  skipReaderItem,
  undoLastDecision,
  type ReaderActor,
} from "../src/services/reading-service";
import { createCells } from "./helpers/fixtures";
import { createTestDb, describeEachDb, describePostgres, type TestDb } from "./helpers/test-db";

/**
 * A lymphoid-4 project over `n` crops, with a published model whose prediction for cell i is
 * `classes[i % 4]` with the given probabilities (class ordinal order).
 */
async function createPredictedProject(db: Db, n: number, tag: string) {
  const f = await createCells(db, n, tag);
  const p = await ensureProject(db, { slug: `wq-${tag}`, name: `wq ${tag}`, schemeKey: "lymphoid-4" });
  await addProjectDataset(db, p.id, f.dataset.id);
  const scheme = await getSchemeByKey(db, "lymphoid-4");
  const cls = (key: string) => scheme.classes.find((c) => c.key === key)!.id;
  const mv = await createModelVersion(db, { projectId: p.id, schemeId: scheme.id, name: "m1", backbone: "resnet", hyperParameters: {} });
  await db.update(project).set({ currentModelVersionId: mv.id }).where(eq(project.id, p.id));
  const probs = (i: number) => {
    // cell i: the top class is i % 4; its confidence falls as i grows, so uncertainty grows with i.
    const top = 0.9 - (i / n) * 0.5;
    const rest = (1 - top) / 3;
    return [0, 1, 2, 3].map((k) => (k === i % 4 ? top : rest));
  };
  const keys = ["normal_lymphocyte", "reactive_lymphocyte", "abnormal_lymphocyte", "blast"];
  await writePredictions(
    db,
    mv.id,
    f.cellIds.map((cellId, i) => {
      const pr = probs(i);
      const sorted = [...pr].sort((a, b) => b - a);
      return {
        cellId,
        predictedClassId: cls(keys[i % 4]!),
        probabilities: pr,
        confidence: sorted[0]!,
        leastConfidence: 1 - sorted[0]!,
        margin: sorted[0]! - sorted[1]!,
        entropy: -pr.reduce((s, x) => s + x * Math.log(x), 0),
        bald: null,
      };
    }),
  );
  const reader = (user: { id: string }): ReaderActor => ({ projectId: p.id, actorId: user.id });
  return { ...f, project: p, scheme, cls, mv, probs, reader };
}

describeEachDb("work queues, claims and reader decisions", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t.close());

  it("ranks review by the chosen uncertainty, false-negative risk by abnormal probability, labeling by dataset order", async () => {
    const f = await createPredictedProject(t.db, 8, "rank");
    const lead = { projectId: f.project.id, actorId: f.alice.id };
    expect(await buildWorkQueue(t.db, lead, { kind: "review", strategy: "leastConfidence" })).toEqual({ items: 8 });
    const items = async (k: "review" | "false_negative" | "labeling") =>
      t.db
        .select()
        .from(reviewQueueItem)
        .where(and(eq(reviewQueueItem.projectId, f.project.id), eq(reviewQueueItem.kind, k)));
    const byPriority = (rows: Array<typeof reviewQueueItem.$inferSelect>) =>
      [...rows].sort((a, b) => b.priority - a.priority).map((r) => f.cellIds.indexOf(r.cellId));
    // least confidence grows with i
    expect(byPriority(await items("review"))).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);

    // false-negative risk: only cells predicted normal/reactive (i % 4 in {0, 1}), by P(abnormal)+P(blast)
    await buildWorkQueue(t.db, lead, { kind: "false_negative" });
    const fn = await items("false_negative");
    expect(byPriority(fn)).toEqual([5, 4, 1, 0]);
    const p5 = f.probs(5);
    expect(fn.find((r) => r.cellId === f.cellIds[5])!.priority).toBeCloseTo(p5[2]! + p5[3]!, 5);

    // labeling: cells without a label in the project's scheme, first cell first
    await saveLabel(t.db, {
      cellId: f.cellIds[0]!,
      classId: f.cls("blast"),
      readerId: null,
      source: "imported",
      expectedVersion: null,
      actorId: null,
    });
    await buildWorkQueue(t.db, lead, { kind: "labeling" });
    expect(byPriority(await items("labeling"))).toEqual([1, 2, 3, 4, 5, 6, 7]);

    // a project whose scheme has no binary mapping cannot have a false-negative queue
    const pbc = await ensureProject(t.db, { slug: "wq-pbc", name: "pbc", schemeKey: "pbc-8" });
    await expect(buildWorkQueue(t.db, { projectId: pbc.id, actorId: f.alice.id }, { kind: "false_negative" })).rejects.toThrow(
      /no published model|binary/,
    );
  });

  it("claims exclusively, skips to others, returns abandoned claims after the lease, keeps claims on re-rank", async () => {
    const f = await createPredictedProject(t.db, 10, "claim");
    await buildWorkQueue(t.db, { projectId: f.project.id, actorId: f.alice.id }, { kind: "review", strategy: "entropy" });
    const alice = f.reader(f.alice);
    const bob = f.reader(f.bob);
    const aliceHeld = await claimReaderBatch(t.db, alice, { kind: "review", hold: 2 });
    expect(aliceHeld).toHaveLength(2);
    // asking again tops up to the same two, it does not claim more
    expect(await claimReaderBatch(t.db, alice, { kind: "review", hold: 2 })).toEqual(aliceHeld);
    const bobHeld = await claimReaderBatch(t.db, bob, { kind: "review", hold: 3 });
    expect(bobHeld.filter((id) => aliceHeld.includes(id))).toEqual([]);

    // re-ranking leaves claimed items claimed by their reader
    await buildWorkQueue(t.db, { projectId: f.project.id, actorId: f.alice.id }, { kind: "review", strategy: "margin" });
    const claimedRows = await t.db.select().from(reviewQueueItem).where(eq(reviewQueueItem.claimedBy, f.alice.id));
    expect(claimedRows.map((r) => r.id).sort()).toEqual([...aliceHeld].sort());
    expect(claimedRows.every((r) => r.status === "claimed" && r.strategy === "entropy")).toBe(true);

    // skip: the item goes to bob, and never back to alice this session
    const since = new Date(Date.now() - 60_000);
    await skipReaderItem(t.db, alice, { itemId: aliceHeld[0]! });
    await expect(skipReaderItem(t.db, alice, { itemId: aliceHeld[0]! })).rejects.toBeInstanceOf(ConflictError);
    const aliceNext = await claimReaderBatch(t.db, alice, { kind: "review", hold: 2, skippedSince: since });
    expect(aliceNext).not.toContain(aliceHeld[0]);
    const bobNext = await claimReaderBatch(t.db, bob, { kind: "review", hold: 4 });
    expect(bobNext).toContain(aliceHeld[0]);

    // an abandoned claim (lease expired) comes back to the queue
    const carol = await ensureUser(t.db, { email: "carol-claim@x.org", name: "Carol", password: "pw-carol" });
    const short = await claimReaderBatch(t.db, f.reader(carol), { kind: "review", hold: 10, leaseMs: 30 });
    expect(short.length).toBeGreaterThan(0);
    expect(await claimReaderBatch(t.db, f.reader(carol), { kind: "review", hold: 10, leaseMs: 30 })).toHaveLength(short.length);
    await new Promise((r) => setTimeout(r, 80));
    const dave = await ensureUser(t.db, { email: "dave-claim@x.org", name: "Dave", password: "pw-dave" });
    const daveHeld = await claimReaderBatch(t.db, f.reader(dave), { kind: "review", hold: 10 });
    expect(daveHeld.sort()).toEqual([...short].sort());
    // carol's decision on a cell now held by dave is a conflict
    await expect(
      decideQueueItem(t.db, f.reader(carol), { itemId: short[0]!, decision: { action: "accept" }, expectedVersion: null }),
    ).rejects.toBeInstanceOf(ConflictError);
  });

  it("accepts, corrects and undoes with label history, audit and conflicts", async () => {
    const f = await createPredictedProject(t.db, 4, "decide");
    await buildWorkQueue(t.db, { projectId: f.project.id, actorId: f.alice.id }, { kind: "review", strategy: "entropy" });
    const alice = f.reader(f.alice);
    const [first, second] = await claimReaderBatch(t.db, alice, { kind: "review", hold: 2 });
    const itemRow = async (id: string) => (await t.db.select().from(reviewQueueItem).where(eq(reviewQueueItem.id, id)))[0]!;
    const item1 = await itemRow(first!);
    const item2 = await itemRow(second!);
    const predicted = f.cls(
      ["normal_lymphocyte", "reactive_lymphocyte", "abnormal_lymphocyte", "blast"][f.cellIds.indexOf(item1.cellId) % 4]!,
    );

    const accepted = await decideQueueItem(t.db, alice, { itemId: first!, decision: { action: "accept" }, expectedVersion: null });
    expect(accepted.label).toMatchObject({ classId: predicted, source: "model_accepted", readerId: f.alice.id, version: 1 });
    expect((await itemRow(first!)).status).toBe("done");
    await expect(decideQueueItem(t.db, alice, { itemId: first!, decision: { action: "accept" }, expectedVersion: null })).rejects.toThrow(
      /already decided/,
    );

    // a stale version (alice labelled the cell elsewhere meanwhile) is a conflict and changes nothing
    await saveLabel(t.db, {
      cellId: item2.cellId,
      classId: f.cls("reactive_lymphocyte"),
      readerId: f.alice.id,
      source: "human",
      expectedVersion: null,
      actorId: f.alice.id,
    });
    const stale = await decideQueueItem(t.db, alice, {
      itemId: second!,
      decision: { action: "correct", classId: f.cls("blast") },
      expectedVersion: null,
    }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(ConflictError);
    expect((await itemRow(second!)).status).toBe("claimed");
    // a class outside the project's scheme is refused
    await expect(
      decideQueueItem(t.db, alice, {
        itemId: second!,
        decision: { action: "correct", classId: f.classId("neutrophil") },
        expectedVersion: 1,
      }),
    ).rejects.toThrow(/scheme/);

    const corrected = await decideQueueItem(t.db, alice, {
      itemId: second!,
      decision: { action: "correct", classId: f.cls("blast") },
      expectedVersion: 1,
    });
    expect(corrected.label).toMatchObject({ classId: f.cls("blast"), source: "human", version: 2 });

    const progress = await getQueueProgress(t.db, {
      projectId: f.project.id,
      kind: "review",
      userId: f.alice.id,
    });
    expect(progress).toMatchObject({ remaining: 2, held: 0, doneToday: 2, decisionsSinceModel: 2 });

    // undo the correction: a new version restores the class alice had before, the item is hers again
    const undo1 = await undoLastDecision(t.db, alice);
    expect(undo1).toMatchObject({ itemId: second, restoredClassId: f.cls("reactive_lymphocyte") });
    const [restored] = await t.db.select().from(label).where(eq(label.id, corrected.label.id));
    expect(restored).toMatchObject({ classId: f.cls("reactive_lymphocyte"), source: "human", version: 3 });
    expect(await itemRow(second!)).toMatchObject({ status: "claimed", claimedBy: f.alice.id });

    // undo the acceptance: alice had no label, so it is removed; its history stays with a `removed` version
    // (with the configured lease: the item is held for that long, not the 10-minute default)
    const undo2 = await undoLastDecision(t.db, alice, { leaseMs: 60_000 });
    expect(undo2).toMatchObject({ itemId: first, restoredClassId: null });
    const leaseLeft = (await itemRow(first!)).leaseExpiresAt!.getTime() - Date.now();
    expect(leaseLeft).toBeGreaterThan(30_000);
    expect(leaseLeft).toBeLessThanOrEqual(61_000);
    expect(await t.db.select().from(label).where(eq(label.id, accepted.label.id))).toEqual([]);
    const history = await t.db.select().from(labelHistory).where(eq(labelHistory.cellId, item1.cellId));
    expect(history.map((h) => [h.version, h.classId, h.removed, h.readerId]).sort()).toEqual([
      [1, predicted, false, f.alice.id],
      [2, predicted, true, f.alice.id],
    ]);
    const audits = await t.db.select().from(auditEvent).where(eq(auditEvent.actorId, f.alice.id));
    const actions = audits.map((a) => a.action);
    expect(actions.filter((a) => a === "review.decide")).toHaveLength(2);
    expect(actions.filter((a) => a === "review.undo")).toHaveLength(2);
    expect(actions).toContain("label.delete");
    const decisions = await t.db.select().from(reviewDecision).where(eq(reviewDecision.userId, f.alice.id));
    expect(decisions.every((d) => d.undoneAt !== null)).toBe(true);
    await expect(undoLastDecision(t.db, alice)).rejects.toThrow(/nothing left to undo/);

    // the item can be decided again after the undo
    const again = await decideQueueItem(t.db, alice, { itemId: first!, decision: { action: "accept" }, expectedVersion: null });
    expect(again.label).toMatchObject({ classId: predicted, version: 1 });
  });

  it("leaves soft-deleted cells out of every queue, claim, held list and count", async () => {
    const f = await createPredictedProject(t.db, 6, "deleted");
    const lead = { projectId: f.project.id, actorId: f.alice.id };
    const alice = f.reader(f.alice);
    const deleteCell = (i: number) =>
      t.db.update(cell).set({ deletedAt: new Date(), deletedBy: f.alice.id }).where(eq(cell.id, f.cellIds[i]!));
    await deleteCell(5);
    // neither labeling nor review queues take a deleted cell in
    expect(await buildWorkQueue(t.db, lead, { kind: "review", strategy: "entropy" })).toEqual({ items: 5 });
    expect(await buildWorkQueue(t.db, lead, { kind: "labeling" })).toEqual({ items: 5 });

    const held = await claimReaderBatch(t.db, alice, { kind: "review", hold: 2 });
    const heldCells = await Promise.all(
      held.map(async (id) => (await t.db.select().from(reviewQueueItem).where(eq(reviewQueueItem.id, id)))[0]!.cellId),
    );
    // a cell deleted after queueing (one held by alice, one pending) drops out of claims, held list and counts
    const pendingCellIdx = f.cellIds.findIndex((c, i) => i !== 5 && !heldCells.includes(c));
    await deleteCell(f.cellIds.indexOf(heldCells[0]!));
    await deleteCell(pendingCellIdx);
    const progress = await getQueueProgress(t.db, { projectId: f.project.id, kind: "review", userId: f.alice.id });
    expect(progress).toMatchObject({ remaining: 2, held: 1 });
    const after = await claimReaderBatch(t.db, alice, { kind: "review", hold: 10 });
    expect(after).not.toContain(held[0]);
    expect(after).toHaveLength(3);
    const afterCells = await t.db.select().from(reviewQueueItem).where(eq(reviewQueueItem.claimedBy, f.alice.id));
    expect(afterCells.filter((r) => after.includes(r.id)).map((r) => r.cellId)).not.toContain(f.cellIds[pendingCellIdx]);
    // deciding the held item of a deleted cell is a conflict and writes no label
    await expect(decideQueueItem(t.db, alice, { itemId: held[0]!, decision: { action: "accept" }, expectedVersion: null })).rejects.toThrow(
      /deleted/,
    );
    expect(await t.db.select().from(label).where(eq(label.cellId, heldCells[0]!))).toEqual([]);
  });

  it("counts as remaining only what the reader could claim: no double-read or evaluation-set cell", async () => {
    const f = await createPredictedProject(t.db, 8, "remaining");
    const lead = { projectId: f.project.id, actorId: f.alice.id };
    expect(await buildWorkQueue(t.db, lead, { kind: "labeling" })).toEqual({ items: 8 });
    // Cells 0 and 1 are read blind in double reading (round 1 and 2 of cell 0, round 1 of cell 1);
    // cell 2 joined the frozen evaluation set after it was queued.
    await t.db.insert(reviewQueueItem).values(
      (
        [
          [0, 1],
          [0, 2],
          [1, 1],
        ] as const
      ).map(([i, round]) => ({
        projectId: f.project.id,
        kind: "double_reading" as const,
        cellId: f.cellIds[i]!,
        round,
        priority: 1,
        strategy: "double-reading",
      })),
    );
    await t.db.insert(evaluationSetCell).values({ projectId: f.project.id, cellId: f.cellIds[2]! });
    const progress = (k: "labeling" | "double_reading") => getQueueProgress(t.db, { projectId: f.project.id, kind: k, userId: f.bob.id });
    expect((await progress("labeling")).remaining).toBe(5);
    // Round 2 of cell 0 waits for round 1 to be taken: two of the three double-reading items are claimable now.
    expect((await progress("double_reading")).remaining).toBe(2);

    // What the count promised is what a claim gets, in both queues.
    const bob = f.reader(f.bob);
    expect(await claimReaderBatch(t.db, bob, { kind: "labeling", hold: 20 })).toHaveLength(5);
    expect(await progress("labeling")).toMatchObject({ remaining: 0, held: 5 });
    expect(await claimReaderBatch(t.db, bob, { kind: "double_reading", hold: 20 })).toHaveLength(2);
    // Bob holds round 1 of cell 0: round 2 of it is never his, so nothing is left for him.
    expect(await progress("double_reading")).toMatchObject({ remaining: 0, held: 2 });
    // For Alice round 2 of cell 0 is claimable now that round 1 is taken.
    expect((await getQueueProgress(t.db, { projectId: f.project.id, kind: "double_reading", userId: f.alice.id })).remaining).toBe(1);
  });

  it("refuses every queue mutation on an archived project, and renews leases on a heartbeat", async () => {
    const f = await createPredictedProject(t.db, 4, "archived");
    const lead = { projectId: f.project.id, actorId: f.alice.id };
    const alice = f.reader(f.alice);
    await buildWorkQueue(t.db, lead, { kind: "review", strategy: "entropy" });
    const [first, second] = await claimReaderBatch(t.db, alice, { kind: "review", hold: 2, leaseMs: 5_000 });
    const lease = async (id: string) =>
      (await t.db.select().from(reviewQueueItem).where(eq(reviewQueueItem.id, id)))[0]!.leaseExpiresAt!.getTime();
    const before = await lease(first!);
    expect(await renewReaderClaims(t.db, alice, { leaseMs: 600_000 })).toEqual({ renewed: 2 });
    expect(await lease(first!)).toBeGreaterThan(before + 500_000);
    await decideQueueItem(t.db, alice, { itemId: first!, decision: { action: "accept" }, expectedVersion: null });

    await t.db.update(project).set({ archivedAt: new Date() }).where(eq(project.id, f.project.id));
    const refusals = [
      () => buildWorkQueue(t.db, lead, { kind: "review" }),
      () => claimReaderBatch(t.db, alice, { kind: "review", hold: 2 }),
      () => renewReaderClaims(t.db, alice),
      () => skipReaderItem(t.db, alice, { itemId: second! }),
      () => decideQueueItem(t.db, alice, { itemId: second!, decision: { action: "accept" }, expectedVersion: null }),
      () => undoLastDecision(t.db, alice),
    ];
    for (const refused of refusals) await expect(refused()).rejects.toThrow(/archived/);
    // nothing changed: the decision stands, the other item is still alice's
    expect((await t.db.select().from(reviewQueueItem).where(eq(reviewQueueItem.id, second!)))[0]).toMatchObject({
      status: "claimed",
      claimedBy: f.alice.id,
    });
    expect((await t.db.select().from(reviewDecision).where(eq(reviewDecision.itemId, first!)))[0]!.undoneAt).toBeNull();
  });
});

describePostgres("claim exclusivity under concurrency", () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb("postgres");
  });
  afterAll(async () => t.close());

  it("2 readers x 30 cells, and 8 claimers in batches, never get the same cell", async () => {
    const f = await createPredictedProject(t.db, 30, "conc");
    await buildWorkQueue(t.db, { projectId: f.project.id, actorId: f.alice.id }, { kind: "review", strategy: "entropy" });
    const work = async (reader: ReaderActor) => {
      const decided: string[] = [];
      for (;;) {
        const [itemId] = await claimReaderBatch(t.db, reader, { kind: "review", hold: 1 });
        if (!itemId) return decided;
        await decideQueueItem(t.db, reader, { itemId, decision: { action: "accept" }, expectedVersion: null });
        decided.push(itemId);
      }
    };
    const [a, b] = await Promise.all([work(f.reader(f.alice)), work(f.reader(f.bob))]);
    expect(a.length + b.length).toBe(30);
    expect(new Set([...a, ...b]).size).toBe(30);
    expect(a.filter((id) => b.includes(id))).toEqual([]);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);

    // many claimers at once over a fresh queue: disjoint holdings covering it exactly
    const g = await createPredictedProject(t.db, 30, "conc8");
    await buildWorkQueue(t.db, { projectId: g.project.id, actorId: g.alice.id }, { kind: "review" });
    const users = await Promise.all(
      Array.from({ length: 8 }, (_, i) => ensureUser(t.db, { email: `r${i}-conc@x.org`, name: `r${i}`, password: `pw-r${i}` })),
    );
    const held = await Promise.all(users.map((u) => claimReaderBatch(t.db, g.reader(u), { kind: "review", hold: 5 })));
    const all = held.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(30);
  });
});

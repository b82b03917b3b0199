import { and, eq } from "drizzle-orm";
import { claimNextJob, claimQueueItems, getAlRound, getJob, rebuildWorkQueue, schema, startNextRound } from "@hemaloop/db";
import { QUERY_STRATEGIES } from "@hemaloop/ml";
import { ROUND_STRATEGIES, roundJobResultSchema } from "@hemaloop/ml/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRoundProject } from "../../../packages/db/test/helpers/round-fixture";
import { createTestDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { createRoundHandler } from "../src/handlers/round-handler";
import { runClaimedJob } from "../src/worker";

describe("round job (PGlite)", () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb("pglite");
  }, 120_000);
  afterAll(async () => t.close());

  async function runRound(jobId: string) {
    const claimed = await claimNextJob(t.db, { workerId: "test", types: ["round"] });
    expect(claimed!.id).toBe(jobId);
    const handlers = { round: createRoundHandler({ tfBackend: "cpu" }) };
    await runClaimedJob(claimed!, { db: t.db, workerId: "test", handlers, signal: new AbortController().signal }, () => {});
    return getJob(t.db, jobId);
  }

  it("round strategies are the ml package's query strategies less BALD", () => {
    expect([...ROUND_STRATEGIES].sort()).toEqual(QUERY_STRATEGIES.filter((s) => s !== "bald").sort());
  });

  it("refits the head, picks the batch into the labeling queue in order, never evaluation, labelled or claimed cells", async () => {
    const f = await createRoundProject(t.db, "h-main", { n: 240, labelled: 64 });
    await rebuildWorkQueue(t.db, { projectId: f.project.id, schemeId: f.scheme.id, kind: "labeling" });
    const [held] = await claimQueueItems(t.db, { projectId: f.project.id, kind: "labeling", userId: f.bob.id, limit: 1 });
    const [heldBefore] = await t.db.select().from(schema.reviewQueueItem).where(eq(schema.reviewQueueItem.id, held!));

    const { round, job } = await startNextRound(t.db, f.lead, { strategy: "hybrid", batchSize: 24, quotas: { basophil: 0.25 } });
    const done = await runRound(job.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe("succeeded");
    const result = roundJobResultSchema.parse(done.result);
    expect(result).toMatchObject({
      effectiveStrategy: "hybrid",
      coldStart: false,
      labelsSoFar: 52,
      picked: 24,
      cellsWithEmbedding: 240,
      cellsWithoutEmbedding: 0,
    });
    // The head separates the synthetic classes: near-perfect on the frozen evaluation set.
    expect(result.headAccuracy).toBeGreaterThan(0.9);

    const after = await getAlRound(t.db, round.id);
    expect(after.finishedAt).not.toBeNull();
    expect(after.headMetrics).toMatchObject({ n: 12 });
    const items = await t.db
      .select()
      .from(schema.reviewQueueItem)
      .where(and(eq(schema.reviewQueueItem.projectId, f.project.id), eq(schema.reviewQueueItem.strategy, "round-1")));
    expect(items).toHaveLength(24);
    const picked = new Set(items.map((i) => i.cellId));
    const labelled = new Set(f.cellIds.slice(0, 64));
    expect([...picked].filter((id) => labelled.has(id))).toEqual([]);
    expect(f.evaluationIds.filter((id) => picked.has(id))).toEqual([]);
    expect(picked.has(heldBefore!.cellId)).toBe(false);
    // Quota: at least a quarter of the batch predicted basophil (class 0 = every 8th cell).
    const basophils = items.filter((i) => f.classOf(f.cellIds.indexOf(i.cellId)) === 0).length;
    expect(basophils).toBeGreaterThanOrEqual(6);
    const [heldAfter] = await t.db.select().from(schema.reviewQueueItem).where(eq(schema.reviewQueueItem.id, held!));
    expect(heldAfter).toMatchObject({ status: "claimed", claimedBy: f.bob.id, priority: heldBefore!.priority });

    // A reader now gets the picks first, in the round's order.
    const order = [...items].sort((a, b) => b.priority - a.priority).map((i) => i.id);
    const claimedNow = await claimQueueItems(t.db, { projectId: f.project.id, kind: "labeling", userId: f.alice.id, limit: 24 });
    expect(claimedNow).toEqual(order);
  }, 120_000);

  it("cold start: a few labels pick by typicality (never random) the first batch of 2 per class covers every class", async () => {
    const f = await createRoundProject(t.db, "h-cold", { n: 160, labelled: 2 });
    const { round, job } = await startNextRound(t.db, f.lead, { strategy: "random", batchSize: 16 });
    const done = await runRound(job.id);
    expect(done.status).toBe("succeeded");
    const result = roundJobResultSchema.parse(done.result);
    expect(result).toMatchObject({ coldStart: true, effectiveStrategy: "typiclust", picked: 16, headAccuracy: null });
    const items = await t.db.select().from(schema.reviewQueueItem).where(eq(schema.reviewQueueItem.strategy, "round-1"));
    const mine = items.filter((i) => f.cellIds.includes(i.cellId));
    expect(mine).toHaveLength(16);
    expect(new Set(mine.map((i) => f.classOf(f.cellIds.indexOf(i.cellId)))).size).toBe(8);
    expect((await getAlRound(t.db, round.id)).effectiveStrategy).toBe("typiclust");
  }, 120_000);

  it("without any cached embedding the round fails saying to run Predict first, and the round records why", async () => {
    const f = await createRoundProject(t.db, "h-none", { n: 10, labelled: 0, withEmbeddings: false });
    const { round, job } = await startNextRound(t.db, f.lead, { strategy: "entropy", batchSize: 4 });
    const done = await runRound(job.id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/has an embedding from this model: run Predict/);
    expect((await getAlRound(t.db, round.id)).error).toMatch(/run Predict/);
  }, 60_000);
});

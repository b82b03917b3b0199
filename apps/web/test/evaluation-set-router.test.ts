import { schema, type PublicUser } from "@hemaloop/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { createCaller } from "../src/server/trpc/root";
import { trpcCode } from "./helpers/trpc-code";

describeEachDb("tRPC API: frozen evaluation set", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  const as = (u: PublicUser) => createCaller({ db: t.db, user: u });
  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
  });
  afterAll(async () => t.close());

  it("is drawn and extended only by leads, once, with an audit event; everyone may read its size", async () => {
    const ref = { projectId: f.projectId };
    expect(await trpcCode(as(f.users.reviewer).evaluationSet.draw({ ...ref, fraction: 0.5 }))).toBe("FORBIDDEN");
    expect(await trpcCode(as(f.users.lead).evaluationSet.draw({ ...ref, fraction: 1.5 }))).toBe("BAD_REQUEST");
    expect(await trpcCode(as(f.users.lead).evaluationSet.extend({ ...ref, fraction: 0.5 }))).toBe("CONFLICT");
    const drawn = await as(f.users.lead).evaluationSet.draw({ ...ref, fraction: 0.5, seed: 2 });
    // Only neutrophil has two verified cells: one of them is held out, the single-cell classes train.
    expect(drawn.added).toHaveLength(1);
    expect(await trpcCode(as(f.users.lead).evaluationSet.draw({ ...ref, fraction: 0.5 }))).toBe("CONFLICT");
    const summary = await as(f.users.annotator).evaluationSet.summary(ref);
    expect(summary.cells).toBe(1);
    expect(summary.perClass).toEqual([expect.objectContaining({ classKey: "neutrophil", cells: 1 })]);
    const audits = await t.db.select().from(schema.auditEvent).where(eq(schema.auditEvent.action, "evaluation_set.draw"));
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actorId: f.users.lead.id, entityId: f.projectId });
    expect(await trpcCode(as(f.users.outsider).evaluationSet.summary(ref))).toBe("FORBIDDEN");
  });
});

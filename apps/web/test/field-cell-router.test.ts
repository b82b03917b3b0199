import type { PublicUser } from "@hemaloop/db";
import { TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import superjson from "superjson";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { appRouter, createCaller } from "../src/server/trpc/root";

async function trpcError(promise: Promise<unknown>): Promise<TRPCError | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    if (error instanceof TRPCError) return error;
    throw error;
  }
}

describeEachDb("tRPC fieldCell: drawing cells on fields", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  const as = (u: PublicUser | null) => createCaller({ db: t.db, user: u });
  const box = { geometry: "box" as const, x: 20, y: 30, width: 40, height: 40 };

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
  });
  afterAll(async () => {
    await t.close();
  });

  it("lets annotators draw, move, classify, delete and restore; outsiders cannot", async () => {
    const annotator = as(f.users.annotator);
    const created = await annotator.fieldCell.create({
      projectId: f.projectId,
      imageId: f.fieldImageId,
      shape: box,
      classId: f.classIds.ig!,
    });
    expect(created.label?.classId).toBe(f.classIds.ig);
    const moved = await annotator.fieldCell.updateShape({
      projectId: f.projectId,
      cellId: created.cell.id,
      expectedVersion: 1,
      shape: { ...box, x: 25 },
    });
    expect(moved.version).toBe(2);
    const relabelled = await annotator.fieldCell.setClass({
      projectId: f.projectId,
      cellId: created.cell.id,
      classId: f.classIds.monocyte!,
      expectedVersion: 1,
    });
    expect(relabelled.version).toBe(2);
    const removed = await annotator.fieldCell.remove({ projectId: f.projectId, cellId: created.cell.id, expectedVersion: 2 });
    expect(removed.deletedAt).not.toBeNull();
    const image = await annotator.image.get({ projectId: f.projectId, imageId: f.fieldImageId });
    expect(image.cells.some((c) => c.cellId === created.cell.id)).toBe(false);
    await annotator.fieldCell.restore({ projectId: f.projectId, cellId: created.cell.id, expectedVersion: 3 });

    const outsider = as(f.users.outsider);
    expect((await trpcError(outsider.fieldCell.create({ projectId: f.projectId, imageId: f.fieldImageId, shape: box })))?.code).toBe(
      "FORBIDDEN",
    );
    // outsider leads the other project, but this image is not in it
    expect((await trpcError(outsider.fieldCell.create({ projectId: f.otherProjectId, imageId: f.fieldImageId, shape: box })))?.code).toBe(
      "NOT_FOUND",
    );
  });

  it("rejects bad input at the edge and in the service with BAD_REQUEST", async () => {
    const annotator = as(f.users.annotator);
    const bad = [
      { ...box, x: Number.NaN },
      { ...box, width: Number.POSITIVE_INFINITY },
      { ...box, width: 2 },
      { geometry: "polygon" as const, points: [[1, 1] as [number, number]] },
    ];
    for (const shape of bad) {
      const err = await trpcError(annotator.fieldCell.create({ projectId: f.projectId, imageId: f.fieldImageId, shape }));
      expect(err?.code, JSON.stringify(shape)).toBe("BAD_REQUEST");
    }
  });

  it("answers a stale edit over HTTP with 409 and the current cell", async () => {
    const annotator = as(f.users.annotator);
    const { cell } = await annotator.fieldCell.create({ projectId: f.projectId, imageId: f.fieldImageId, shape: box });
    await annotator.fieldCell.updateShape({ projectId: f.projectId, cellId: cell.id, expectedVersion: 1, shape: { ...box, y: 50 } });
    const res = await fetchRequestHandler({
      endpoint: "/api/trpc",
      req: new Request("http://localhost/api/trpc/fieldCell.updateShape", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(
          superjson.serialize({ projectId: f.projectId, cellId: cell.id, expectedVersion: 1, shape: { ...box, y: 60 } }),
        ),
      }),
      router: appRouter,
      createContext: () => ({ db: t.db, user: f.users.annotator }),
    });
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: { json: { data: { domain: { details: { current: { y: number; version: number } } } } } } };
    expect(body.error.json.data.domain.details.current).toMatchObject({ y: 50, version: 2 });
  });
});

import { afterAll, beforeAll } from "vitest";
import type { Db } from "../../src/client";
import { saveLabel } from "../../src/queries/labels";
import { createProjectFixture, type ProjectFixture } from "./project-fixture";
import { createTestDb, type DbKind, type TestDb } from "./test-db";

export type ProjectSuite = { db: Db; f: ProjectFixture };

/**
 * A throwaway database of the given kind holding the project fixture, for the suite this is called in:
 * made before its tests, closed after. The fields are set once beforeAll has run.
 */
export function useProjectSuite(kind: DbKind): ProjectSuite {
  const suite = {} as ProjectSuite;
  let t: TestDb | undefined;
  beforeAll(async () => {
    t = await createTestDb(kind);
    suite.db = t.db;
    suite.f = await createProjectFixture(t.db);
  });
  afterAll(async () => {
    await t?.close();
  });
  return suite;
}

/** The fixture's annotator labels a cell (a first human label, version 1). */
export function labelAsAnnotator({ db, f }: ProjectSuite, cellId: string, classKey: string) {
  return saveLabel(db, {
    cellId,
    classId: f.classIds[classKey]!,
    readerId: f.users.annotator.id,
    source: "human",
    expectedVersion: null,
    actorId: f.users.annotator.id,
  });
}

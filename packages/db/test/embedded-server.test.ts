import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type DbHandle } from "../src/client";
import { startEmbeddedServer, type EmbeddedServer } from "../src/embedded-server";
import { enqueueJob, getJob } from "../src/queries/jobs";
import { getSchemeByKey } from "../src/queries/schemes";
import { findEmbeddedServerUrl } from "../src/runtime-config";
import { seedBuiltInSchemes } from "../src/seed/seed-schemes";

describe("embedded database server (PGlite over the PostgreSQL protocol)", () => {
  let dir: string;
  let server: EmbeddedServer;
  const clients: DbHandle[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "hemaloop-embedded-"));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    server = await startEmbeddedServer({ dataDir: dir, pgliteDir: path.join(dir, "pglite"), port, prepare: (h) => seedBuiltInSchemes(h.db) });
    for (let i = 0; i < 3; i++) clients.push(await createDb({ url: server.url, maxConnections: 4 }));
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("advertises its URL to other processes while running", () => {
    expect(findEmbeddedServerUrl(dir)).toBe(server.url);
  });

  it("keeps concurrent parameterised queries from several connections apart", async () => {
    // Mixed statement shapes with different parameter counts: interleaved Bind messages would fail.
    const work = Array.from({ length: 120 }, async (_, i) => {
      const db = clients[i % clients.length]!.db;
      if (i % 3 === 0) {
        const created = await enqueueJob(db, { type: "predict", payload: { i }, priority: i });
        return (await getJob(db, created.id)).payload;
      }
      const scheme = await getSchemeByKey(db, i % 2 ? "pbc-8" : "wbc-5");
      return { i, classes: scheme.classes.length };
    });
    const results = await Promise.all(work);
    results.forEach((r, i) => {
      if (i % 3 === 0) expect(r).toEqual({ i });
      else expect(r).toEqual({ i, classes: i % 2 ? 8 : 5 });
    });
  });

  it("runs transactions from two connections without mixing them", async () => {
    const [a, b] = [clients[0]!.db, clients[1]!.db];
    const run = (db: typeof a, tag: string) =>
      db.transaction(async (tx) => {
        const j = await enqueueJob(tx, { type: "evaluate", payload: { tag } });
        await new Promise((r) => setTimeout(r, 20));
        return (await getJob(tx, j.id)).payload;
      });
    expect(await Promise.all([run(a, "a"), run(b, "b"), run(a, "a2")])).toEqual([{ tag: "a" }, { tag: "b" }, { tag: "a2" }]);
  });
});

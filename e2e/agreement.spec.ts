import { createDb } from "@hemaloop/db/client";
import {
  addProjectDataset,
  ensureDataset,
  ensureInstitution,
  ensureProject,
  getSchemeByKey,
  saveLabel,
  setMembership,
} from "@hemaloop/db/queries";
import { findEmbeddedServerUrl } from "@hemaloop/db/runtime-config";
import * as schema from "@hemaloop/db/schema";
import { expect, test } from "@playwright/test";
import { eq } from "drizzle-orm";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { logins, signIn } from "./helpers";

// A project of its own (so other specs' labels never change the numbers): 10 crops read by the demo
// annotator (A) and the demo reviewer (B); the demo lead looks at the agreement page.
//
//   cell  0 1 2 3 4 5 6 7 8 9
//   A     N N N N L L L M M N
//   B     N N N L L L M M N N
//
// Table rows A (N, L, M), columns B:  N (4,1,0)  L (0,2,1)  M (1,0,1).  n = 10, p_o = 7/10.
// Rows 5,3,2 and columns 5,3,2: p_e = (25 + 9 + 4)/100 = .38; kappa = (.70 - .38)/(1 - .38) = .32/.62 = 0.516.
// AC1 over pbc-8's 8 classes: pi = (10, 6, 4)/20; sum pi(1-pi) = .25 + .21 + .16 = .62; p_e = .62/7;
//   AC1 = (.7 - .62/7)/(1 - .62/7) = 4.28/6.38 = 0.671.  Disagreements (cells 3, 6, 8) await adjudication: 3.
const readingsA = [
  "neutrophil",
  "neutrophil",
  "neutrophil",
  "neutrophil",
  "lymphocyte",
  "lymphocyte",
  "lymphocyte",
  "monocyte",
  "monocyte",
  "neutrophil",
];
const readingsB = [
  "neutrophil",
  "neutrophil",
  "neutrophil",
  "lymphocyte",
  "lymphocyte",
  "lymphocyte",
  "monocyte",
  "monocyte",
  "neutrophil",
  "neutrophil",
];

const tag = randomBytes(3).toString("hex");
const slug = `agreement-${tag}`;

function e2eDatabaseUrl(): string {
  const stateFile = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "test-results", "e2e-server.json");
  const state = JSON.parse(readFileSync(stateFile, "utf8")) as { dataDir: string; databaseUrl: string | null };
  const url = state.databaseUrl ?? findEmbeddedServerUrl(state.dataDir);
  if (!url) throw new Error(`no database server is running for the e2e data dir ${state.dataDir}`);
  return url;
}

test.beforeAll(async () => {
  const handle = await createDb({ url: e2eDatabaseUrl(), maxConnections: 1 });
  try {
    const db = handle.db;
    const scheme = await getSchemeByKey(db, "pbc-8");
    const classId = (key: string) => scheme.classes.find((c) => c.key === key)!.id;
    const userId = async (email: string) => (await db.select().from(schema.user).where(eq(schema.user.email, email)))[0]!.id;
    const [lead, a, b] = [await userId(logins.lead.email), await userId(logins.annotator.email), await userId(logins.reviewer.email)];
    const inst = await ensureInstitution(db, `Agreement lab ${tag}`);
    const ds = await ensureDataset(db, { institutionId: inst.id, name: `double-read-${tag}`, schemeKey: "pbc-8" });
    const p = await ensureProject(db, { slug, name: `Agreement ${tag}`, schemeKey: "pbc-8" });
    await addProjectDataset(db, p.id, ds.id);
    await setMembership(db, { projectId: p.id, userId: lead, role: "lead" });
    await setMembership(db, { projectId: p.id, userId: a, role: "annotator" });
    await setMembership(db, { projectId: p.id, userId: b, role: "reviewer" });
    for (let i = 0; i < readingsA.length; i++) {
      const sha = `${tag}${String(i).padStart(5, "0")}`.padEnd(64, "0");
      const [img] = await db
        .insert(schema.image)
        .values({
          datasetId: ds.id,
          sha256: sha,
          kind: "crop",
          originalName: `${i}.jpg`,
          format: "jpeg",
          width: 10,
          height: 10,
          byteSize: 100,
          storageKey: `images/${sha}.jpg`,
          thumbnailKey: `thumbs/${sha}.webp`,
        })
        .returning();
      const [c] = await db.insert(schema.cell).values({ imageId: img!.id, geometry: "whole" }).returning();
      for (const [reader, key] of [
        [a, readingsA[i]!],
        [b, readingsB[i]!],
      ] as const) {
        await saveLabel(db, {
          cellId: c!.id,
          classId: classId(key),
          readerId: reader,
          source: "human",
          expectedVersion: null,
          actorId: reader,
        });
      }
    }
  } finally {
    await handle.close();
  }
});

test("a lead sees the hand-computed kappa and AC1 of two readers; an annotator may not look", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, logins.lead, `/projects/${slug}`);
  await page.getByTestId("agreement-link").click();
  await expect(page).toHaveURL(new RegExp(`/projects/${slug}/agreement`));

  const pair = page.getByTestId("agreement-pair");
  await expect(pair).toHaveCount(1);
  await expect(pair.locator("td").nth(2)).toHaveText("10");
  await expect(pair.getByTestId("pair-kappa")).toContainText("0.516");
  await expect(pair.getByTestId("pair-ac1")).toContainText("0.671");
  await expect(page.getByTestId("disagreements-not-adjudicated").locator(".value")).toHaveText("3");
  // The readers labelled the cells on their own (no blind double reading): no disagreement entered the adjudication queue.
  await expect(page.getByTestId("in-adjudication-queue").locator(".value")).toHaveText("0");
  // The heat map of the pair (classes used, in scheme order: lymphocyte, monocyte, neutrophil): 4 cells both called neutrophil.
  const heat = page.locator('[data-chart="confusion-matrix"]');
  await expect(heat).toBeVisible();
  await expect(heat.locator('[data-cell="2-2"] text')).toHaveText("4");
  await context.close();

  const annotator = await browser.newContext();
  const other = await annotator.newPage();
  await signIn(other, logins.annotator, `/projects/${slug}/agreement`);
  await expect(other.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  await annotator.close();
});

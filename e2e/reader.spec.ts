import { expect, test, type APIRequestContext, type Browser } from "@playwright/test";
import type postgres from "postgres";
import { openE2eDb } from "./db";
import { demoProject, logins, signIn } from "./helpers";

// The e2e server seeds a published model with predictions on 24 unlabelled cells of pbc-demo
// (scripts/seed-models.ts) and sets HEMALOOP_READER_LEASE_SECONDS=6.
const LEASE_MS = 6_000;

let sql: postgres.Sql;
test.beforeAll(() => {
  sql = openE2eDb();
});
test.afterAll(async () => {
  await sql?.end();
});

type Login = { email: string; password: string };

async function signedInContext(browser: Browser, login: Login, path = "/") {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, login, path);
  return { context, page };
}

/** A tRPC mutation through the signed-in context's cookies; the parsed result or a failed assertion. */
async function mutate<T>(request: APIRequestContext, path: string, input: Record<string, unknown>): Promise<T> {
  const res = await request.post(`/api/trpc/${path}`, { data: { json: { projectSlug: demoProject, ...input } } });
  expect(res.status(), `${path}: ${await res.text()}`).toBe(200);
  return ((await res.json()) as { result: { data: { json: T } } }).result.data.json;
}

type ClaimResult = { items: Array<{ id: string; cellId: string }>; leaseMs: number };

test("a lead ranks the review queue; a reviewer accepts, corrects and undoes with single keys", async ({ browser }) => {
  const lead = await signedInContext(browser, logins.lead, `/projects/${demoProject}/review`);
  await expect(lead.page.getByTestId("queue-chooser")).toBeVisible();
  await lead.page.getByRole("button", { name: "Rank queue" }).click();
  await expect(lead.page.getByRole("status")).toContainText(/Ranked: \d+ cells written/);
  await lead.context.close();

  const { context, page } = await signedInContext(browser, logins.reviewer, `/projects/${demoProject}/review`);
  await page.getByTestId("open-reader").click();
  await expect(page).toHaveURL(/\/read\?queue=review/);
  const item = page.getByTestId("reader-item");
  await expect(item).toBeVisible();

  // Everything a reader needs is on screen at 1280x800 without scrolling.
  for (const id of ["reader-crop", "reader-prediction", "reader-key-hint"]) {
    await expect(page.getByTestId(id)).toBeInViewport({ ratio: 1 });
  }
  await expect(page.getByTestId("reader-class").last()).toBeInViewport({ ratio: 1 });
  // Beside the crop, not below it (the panel once wrapped under it and pushed the class keys off screen).
  const crop = (await page.getByTestId("reader-crop").boundingBox())!;
  expect((await page.getByTestId("reader-prediction").boundingBox())!.x).toBeGreaterThan(crop.x + crop.width);
  await expect(page.getByTestId("reader-prediction")).toContainText(/\d+(\.\d+)?\s?%/);
  await expect(page.getByTestId("reader-key-hint")).toContainText("Enter");

  // 1. Accept the prediction with Enter.
  const accepted = (await item.getAttribute("data-cell-id"))!;
  const acceptedClass = (await page.getByTestId("reader-prediction").locator("[data-class-chip]").getAttribute("data-class-chip"))!;
  let decided = page.waitForResponse((r) => r.url().includes("/api/trpc/reading.decide"));
  await page.keyboard.press("Enter");
  expect((await decided).status()).toBe(200);
  await expect(page.getByTestId("reader-notice")).toHaveText(`Accepted: ${acceptedClass}`);
  await expect(item).not.toHaveAttribute("data-cell-id", accepted);

  // 2. Correct the next one with the shortcut of another class.
  const corrected = (await item.getAttribute("data-cell-id"))!;
  const predicted = (await page.getByTestId("reader-prediction").locator("[data-class-chip]").getAttribute("data-class-chip"))!;
  const other = page.getByTestId("reader-class").filter({ hasNotText: predicted }).first();
  const otherName = (await other.getAttribute("data-class-name"))!;
  const otherKey = (await other.getAttribute("data-shortcut"))!;
  decided = page.waitForResponse((r) => r.url().includes("/api/trpc/reading.decide"));
  await page.keyboard.press(otherKey);
  expect((await decided).status()).toBe(200);
  await expect(page.getByTestId("reader-notice")).toHaveText(`Labelled: ${otherName}`);
  await expect(item).not.toHaveAttribute("data-cell-id", corrected);

  // 3. Undo it with z: the cell comes back to this reader, unlabelled.
  const undone = page.waitForResponse((r) => r.url().includes("/api/trpc/reading.undo"));
  await page.keyboard.press("z");
  expect((await undone).status()).toBe(200);
  await expect(page.getByTestId("reader-notice")).toHaveText("Undone");
  await expect(item).toHaveAttribute("data-cell-id", corrected);
  await expect(page.getByTestId("reader-my-label")).toHaveCount(0);
  await context.close();

  // The database holds exactly the accepted label, and the history of both (of these two cells: the reviewer
  // also read blind in double-reading.spec.ts, which runs first).
  const [reviewer] = await sql<{ id: string }[]>`select id from "user" where email = ${logins.reviewer.email}`;
  const labels = await sql<{ cell_id: string; source: string; version: number; class_name: string }[]>`
    select l.cell_id, l.source, l.version, c.name as class_name
    from label l join class c on c.id = l.class_id
    where l.reader_id = ${reviewer!.id} and l.cell_id in ${sql([accepted, corrected])}`;
  expect(labels).toEqual([{ cell_id: accepted, source: "model_accepted", version: 1, class_name: acceptedClass }]);
  const history = await sql<{ cell_id: string; version: number; source: string; removed: boolean; class_name: string }[]>`
    select h.cell_id, h.version, h.source, h.removed, c.name as class_name
    from label_history h join class c on c.id = h.class_id
    where h.reader_id = ${reviewer!.id} and h.cell_id in ${sql([accepted, corrected])}
    order by h.cell_id = ${accepted} desc, h.version`;
  expect(history).toEqual([
    { cell_id: accepted, version: 1, source: "model_accepted", removed: false, class_name: acceptedClass },
    { cell_id: corrected, version: 1, source: "human", removed: false, class_name: otherName },
    { cell_id: corrected, version: 2, source: "human", removed: true, class_name: otherName },
  ]);
  const decisions = await sql<{ cell_id: string; action: string; undone: boolean }[]>`
    select cell_id, action, undone_at is not null as undone from review_decision
    where user_id = ${reviewer!.id} and cell_id in ${sql([accepted, corrected])} order by created_at`;
  expect(decisions).toEqual([
    { cell_id: accepted, action: "accept", undone: false },
    { cell_id: corrected, action: "correct", undone: true },
  ]);
});

test("two readers in parallel never get the same cell; an abandoned claim comes back after its lease", async ({ browser }) => {
  const lead = await signedInContext(browser, logins.lead);
  const built = await mutate<{ items: number }>(lead.context.request, "reading.build", { kind: "labeling" });
  expect(built.items).toBeGreaterThanOrEqual(40);

  const a = await signedInContext(browser, logins.annotator);
  const b = await signedInContext(browser, logins.reviewer);
  const seen = { a: new Set<string>(), b: new Set<string>() };
  // Several rounds of simultaneous claims: each tops up (and re-reads) what it holds.
  for (let round = 0; round < 3; round++) {
    const [ra, rb] = await Promise.all([
      mutate<ClaimResult>(a.context.request, "reading.claim", { kind: "labeling", hold: 20 }),
      mutate<ClaimResult>(b.context.request, "reading.claim", { kind: "labeling", hold: 20 }),
    ]);
    expect(ra.leaseMs).toBe(LEASE_MS);
    for (const it of ra.items) seen.a.add(it.cellId);
    for (const it of rb.items) seen.b.add(it.cellId);
  }
  expect(seen.a.size).toBe(20);
  expect(seen.b.size).toBe(20);
  expect([...seen.a].filter((c) => seen.b.has(c))).toEqual([]);

  // Reader A walks away; B keeps its page open (heartbeats); once A's leases lapse the lead gets A's cells.
  const early = await mutate<ClaimResult>(lead.context.request, "reading.claim", { kind: "labeling", hold: 5 });
  for (const it of early.items) {
    expect(seen.a.has(it.cellId) || seen.b.has(it.cellId), "a held cell was handed out before its lease ran out").toBe(false);
  }
  const deadline = Date.now() + LEASE_MS + 1_500;
  while (Date.now() < deadline) {
    await mutate<{ renewed: number }>(b.context.request, "reading.heartbeat", {});
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const later = await mutate<ClaimResult>(lead.context.request, "reading.claim", { kind: "labeling", hold: 20 });
  const taken = later.items.map((it) => it.cellId).filter((c) => !early.items.some((e) => e.cellId === c));
  expect(taken.length).toBeGreaterThan(0);
  expect(taken.filter((c) => seen.b.has(c))).toEqual([]);
  expect(taken.filter((c) => seen.a.has(c)).length).toBe(taken.length);
  await Promise.all([lead.context.close(), a.context.close(), b.context.close()]);
});

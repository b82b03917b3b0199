import { expect, test } from "@playwright/test";
import type postgres from "postgres";
import { openE2eDb } from "./db";
import { demoProject, logins, signIn } from "./helpers";

// The e2e server's trainer takes round jobs (they decode no image), and scripts/seed-models.ts gives the
// published model's predictions on 24 unlabelled cells embeddings, so a round has cells to rank. Other specs
// may have labelled or claimed some of them first: nothing here counts on which cells the round picks.

let sql: postgres.Sql;
test.beforeAll(() => {
  sql = openE2eDb();
});
test.afterAll(async () => {
  await sql?.end();
});

test("an annotator gets Not allowed on the rounds page", async ({ page }) => {
  await signIn(page, logins.annotator, `/projects/${demoProject}/rounds`);
  await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  await expect(page.getByTestId("start-round-form")).toHaveCount(0);
});

test("a lead starts a round, sees it finish, and the reader hands out the picked cells first in pick order", async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page, logins.lead, `/projects/${demoProject}/rounds`);
  await expect(page.getByRole("heading", { name: "Active-learning rounds" })).toBeVisible();
  const rows = page.getByTestId("round-row");
  const before = await rows.count();

  const form = page.getByTestId("start-round-form");
  await form.getByLabel("Strategy").selectOption("hybrid");
  await form.getByLabel("Batch size").fill("8");
  const started = page.waitForResponse((r) => r.url().includes("/api/trpc/alRound.start"));
  await form.getByRole("button", { name: "Start next round" }).click();
  expect((await started).status()).toBe(200);
  await expect(rows).toHaveCount(before + 1);

  // Newest first; the page refreshes itself while the round is queued or running.
  const row = rows.first();
  await expect(row).toHaveAttribute("data-status", "succeeded", { timeout: 120_000 });
  const cells = row.locator("td");
  const number = Number(await cells.nth(0).innerText());
  const picked = Number(await cells.nth(3).innerText());
  expect(picked).toBeGreaterThan(0);
  expect(picked).toBeLessThanOrEqual(8);
  // Only a few verified labels have embeddings here: a cold start, which the row explains.
  await expect(cells.nth(1)).toContainText("typiclust");
  await expect(cells.nth(1)).toContainText("asked hybrid");

  // The seeded models record no test split: the comparison says it cannot tell whether they share one.
  await expect(page.getByTestId("compare-evaluation-note")).toContainText("cannot be checked");

  // The round's picks in its order, as written into the labeling queue (first pick = highest priority).
  const picks = await sql<{ cell_id: string }[]>`
    select i.cell_id from review_queue_item i join project p on p.id = i.project_id
    where p.slug = ${demoProject} and i.kind = 'labeling' and i.strategy = ${`round-${number}`}
    order by i.priority desc`;
  expect(picks.length).toBeGreaterThan(0);
  expect(picks.length).toBeLessThanOrEqual(picked);
  const order = picks.map((p) => p.cell_id);

  // The reader claims them first, in that order, and shows the first pick.
  const claimed = page.waitForResponse((r) => r.url().includes("/api/trpc/reading.claim"));
  await page.getByRole("link", { name: "Labeling queue" }).click();
  const response = await claimed;
  expect(response.status()).toBe(200);
  const batch = (await response.json()) as Array<{ result: { data: { json: { items: Array<{ cellId: string }> } } } }>;
  const handedOut = batch[0]!.result.data.json.items.map((it) => it.cellId);
  expect(handedOut.slice(0, order.length)).toEqual(order.slice(0, handedOut.length));
  await expect(page.getByTestId("reader-item")).toHaveAttribute("data-cell-id", order[0]!);
});

test("a lead sets after how many new labels a round queues the fine-tune; the rounds page says so", async ({ page }) => {
  await signIn(page, logins.lead, `/projects/${demoProject}/settings`);
  const form = page.getByTestId("fine-tune-form");
  const input = form.getByRole("spinbutton");
  await expect(input).toHaveValue("200");
  // Above the default, so no spec's few labels ever reach it and queue a training job.
  await input.fill("350");
  const saved = page.waitForResponse((r) => r.url().includes("/api/trpc/project.setFineTuneEveryLabels"));
  await form.getByRole("button", { name: "Save" }).click();
  expect((await saved).status()).toBe(200);
  await expect(form.getByRole("status")).toHaveText("Saved.");
  await page.goto(`/projects/${demoProject}/rounds`);
  await expect(page.getByText(/A full fine-tune is queued by itself after 350 new verified labels/)).toBeVisible();
});

import { expect, test } from "@playwright/test";
import { demoProject, logins, signIn } from "./helpers";

// scripts/seed-models.ts (run by the e2e server) seeds these for pbc-demo.
const goodModel = "resnet-64px-demo";
const rejectedModel = "small-cnn-64px-collapsed";

test("the models page lists versions with status badges; a rejected one shows why", async ({ page }) => {
  await signIn(page, logins.lead, `/projects/${demoProject}/models`);
  await expect(page.getByRole("heading", { name: "Model versions" })).toBeVisible();
  const good = page.getByTestId("model-row").filter({ hasText: goodModel });
  await expect(good).toHaveAttribute("data-status", "ready");
  await expect(good.getByText("current", { exact: true })).toBeVisible();
  const rejected = page.getByTestId("model-row").filter({ hasText: rejectedModel });
  await expect(rejected).toHaveAttribute("data-status", "rejected");
  await expect(rejected.getByTestId("collapse-reasons")).toContainText(/neutrophil|chance/);
  // neither the current nor the rejected model can be published
  await expect(page.getByRole("button", { name: /^Publish/ })).toHaveCount(0);

  // the server refuses a rejected model with CONFLICT and the reasons
  const id = new URL(await rejected.getByRole("link", { name: rejectedModel }).evaluate((a) => (a as HTMLAnchorElement).href)).pathname
    .split("/")
    .pop();
  const res = await page.request.post("/api/trpc/model.publish", { data: { json: { projectSlug: demoProject, modelVersionId: id } } });
  expect(res.status()).toBe(409);
  const body = (await res.json()) as { error: { json: { data: { code: string; domain: { details: { collapseReasons: string[] } } } } } };
  expect(body.error.json.data.code).toBe("CONFLICT");
  expect(body.error.json.data.domain.details.collapseReasons.length).toBeGreaterThan(0);
});

test("a model page draws the confusion matrix, curves, ROC, reliability and per-class table", async ({ page }) => {
  await signIn(page, logins.annotator, `/projects/${demoProject}/models`);
  await page.getByRole("link", { name: goodModel }).click();
  await expect(page.getByRole("heading", { name: new RegExp(goodModel) })).toBeVisible();
  await expect(page.getByTestId("stat")).toHaveCount(5);
  await expect(page.getByTestId("summary")).toContainText("Balanced accuracy");

  const matrix = page.getByRole("img", { name: `Confusion matrix of ${goodModel}` });
  await expect(matrix).toBeVisible();
  expect(await matrix.evaluate((el) => el.tagName.toLowerCase())).toBe("svg");
  await expect(matrix.locator("[data-cell]")).toHaveCount(64); // 8 pbc-8 classes
  await expect(matrix.locator("text", { hasText: "Neutrophil" }).first()).toBeVisible();

  await expect(page.getByRole("img", { name: "Loss per epoch" })).toBeVisible();
  await expect(page.getByRole("img", { name: "Validation accuracy per epoch" })).toBeVisible();
  const roc = page.getByRole("img", { name: `ROC curves of ${goodModel}` });
  await expect(roc).toBeVisible();
  await expect(roc.locator("text", { hasText: /AUC N\/A/ })).toHaveCount(1); // ig is absent from the test split
  await expect(page.getByRole("img", { name: /Reliability diagram \(ECE/ })).toBeVisible();

  const table = page.getByTestId("metric-table");
  await expect(table.locator("tbody tr")).toHaveCount(8);
  await expect(table.locator('tr[data-class="ig"]')).toContainText("N/A");
  await expect(table.locator('[data-fnr-high="true"]').first()).toBeVisible(); // basophils are often missed
  // annotators see no publish button
  await expect(page.getByRole("button", { name: /^Publish/ })).toHaveCount(0);

  // its test split covers two sites: one row each, the weak one flagged against the whole split
  const sites = page.getByTestId("model-site-table");
  await expect(sites.getByTestId("site-row")).toHaveCount(2);
  await expect(sites.locator('[data-lagging="true"]')).toContainText("second-site");
  await expect(page.getByTestId("lagging-note")).toContainText("second-site");
});

test("a finished LODOCV run shows per-site rows with adaptation on and off, pooled and mean ± sd rows, and flags a lagging site", async ({
  page,
}) => {
  await signIn(page, logins.reviewer, `/projects/${demoProject}`);
  await page.getByRole("link", { name: "folds & results" }).first().click();
  await expect(page.getByRole("heading", { name: /Leave-one-dataset-out/ })).toBeVisible();
  await expect(page.getByTestId("fold")).toHaveCount(2);
  await expect(page.getByTestId("fold").first().getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
  const table = page.getByTestId("lodocv-table");
  await expect(table.getByTestId("site-row")).toHaveCount(2);
  await expect(table.locator("tr.pooled").first()).toContainText("Pooled");
  await expect(table.getByTestId("mean-sd")).toContainText("±");
  await expect(table).toContainText("N/A"); // bccd-demo has no basophils
  // The seed's larger site (56 cells) is scored with AdaBN and without; the other (22 cells) is too small to adapt.
  await expect(table.getByTestId("site-row-unadapted")).toHaveCount(1);
  await expect(table.getByTestId("site-row").first()).toContainText("on (");
  await expect(table).toContainText("fewer than 32 cells");
  await expect(table.locator("tr.pooled")).toHaveCount(2);
  // The seed's weaker site lags the pooled balanced accuracy by more than 10 points: badge and sentence.
  const lagging = table.locator('[data-lagging="true"]');
  await expect(lagging.getByTestId("lagging-badge")).toHaveCount(1);
  const laggingSite = (await lagging.locator("th").innerText()).replace(/lags pooled/i, "").trim();
  await expect(page.getByTestId("lagging-note")).toContainText(laggingSite);
  await expect(page.getByTestId("lodocv-progress")).toHaveAttribute("data-active", "false");
});

test("a lead runs LODOCV and Predict & rank from the project page; the LODOCV page polls while queued", async ({ page }) => {
  await signIn(page, logins.lead, `/projects/${demoProject}`);
  const lodocv = page.waitForResponse((r) => r.url().includes("/api/trpc/job.enqueueLodocv"));
  await page.getByRole("button", { name: "Run LODOCV" }).click();
  expect((await lodocv).status()).toBe(200);
  const queued = page.locator('[data-testid="job"][data-type="lodocv"][data-status="queued"]');
  await expect(queued).toHaveCount(1);
  await expect(queued.getByRole("progressbar")).toBeVisible();

  const predict = page.waitForResponse((r) => r.url().includes("/api/trpc/job.enqueuePredict"));
  await page.getByRole("button", { name: "Predict & rank" }).click();
  expect((await predict).status()).toBe(200);
  await expect(
    page.locator('[data-testid="job"][data-type="predict"][data-status="queued"]').first().getByRole("progressbar"),
  ).toBeVisible();

  // a second LODOCV run while one is queued is refused
  await page.getByRole("button", { name: "Run LODOCV" }).click();
  await expect(page.getByRole("status")).toContainText("already in progress");

  await queued.getByRole("link", { name: "folds & results" }).click();
  await expect(page.getByTestId("lodocv-progress")).toHaveAttribute("data-active", "true");
  await expect(page.getByText("Waiting for a trainer to plan the folds")).toBeVisible();
  // polling: job.get is fetched again within a few seconds
  const poll = await page.waitForResponse((r) => r.url().includes("/api/trpc/job.get"), { timeout: 8_000 });
  expect(poll.status()).toBe(200);
});

test("the review queue preview lists the most uncertain cells with thumbnails and predictions", async ({ page }) => {
  await signIn(page, logins.annotator, `/projects/${demoProject}`);
  await page.getByRole("link", { name: "Review queue" }).click();
  await expect(page.getByRole("heading", { name: "Review queue" })).toBeVisible();
  const items = page.getByTestId("review-item");
  await expect(items.first()).toBeVisible();
  expect(await items.count()).toBeGreaterThan(5);
  await expect(items.first().locator("[data-class-chip]")).toBeVisible();
  await expect(items.first()).toContainText("entropy");
  // ranked: priorities never increase down the list
  const priorities = await items.evaluateAll((els) => els.map((el) => Number(el.querySelector("dd")?.textContent)));
  expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
  // the thumbnail (or field crop) loads through /api/files
  const img = items.first().locator("img, .crop").first();
  await expect(img).toBeVisible();
});

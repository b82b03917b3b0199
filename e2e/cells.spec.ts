import { expect, test } from "@playwright/test";
import { demoProject, logins, signIn } from "./helpers";

/** The demo seed's crop dataset (packages/db/src/seed/seed-demo.ts, DEMO_PBC). */
const DEMO_PBC_DATASET = "pbc-demo";

test("the cells page shows thumbnails that load, with class chips", async ({ page }) => {
  // Scoped to the demo's own crop dataset (40 crops, one page): other specs upload more crops into the project.
  await signIn(page, logins.annotator, `/projects/${demoProject}/cells?kind=crop`);
  const filter = page.getByRole("form", { name: "Filter cells" });
  await filter.getByLabel("Dataset").selectOption({ label: DEMO_PBC_DATASET });
  await filter.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/[?&]dataset=/);
  await expect(filter).toContainText("40 cells");
  const grid = page.getByTestId("cell-grid");
  await expect(grid).toBeVisible();
  const thumbs = grid.getByTestId("cell-thumb");
  await expect(thumbs).toHaveCount(40);

  // Every thumbnail in view decoded to real pixels (served through /api/files with the session).
  const firstRow = thumbs.locator("nth=0");
  await firstRow.scrollIntoViewIfNeeded();
  for (let i = 0; i < 6; i++) {
    await expect.poll(() => thumbs.nth(i).evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0))).toBeGreaterThan(0);
  }
  // Imported label chips, coloured by class.
  const chips = grid.locator("[data-class-chip]");
  expect(await chips.count()).toBeGreaterThanOrEqual(40);
  const border = await chips.first().evaluate((el) => getComputedStyle(el).borderTopColor);
  expect(border).not.toBe("rgba(0, 0, 0, 0)");
});

test("pressing a class key labels the selected cell and it survives a reload", async ({ page }) => {
  await signIn(page, logins.annotator, `/projects/${demoProject}/cells?kind=crop`);
  const cells = page.getByTestId("cell");
  const target = cells.nth(1);
  const cellId = await target.getAttribute("data-cell-id");
  await target.click();
  await expect(target).toHaveAttribute("aria-pressed", "true");
  const response = page.waitForResponse((r) => r.url().includes("/api/trpc/label.save"));
  await page.keyboard.press("5"); // pbc-8 shortcut 5 = lymphocyte (5th class)
  expect((await response).status()).toBe(200);
  await expect(target.locator('[data-class-chip="Lymphocyte"][title^="your label"]')).toBeVisible();
  // auto-advance to the next cell
  await expect(cells.nth(2)).toHaveAttribute("aria-pressed", "true");

  await page.reload();
  const again = page.locator(`[data-cell-id="${cellId}"]`);
  await expect(again.locator('[data-class-chip="Lymphocyte"][title^="your label"]')).toBeVisible();
});

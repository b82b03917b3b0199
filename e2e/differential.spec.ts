import { expect, test, type Page } from "@playwright/test";
import { readFile } from "node:fs/promises";
import type postgres from "postgres";
import { openE2eDb } from "./db";
import { demoProject, logins, signIn } from "./helpers";

let sql: postgres.Sql;
test.beforeAll(() => {
  sql = openE2eDb();
});
test.afterAll(async () => {
  await sql?.end();
});

/** Total per class key as the counts table shows it (data-total of each row). */
async function readCounts(page: Page): Promise<Map<string, number>> {
  const rows = page.locator("[data-testid^='count-']");
  await expect(rows.first()).toBeVisible();
  const counts = new Map<string, number>();
  for (const row of await rows.all()) {
    const key = (await row.getAttribute("data-testid"))!.slice("count-".length);
    counts.set(key, Number(await row.getAttribute("data-total")));
  }
  return counts;
}

test("differential: select two crops, press a class key, counts move, reload keeps them, CSV has the counts", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await signIn(page, logins.annotator, `/projects/${demoProject}/differential`);
  await expect(page.getByTestId("diff-summary")).toBeVisible();
  const before = await readCounts(page);

  // A gallery with at least two crops, and a class key of another class to move them to.
  const gallery = page
    .locator("[data-testid='diff-gallery']:not([data-class-id='none'])")
    .filter({ has: page.getByTestId("diff-cell").nth(1) })
    .first();
  await expect(gallery).toBeVisible();
  const fromClassId = (await gallery.getAttribute("data-class-id"))!;
  const cells = gallery.getByTestId("diff-cell");
  const first = cells.nth(0);
  const second = cells.nth(1);
  const ids = [(await first.getAttribute("data-cell-id"))!, (await second.getAttribute("data-cell-id"))!];

  // click + shift-click: a range of two
  await first.click();
  await second.click({ modifiers: ["Shift"] });
  await expect(page.getByTestId("diff-selected")).toHaveText("2 selected");
  await expect(first).toHaveAttribute("aria-pressed", "true");
  await expect(second).toHaveAttribute("aria-pressed", "true");

  // The target class: the first class chip whose gallery is not the one the crops are in.
  const chips = page.getByTestId("diff-class-key");
  const n = await chips.count();
  let key = "";
  let toKey = "";
  let toClassId = "";
  for (let i = 0; i < n; i++) {
    const c = chips.nth(i);
    if ((await c.getAttribute("data-class-id")) !== fromClassId && (await c.getAttribute("data-shortcut"))) {
      key = (await c.getAttribute("data-shortcut"))!;
      toKey = (await c.getAttribute("data-class-key"))!;
      toClassId = (await c.getAttribute("data-class-id"))!;
      break;
    }
  }
  expect(key).not.toBe("");
  const fromKey = (await page.locator(`[data-testid='diff-class-key'][data-class-id='${fromClassId}']`).getAttribute("data-class-key"))!;

  const saved = page.waitForResponse((r) => r.url().includes("/api/trpc/differential.reclassify"));
  await page.keyboard.press(key);
  expect((await saved).status()).toBe(200);
  await expect(page.getByTestId(`count-${toKey}`)).toHaveAttribute("data-total", String((before.get(toKey) ?? 0) + 2));
  await expect(page.getByTestId(`count-${fromKey}`)).toHaveAttribute("data-total", String(before.get(fromKey)! - 2));
  await expect(page.getByTestId("diff-selected")).toHaveText("0 selected");
  // The two crops are now in the target class's gallery.
  const toGallery = page.locator(`[data-testid='diff-gallery'][data-class-id='${toClassId}']`);
  for (const id of ids) await expect(toGallery.locator(`[data-cell-id='${id}']`)).toBeVisible();

  // What the screen shows is in the database: the annotator's own labels, source human.
  const rows = await sql<Array<{ cell_id: string; source: string; class_id: string }>>`
    select l.cell_id, l.source, l.class_id from label l join "user" u on u.id = l.reader_id
    where u.email = ${logins.annotator.email} and l.cell_id in ${sql(ids)}`;
  expect(rows.map((r) => [r.source, r.class_id])).toEqual([
    ["human", toClassId],
    ["human", toClassId],
  ]);

  await page.reload();
  const after = await readCounts(page);
  expect(after.get(toKey)).toBe((before.get(toKey) ?? 0) + 2);
  expect(after.get(fromKey)).toBe(before.get(fromKey)! - 2);

  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export CSV" }).click();
  const file = await (await download).path();
  const lines = (await readFile(file, "utf8")).trim().split("\n");
  expect(lines[0]).toBe("scope,class_key,class_name,labelled,predicted,total,percent");
  const csvTotal = (k: string) => Number(lines.find((l) => l.split(",")[1] === k)!.split(",")[5]);
  expect(csvTotal(toKey)).toBe(after.get(toKey));
  expect(csvTotal(fromKey)).toBe(after.get(fromKey));
});

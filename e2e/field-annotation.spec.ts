import { expect, type Page, test } from "@playwright/test";
import { demoProject, logins, signIn } from "./helpers";

/** Screen position (page px) of an image pixel, from the transform the canvas publishes on every frame. */
async function imageToPage(page: Page, x: number, y: number) {
  const canvas = page.getByTestId("field-canvas");
  await expect(canvas).toHaveAttribute("data-transform", /.+/);
  const [scale, ox, oy] = (await canvas.getAttribute("data-transform"))!.split(",").map(Number) as [number, number, number];
  const box = (await canvas.boundingBox())!;
  return { x: box.x + x * scale + ox, y: box.y + y * scale + oy, scale };
}

async function waitSaved(page: Page) {
  await expect(page.getByTestId("save-state")).toHaveText("All changes saved");
}

test("draw a box on a field, label it with a class key, reload, move it, undo", async ({ page }) => {
  // Three page loads and eight saves: more than the default minute on a busy machine.
  test.setTimeout(180_000);
  await signIn(page, logins.annotator, `/projects/${demoProject}`);
  await page.getByTestId("field-link").first().click();
  await expect(page.getByTestId("deep-zoom-viewer")).toHaveAttribute("data-ready", "true");
  const rows = page.getByTestId("field-cells").getByRole("button");
  const before = await rows.count();

  // Box tool, drag 60 screen px from an empty spot near the image's top-left corner, clear of the zoom
  // buttons OpenSeadragon puts in the viewer's top-left corner (a press there hits a button, not the image).
  await page.keyboard.press("b");
  const start = await imageToPage(page, 60, 40);
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  await page.mouse.move(start.x + 30, start.y + 30, { steps: 4 });
  await page.mouse.move(start.x + 60, start.y + 60, { steps: 4 });
  await page.mouse.up();
  await expect(rows).toHaveCount(before + 1);
  await waitSaved(page);
  const cellId = await page.getByTestId("field-canvas").getAttribute("data-selected-id");
  expect(cellId).toMatch(/^[0-9a-f-]{36}$/);

  // Class key "1" labels the selected (new) cell.
  await page.keyboard.press("1");
  await waitSaved(page);
  const row = page.locator(`[data-cell-id="${cellId}"]`);
  const bounds = await row.getAttribute("data-bounds");

  await page.reload();
  await expect(page.getByTestId("deep-zoom-viewer")).toHaveAttribute("data-ready", "true");
  await expect(rows).toHaveCount(before + 1);
  await expect(row).toHaveAttribute("data-bounds", bounds!);
  const chipText = await row.textContent();
  expect(chipText).not.toContain("unlabelled");

  // Select it on the canvas and drag it 20 screen px right.
  await page.keyboard.press("v");
  const [bx, by, bw, bh] = bounds!.split(",").map(Number) as [number, number, number, number];
  const centre = await imageToPage(page, bx + bw / 2, by + bh / 2);
  await page.mouse.click(centre.x, centre.y);
  await expect(page.getByTestId("field-canvas")).toHaveAttribute("data-selected-id", cellId!);
  await page.mouse.move(centre.x, centre.y);
  await page.mouse.down();
  await page.mouse.move(centre.x + 10, centre.y, { steps: 3 });
  await page.mouse.move(centre.x + 20, centre.y, { steps: 3 });
  await page.mouse.up();
  await waitSaved(page);
  const moved = await row.getAttribute("data-bounds");
  expect(Number(moved!.split(",")[0])).toBeGreaterThan(bx);

  // Ctrl+Z puts it back (a server mutation): still there after a reload.
  await page.keyboard.press("Control+z");
  await waitSaved(page);
  await expect(row).toHaveAttribute("data-bounds", bounds!);
  await page.reload();
  await expect(row).toHaveAttribute("data-bounds", bounds!);

  // Delete removes it for good (soft delete); Ctrl+Z brings it back.
  await expect(page.getByTestId("deep-zoom-viewer")).toHaveAttribute("data-ready", "true");
  await row.click();
  await page.keyboard.press("Delete");
  await waitSaved(page);
  await expect(row).toHaveCount(0);
  await page.keyboard.press("Control+z");
  await waitSaved(page);
  await expect(row).toHaveCount(1);

  // Nothing selected: class key "2" picks the class new cells get; the next box is saved with it in one call.
  await expect(page.getByTestId("field-canvas")).toHaveAttribute("data-selected-id", "");
  await page.keyboard.press("2");
  await expect(page.getByTestId("draw-class")).not.toContainText("unlabelled");
  const drawClass = (await page.getByTestId("draw-class").textContent())!.replace("New cells:", "").trim();
  await page.keyboard.press("b");
  // The row click above zoomed the view onto the restored cell (focusCell): a fixed image spot such as
  // (300, 20) is now off screen and the drag never reaches the canvas. Draw just right of that cell,
  // which is in view whatever the zoom.
  const second = await imageToPage(page, bx + bw + 4, by);
  await page.mouse.move(second.x, second.y);
  await page.mouse.down();
  await page.mouse.move(second.x + 40, second.y + 40, { steps: 4 });
  await page.mouse.up();
  await expect(rows).toHaveCount(before + 2);
  await waitSaved(page);
  const secondId = await page.getByTestId("field-canvas").getAttribute("data-selected-id");
  expect(secondId).not.toBe(cellId);
  await page.reload();
  await expect(page.locator(`[data-cell-id="${secondId}"]`)).toContainText(drawClass);
});

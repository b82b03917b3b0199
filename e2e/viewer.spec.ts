import { expect, test } from "@playwright/test";
import { demoProject, logins, signIn } from "./helpers";

test("the field viewer opens a BCCD field with box overlays", async ({ page }) => {
  await signIn(page, logins.lead, `/projects/${demoProject}`);
  const fieldLink = page.getByTestId("field-link").first();
  await expect(fieldLink).toBeVisible();
  const dzi = page.waitForResponse((r) => r.url().includes("/api/files/dz/") && r.url().endsWith(".dzi"));
  const tile = page.waitForResponse((r) => /\/api\/files\/dz\/.+_files\/\d+\/\d+_\d+\.\w+$/.test(r.url()));
  await fieldLink.click();
  await expect(page).toHaveURL(new RegExp(`/projects/${demoProject}/fields/[0-9a-f-]{36}$`));

  expect((await dzi).status()).toBe(200);
  const tileResponse = await tile;
  expect(tileResponse.status()).toBe(200);
  expect(tileResponse.headers()["content-type"]).toMatch(/^image\//);

  const viewer = page.getByTestId("deep-zoom-viewer");
  await expect(viewer).toHaveAttribute("data-ready", "true");
  // Cells are drawn on one canvas (not one DOM node each): it holds every listed cell and has been painted.
  const canvas = page.getByTestId("field-canvas");
  const rows = page.getByTestId("field-cells").getByRole("button");
  expect(await rows.count()).toBeGreaterThan(0);
  await expect(canvas).toHaveAttribute("data-cell-count", String(await rows.count()));
  await expect(canvas).toHaveAttribute("data-transform", /.+/);
  const painted = await canvas.evaluate((el: HTMLCanvasElement) => {
    const data = el.getContext("2d")!.getImageData(0, 0, el.width, el.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
    return n;
  });
  expect(painted).toBeGreaterThan(100);

  // Selecting a cell in the list selects it on the canvas.
  await rows.first().click();
  await expect(canvas).toHaveAttribute("data-selected-id", (await rows.first().getAttribute("data-cell-id"))!);
});

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
  const boxes = page.locator(".hl-osd-box--saved");
  await expect(boxes.first()).toBeVisible();
  const rows = page.getByTestId("field-cells").getByRole("button");
  expect(await boxes.count()).toBe(await rows.count());
  expect(await boxes.count()).toBeGreaterThan(0);

  // Boxes sit inside the viewer and have a real size.
  const vb = (await viewer.boundingBox())!;
  const bb = (await boxes.first().boundingBox())!;
  expect(bb.width).toBeGreaterThan(2);
  expect(bb.x).toBeGreaterThanOrEqual(vb.x - 1);

  // Selecting a cell in the list highlights its box, in place: overlays are keyed by id, not rebuilt.
  await boxes.evaluateAll((els) => els.forEach((el) => el.setAttribute("data-e2e-mark", "kept")));
  await rows.first().click();
  await expect(page.locator(".hl-osd-box--selected")).toHaveCount(1);
  await expect(page.locator(".hl-osd-box--selected")).toHaveAttribute("data-e2e-mark", "kept");
  expect(await page.locator('.hl-osd-box--saved[data-e2e-mark="kept"]').count()).toBe(await rows.count());
});

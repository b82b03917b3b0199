import { expect, test } from "@playwright/test";
import { demoProject, logins, signIn } from "./helpers";

test("image files are refused without a session and served with one", async ({ page, browser }) => {
  await signIn(page, logins.annotator, `/projects/${demoProject}/cells?kind=crop`);
  const src = await page.getByTestId("cell-thumb").first().getAttribute("src");
  expect(src).toMatch(/^\/api\/files\/thumbs\//);

  const ok = await page.request.get(src!);
  expect(ok.status()).toBe(200);
  expect(ok.headers()["content-type"]).toBe("image/webp");
  expect(ok.headers()["cache-control"]).toContain("private");

  const anonymous = await browser.newContext();
  try {
    const refused = await anonymous.request.get(new URL(src!, page.url()).toString());
    expect([401, 403]).toContain(refused.status());
    const traversal = await page.request.get("/api/files/images/..%2F..%2F..%2Fetc%2Fpasswd");
    expect([400, 404]).toContain(traversal.status());
  } finally {
    await anonymous.close();
  }
});

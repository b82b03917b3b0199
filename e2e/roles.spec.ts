import { expect, test } from "@playwright/test";
import { demoProject, logins, signIn } from "./helpers";

test("an annotator cannot start training: no button, and the server answers FORBIDDEN", async ({ page }) => {
  await signIn(page, logins.annotator, `/projects/${demoProject}`);
  await expect(page.getByRole("heading", { name: "Training jobs" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Start training" })).toHaveCount(0);

  // Call the procedure directly with the annotator's session cookie.
  const res = await page.request.post("/api/trpc/job.enqueueTrain", {
    data: { json: { projectSlug: demoProject } },
  });
  expect(res.status()).toBe(403);
  const body = (await res.json()) as { error: { json: { data: { code: string } } } };
  expect(body.error.json.data.code).toBe("FORBIDDEN");
});

test("a lead starts training and sees the queued job with a progress bar", async ({ page }) => {
  await signIn(page, logins.lead, `/projects/${demoProject}`);
  const before = await page.getByTestId("job").count();
  const response = page.waitForResponse((r) => r.url().includes("/api/trpc/job.enqueueTrain"));
  await page.getByRole("button", { name: "Start training" }).click();
  expect((await response).status()).toBe(200);
  await expect(page.getByTestId("job")).toHaveCount(before + 1);
  await expect(page.getByTestId("job").first().getByRole("progressbar")).toBeVisible();
});

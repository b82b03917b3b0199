import { expect, test } from "@playwright/test";
import { demoProject, logins, signIn } from "./helpers";

test("signing in with the demo login shows the PBC demo project", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in/);
  await signIn(page, logins.lead);
  await expect(page).toHaveURL(/\/$/);
  const card = page.getByTestId(`project-${demoProject}`);
  await expect(card).toBeVisible();
  await card.click();
  await expect(page).toHaveURL(new RegExp(`/projects/${demoProject}$`));
  await expect(page.getByTestId("datasets")).toContainText("pbc-demo");
  await expect(page.getByTestId("datasets")).toContainText("bccd-demo");
  await expect(page.getByTestId("datasets")).toContainText("CellaVision DM96");
  // the class label bar chart lists the pbc-8 classes
  await expect(page.locator("[data-bar]")).toHaveCount(8);
});

test("a wrong password shows an error and no session", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(logins.lead.email);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("sign-in-error")).toHaveText(/wrong email or password/i);
  await expect(page.getByTestId("current-user")).toHaveCount(0);
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in/);
});

test("signed-out visitors are sent to sign-in and come back after it", async ({ page }) => {
  await page.goto(`/projects/${demoProject}/cells`);
  await expect(page).toHaveURL(/\/sign-in\?callbackUrl=/);
  await page.getByLabel("Email").fill(logins.reviewer.email);
  await page.getByLabel("Password").fill(logins.reviewer.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(new RegExp(`/projects/${demoProject}/cells$`));
});

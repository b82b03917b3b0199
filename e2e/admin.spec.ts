import { expect, test } from "@playwright/test";
import { logins, signIn } from "./helpers";

test("an admin creates a user with a one-time password and names them institution admin; the user must change it first", async ({
  page,
  browser,
}) => {
  const tag = Date.now().toString(36);
  const email = `new-${tag}@example.org`;
  const institutionName = `St Elsewhere ${tag}`;

  // The demo lead is a system admin.
  await signIn(page, logins.lead, "/admin");
  await expect(page.getByRole("heading", { name: "Administration" })).toBeVisible();
  await expect(page.getByTestId("admin-link")).toBeVisible();

  await page.getByRole("link", { name: /Users/ }).first().click();
  await expect(page.getByRole("heading", { name: "Users", exact: true })).toBeVisible();
  const newUser = page.getByRole("form", { name: "New user" });
  await newUser.getByLabel("Email").fill(email);
  await newUser.getByLabel("Name").fill("New Hematologist");
  await newUser.getByRole("button", { name: "Create user" }).click();
  const oneTimePassword = (await page.getByTestId("one-time-password").textContent())?.trim() ?? "";
  expect(oneTimePassword.length).toBeGreaterThanOrEqual(20);
  await expect(page.locator(`[data-testid="user-row"][data-email="${email}"]`)).toContainText("one-time password");

  await page.goto("/admin/institutions");
  const newInstitution = page.getByRole("form", { name: "New institution" });
  await newInstitution.getByLabel("Name").fill(institutionName);
  await newInstitution.getByLabel("Country").fill("NL");
  await newInstitution.getByRole("button", { name: "Create institution" }).click();
  const row = page.locator(`[data-testid="institution-row"][data-name="${institutionName}"]`);
  await expect(row).toBeVisible();
  await row.getByLabel("Admin email").fill(email);
  await row.getByRole("button", { name: "Add admin" }).click();
  await expect(row.getByTestId("institution-admin")).toContainText(email);

  // The new user, in a browser of their own.
  const context = await browser.newContext();
  const userPage = await context.newPage();
  await signIn(userPage, { email, password: oneTimePassword });
  await expect(userPage).toHaveURL(/\/account\/password$/);
  await expect(userPage.getByTestId("password-change-required")).toBeVisible();
  // Nothing else opens until the password is changed, and the API refuses too.
  await userPage.goto("/");
  await expect(userPage).toHaveURL(/\/account\/password$/);
  const api = await userPage.request.get("/api/trpc/project.mine");
  expect(api.status()).toBe(403);

  const form = userPage.getByRole("form", { name: "Change password" });
  await form.getByLabel("Current password").fill(oneTimePassword);
  await form.getByLabel("New password", { exact: true }).fill("my-own-password-42");
  await form.getByLabel("Repeat new password").fill("my-own-password-42");
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(userPage.getByRole("heading", { name: "My projects" })).toBeVisible();
  await expect(userPage).toHaveURL(/\/$/);
  expect((await userPage.request.get("/api/trpc/project.mine")).status()).toBe(200);
  await expect(userPage.getByTestId("admin-link")).toHaveCount(0);
  await context.close();
});

test("a non-admin sees no admin link and gets the forbidden page at /admin", async ({ page }) => {
  await signIn(page, logins.annotator);
  await expect(page.getByTestId("admin-link")).toHaveCount(0);
  await page.goto("/admin/users");
  await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  await expect(page.getByTestId("users")).toHaveCount(0);
  const res = await page.request.get("/api/trpc/admin.users.list");
  expect(res.status()).toBe(403);
});

import { expect, test } from "@playwright/test";
import { logins, signIn } from "./helpers";

// The demo lead is a system admin and admin of the demo institutions, so may create projects.
test("an admin creates a pbc-8 project with a dataset, adds a member by email, and the member sees it", async ({ page, browser }) => {
  const slug = `e2e-${Date.now().toString(36)}`;
  await signIn(page, logins.lead, "/projects/new");
  const form = page.getByTestId("new-project-form");
  await form.getByLabel("Name").fill("E2E project");
  await form.getByLabel(/^Slug/).fill(slug);
  await form.getByLabel("Class scheme").selectOption("pbc-8");
  await form.getByRole("checkbox", { name: /pbc-demo/ }).check();
  await form.getByRole("button", { name: "Create project" }).click();
  await page.waitForURL(`**/projects/${slug}`);
  await expect(page.getByRole("heading", { name: "E2E project" })).toBeVisible();
  await expect(page.getByTestId("datasets")).toContainText("pbc-demo");

  // A taken slug is refused with a clear message.
  await page.goto("/projects/new");
  await page.getByTestId("new-project-form").getByLabel("Name").fill("Again");
  await page.getByTestId("new-project-form").getByLabel(/^Slug/).fill(slug);
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page.getByTestId("new-project-form").getByRole("alert")).toContainText("already exists");

  await page.goto(`/projects/${slug}/members`);
  const add = page.getByTestId("add-member");
  await add.getByLabel("Email").fill(logins.reviewer.email);
  await add.getByLabel("Role").selectOption("annotator");
  await add.getByRole("button", { name: "Add member" }).click();
  await expect(page.getByTestId(`member-${logins.reviewer.email}`)).toBeVisible();
  await expect(page.getByLabel(`Role of ${logins.reviewer.email}`)).toHaveValue("annotator");

  const other = await browser.newContext();
  try {
    const memberPage = await other.newPage();
    await signIn(memberPage, logins.reviewer, "/");
    await expect(memberPage.getByTestId(`project-${slug}`)).toBeVisible();
    await memberPage.getByTestId(`project-${slug}`).click();
    await expect(memberPage.getByRole("heading", { name: "E2E project" })).toBeVisible();
    await expect(memberPage.getByText("annotator", { exact: true })).toBeVisible();
  } finally {
    await other.close();
  }
});

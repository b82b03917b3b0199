import { expect, type Page } from "@playwright/test";

/** Accounts created by the demo seed (packages/db/src/seed/seed-demo.ts). */
export const logins = {
  lead: { email: "demo@hemaloop.local", password: "hemaloop-demo" },
  annotator: { email: "annotator@hemaloop.local", password: "hemaloop-annotator" },
  reviewer: { email: "reviewer@hemaloop.local", password: "hemaloop-reviewer" },
} as const;

export const demoProject = "pbc-demo";

export async function signIn(page: Page, login: { email: string; password: string }, callbackUrl = "/"): Promise<void> {
  await page.goto(`/sign-in?callbackUrl=${encodeURIComponent(callbackUrl)}`);
  await page.getByLabel("Email").fill(login.email);
  await page.getByLabel("Password").fill(login.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("current-user")).toBeVisible();
}

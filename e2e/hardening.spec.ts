import { expect, type APIRequestContext, type Page, test } from "@playwright/test";
import { logins, signIn } from "./helpers";
import { startOidcProvider } from "./scripts/oidc-provider.mjs";

const EXPECTED_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "strict-origin-when-cross-origin",
};

function expectSecurityHeaders(headers: Record<string, string>, what: string) {
  for (const [name, value] of Object.entries(EXPECTED_HEADERS)) expect(headers[name], `${name} on ${what}`).toBe(value);
  const csp = headers["content-security-policy"] ?? "";
  expect(csp, `CSP on ${what}`).toContain("frame-ancestors 'none'");
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("object-src 'none'");
}

test("every kind of response carries the security headers, and the app still runs under its CSP", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  const signInPage = await page.goto("/sign-in");
  expectSecurityHeaders(signInPage!.headers(), "the sign-in page");
  for (const path of ["/", "/api/trpc/project.mine", "/api/files/images/ab/x.jpg", "/api/auth/session", "/osd-images/home_rest.png"]) {
    const res = await page.request.get(path, { maxRedirects: 0 });
    expectSecurityHeaders(res.headers(), path);
  }
  await signIn(page, logins.lead);
  await expect(page.getByTestId("current-user")).toBeVisible();
  expect(violations).toEqual([]);
});

async function postCredentials(request: APIRequestContext, email: string, password: string) {
  const { csrfToken } = (await (await request.get("/api/auth/csrf")).json()) as { csrfToken: string };
  return request.post("/api/auth/callback/credentials", {
    form: { email, password, csrfToken, callbackUrl: "/" },
    maxRedirects: 0,
  });
}

test("ten wrong passwords lock the account (429, password unchecked) until the window ends", async ({ page }) => {
  test.setTimeout(120_000); // ten sign-in round trips (each one scrypt) plus waiting out the window
  const login = logins.reviewer;
  for (let i = 0; i < 10; i++) {
    const res = await postCredentials(page.request, login.email, `wrong-${i}`);
    expect(res.status(), `attempt ${i + 1}`).toBe(302);
    expect(res.headers()["location"]).toContain("error=CredentialsSignin");
  }
  const locked = await postCredentials(page.request, login.email, login.password);
  expect(locked.status()).toBe(429);
  const retryAfter = Number(locked.headers()["retry-after"]);
  expect(retryAfter).toBeGreaterThan(0);

  // The form refuses the right password too while locked, and says why.
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(login.email);
  await page.getByLabel("Password").fill(login.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("sign-in-error")).toHaveText(/too many failed sign-ins\. try again in \d+ seconds?\./i);

  // The e2e server runs with HEMALOOP_SIGNIN_WINDOW_SECONDS=20 (the window starts at the first failure).
  expect(retryAfter).toBeLessThanOrEqual(20);
  await page.waitForTimeout(retryAfter * 1000 + 500);
  await signIn(page, login);
  await expect(page.getByTestId("current-user")).toBeVisible();
});

test("sign-in never redirects off-site, whatever the callbackUrl", async ({ page }) => {
  for (const evil of ["//evil.example/", "/\\evil.example", "https://evil.example/", "/%2F%2Fevil.example", "javascript:alert(1)"]) {
    // Leave the signed-in page first: a request it still has in flight would set the session cookie again.
    await page.goto("about:blank");
    await page.context().clearCookies();
    await page.goto(`/sign-in?callbackUrl=${encodeURIComponent(evil)}`);
    await page.getByLabel("Email").fill(logins.annotator.email);
    await page.getByLabel("Password").fill(logins.annotator.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("current-user")).toBeVisible();
    expect(new URL(page.url()).host, evil).toMatch(/^localhost:\d+$/);
  }
});

test.describe("single sign-on through an OpenID Connect provider", () => {
  let idp: { close: () => Promise<void> } | undefined;
  test.beforeAll(async () => {
    idp = await startOidcProvider({ appOrigin: `http://localhost:${process.env.E2E_PORT ?? 3217}` });
  });
  test.afterAll(async () => idp?.close());

  async function signInAtIdp(page: Page, login: string) {
    await page.goto("/sign-in");
    await page.getByTestId("sign-in-sso").click();
    await expect(page).toHaveURL(/localhost:\d+\/interaction\//);
    await page.locator("input[name=login]").fill(login);
    await page.locator("input[name=password]").fill("anything");
    await page.getByRole("button", { name: "Sign-in" }).click();
    const consent = page.getByRole("button", { name: "Continue" });
    if (await consent.isVisible({ timeout: 3_000 }).catch(() => false)) await consent.click();
  }

  test("an IdP identity with a verified email signs in as the existing account", async ({ page }) => {
    await page.goto("/sign-in");
    await expect(page.getByTestId("sign-in-sso")).toHaveText("Continue with Test Hospital");
    await signInAtIdp(page, logins.annotator.email);
    await expect(page.getByTestId("current-user")).toBeVisible();
    await expect(page.getByTestId("current-user")).not.toContainText("IdP name of");
    expect(new URL(page.url()).port).toBe(String(process.env.E2E_PORT ?? 3217));
  });

  test("no account for the email: refused with a clear message, nothing created", async ({ page }) => {
    await signInAtIdp(page, "stranger@hospital.example");
    await expect(page.getByTestId("sign-in-refused")).toContainText("No HemaLoop account");
    await page.goto("/");
    await expect(page).toHaveURL(/\/sign-in/);
  });

  test("an unverified email is refused", async ({ page }) => {
    await signInAtIdp(page, `unverified.${logins.annotator.email}`);
    await expect(page.getByTestId("sign-in-refused")).toContainText("did not confirm your email");
    await page.goto("/");
    await expect(page).toHaveURL(/\/sign-in/);
  });
});

import { expect, test, type Browser, type Page } from "@playwright/test";
import type postgres from "postgres";
import { openE2eDb } from "./db";
import { demoProject, logins, signIn } from "./helpers";

let sql: postgres.Sql;
test.beforeAll(() => {
  sql = openE2eDb();
});
test.afterAll(async () => {
  await sql?.end();
});

async function signedInContext(browser: Browser, login: { email: string; password: string }, path = "/") {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signIn(page, login, path);
  return { context, page };
}

/** Sets the double-reading share on the review page's lead panel; returns the cells picked. */
async function setShare(page: Page, percent: string): Promise<number> {
  await page.goto(`/projects/${demoProject}/review`);
  const panel = page.getByTestId("double-reading-panel");
  await panel.locator('input[name="double-reading-share"]').fill(percent);
  await panel.getByTestId("double-reading-save").click();
  const notice = panel.getByTestId("double-reading-notice");
  await expect(notice).toContainText(/Saved: \d+ cells/);
  return Number(/Saved: (\d+) cells/.exec((await notice.textContent()) ?? "")![1]);
}

/** Opens the blind double-reading queue; returns the current cell and the claim response's body. */
async function openBlindReader(page: Page) {
  const claimed = page.waitForResponse((r) => r.url().includes("/api/trpc/reading.claim"));
  await page.goto(`/projects/${demoProject}/read?queue=double_reading`);
  const body = await (await claimed).text();
  const item = page.getByTestId("reader-item");
  await expect(item).toBeVisible();
  return { cellId: (await item.getAttribute("data-cell-id"))!, body };
}

test("two blind readers disagree on a cell, a lead adjudicates it, the label is adjudicated", async ({ browser }) => {
  test.setTimeout(180_000); // three signed-in browsers and a dozen round trips on a shared machine
  const lead = await signedInContext(browser, logins.lead, `/projects/${demoProject}/review`);
  // About 10 % of the demo's cells, picked by a seeded hash; a share, not a dataset, so other specs keep their cells.
  expect(await setShare(lead.page, "10")).toBeGreaterThan(0);

  const a = await signedInContext(browser, logins.annotator);
  const b = await signedInContext(browser, logins.reviewer);
  const first = await openBlindReader(a.page);
  const second = await openBlindReader(b.page);
  // Round 2 of the first reader's cell goes to the second reader (same order, round 1 taken).
  expect(second.cellId).toBe(first.cellId);
  const cellId = first.cellId;

  // Blind: no prediction in the page nor in the tRPC response.
  const [pred] = await sql<{ confidence: number; name: string }[]>`
    select p.confidence, c.name from prediction p join project pr on pr.current_model_version_id = p.model_version_id
    join class c on c.id = p.predicted_class_id where pr.slug = ${demoProject} and p.cell_id = ${cellId}`;
  for (const { page, body } of [
    { page: a.page, body: first.body },
    { page: b.page, body: second.body },
  ]) {
    await expect(page.getByTestId("reader-blind")).toBeVisible();
    await expect(page.getByTestId("reader-prediction")).toHaveCount(0);
    await expect(page.getByText("Model:")).toHaveCount(0);
    expect(body).not.toContain('"predictedClassId"');
    expect(body).not.toContain('"confidence"');
    if (pred) expect(body).not.toContain(String(pred.confidence));
  }

  // The two readers choose different classes.
  const classA = a.page.getByTestId("reader-class").nth(0);
  const classB = b.page.getByTestId("reader-class").nth(1);
  const nameA = (await classA.getAttribute("data-class-name"))!;
  const nameB = (await classB.getAttribute("data-class-name"))!;
  for (const [page, key, name] of [
    [a.page, (await classA.getAttribute("data-shortcut"))!, nameA],
    [b.page, (await classB.getAttribute("data-shortcut"))!, nameB],
  ] as const) {
    const decided = page.waitForResponse((r) => r.url().includes("/api/trpc/reading.decide"));
    await page.keyboard.press(key);
    expect((await decided).status()).toBe(200);
    await expect(page.getByTestId("reader-notice")).toHaveText(`Labelled: ${name}`);
  }
  await Promise.all([a.context.close(), b.context.close()]);

  // The lead sees the disagreement with both readings and the prediction, and decides.
  await lead.page.goto(`/projects/${demoProject}/review`);
  await expect(lead.page.getByTestId("open-adjudication")).toContainText(/[1-9]\d* awaiting/);
  await lead.page.getByTestId("open-adjudication").click();
  await expect(lead.page).toHaveURL(/\/read\?queue=adjudication/);
  const item = lead.page.getByTestId("adjudication-item");
  await expect(item).toHaveAttribute("data-cell-id", cellId);
  const readings = lead.page.getByTestId("adjudication-reading");
  await expect(readings).toHaveCount(2);
  await expect(lead.page.getByTestId("adjudication-readings")).toContainText(nameA);
  await expect(lead.page.getByTestId("adjudication-readings")).toContainText(nameB);
  await expect(lead.page.getByTestId("adjudication-prediction")).toBeVisible();
  const adjudicated = lead.page.waitForResponse((r) => r.url().includes("/api/trpc/reading.adjudicate"));
  await lead.page.getByTestId("adjudication-class").filter({ hasText: nameB }).first().click();
  expect((await adjudicated).status()).toBe(200);
  await expect(lead.page.getByTestId("adjudication-notice")).toHaveText(`Adjudicated: ${nameB}`);

  const labels = await sql<{ source: string; name: string; email: string }[]>`
    select l.source::text as source, c.name, u.email from label l join class c on c.id = l.class_id join "user" u on u.id = l.reader_id
    where l.cell_id = ${cellId} and l.reader_id is not null`;
  const byEmail = (x: { email: string }, y: { email: string }) => x.email.localeCompare(y.email);
  expect([...labels].sort(byEmail)).toEqual(
    [
      { source: "adjudicated", name: nameB, email: logins.lead.email },
      { source: "human", name: nameA, email: logins.annotator.email },
      { source: "human", name: nameB, email: logins.reviewer.email },
    ].sort(byEmail),
  );
  const [audit] = await sql<{ n: number }[]>`select count(*)::int as n from audit_event where action = 'review.adjudicate'`;
  expect(audit!.n).toBeGreaterThanOrEqual(1);

  // Double reading off again: undecided items leave, the other queues get their cells back.
  expect(await setShare(lead.page, "0")).toBe(0);
  await lead.context.close();
});

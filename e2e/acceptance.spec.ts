import { type Browser, type BrowserContext, expect, type Page, test } from "@playwright/test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import yazl from "yazl";
import { findEmbeddedServerUrl } from "@hemaloop/db/runtime-config";
import { type EmptyStack, startEmptyStack } from "./scripts/empty-stack";

// Issue 14's acceptance path, on a HemaLoop of its own (scripts/empty-stack.ts: `npm start` on a fresh data
// dir, no demo): nothing here depends on what other specs did to the shared e2e server.
// Real data from the shared data folder (its README); a clone without it falls back to the committed demo
// fixture (40 PBC crops, the same BCCD field), so the path still runs, on fewer images.
const dataRoot = process.env.HEMALOOP_SHARED_DATA ?? "/work/shared/data";
const fixtureRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "demo");
const pbcDir = existsSync(path.join(dataRoot, "pbc", "images")) ? path.join(dataRoot, "pbc", "images") : path.join(fixtureRoot, "pbc");
const bccdDir = existsSync(path.join(dataRoot, "bccd", "Annotations")) ? path.join(dataRoot, "bccd") : path.join(fixtureRoot, "bccd");
const PER_CLASS = 13; // 8 classes x 13 = 104 real PBC crops (40 from the fixture)

type Entry = { name: string; data: Buffer };

async function zipOf(entries: Entry[]): Promise<Buffer> {
  const zipFile = new yazl.ZipFile();
  for (const e of entries) zipFile.addBuffer(e.data, e.name);
  zipFile.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zipFile.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** ~100 real PBC crops in <class>/<image> folders plus three planted bad files. */
async function buildPbcUpload(): Promise<{ zip: Buffer; images: Entry[] }> {
  const classes = (await readdir(pbcDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  const images: Entry[] = [];
  for (const cls of classes.sort()) {
    for (const file of (await readdir(path.join(pbcDir, cls))).sort().slice(0, PER_CLASS)) {
      images.push({ name: `${cls}/${file}`, data: await readFile(path.join(pbcDir, cls, file)) });
    }
  }
  const first = images[0]!;
  const planted: Entry[] = [
    { name: "neutrophil/truncated.jpg", data: first.data.subarray(0, 300) },
    { name: "lymphocyte/readme.jpg", data: Buffer.from("not an image, just text\n".repeat(30)) },
    { name: "unknown-class/cell.jpg", data: images[1]!.data },
  ];
  return { zip: await zipOf([...images, ...planted]), images };
}

/** One BCCD smear field as Pascal VOC (Annotations/ + JPEGImages/): a field with boxes. */
async function buildFieldUpload(): Promise<{ zip: Buffer; image: Entry; pbc8Boxes: number }> {
  const name = "BloodImage_00000";
  const image = { name: `${name}.jpg`, data: await readFile(path.join(bccdDir, "JPEGImages", `${name}.jpg`)) };
  const xml = await readFile(path.join(bccdDir, "Annotations", `${name}.xml`));
  // In pbc-8 only "Platelets" names a class; the WBC / RBC boxes come in unlabelled.
  const pbc8Boxes = (xml.toString().match(/<name>Platelets<\/name>/g) ?? []).length;
  const zip = await zipOf([
    { name: `Annotations/${name}.xml`, data: xml },
    { name: `JPEGImages/${image.name}`, data: image.data },
  ]);
  return { zip, image, pbc8Boxes };
}

async function signIn(page: Page, email: string, password: string, callbackUrl = "/") {
  await page.goto(`/sign-in?callbackUrl=${encodeURIComponent(callbackUrl)}`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("current-user")).toBeVisible();
}

/** Upload through the project's upload page into a new dataset; resolves when the import job is done. */
async function upload(page: Page, slug: string, opts: { dataset: string; institution: string; file: string; zip: Buffer }) {
  await page.goto(`/projects/${slug}/upload`);
  const form = page.getByTestId("upload-form");
  await form.getByLabel("New dataset").check();
  await form.getByLabel("Name").fill(opts.dataset);
  await form.getByLabel("Institution").selectOption({ label: opts.institution });
  await form.getByLabel("Class scheme").selectOption("pbc-8");
  await form.getByLabel("Site").fill("Acceptance lab");
  await page.getByTestId("upload-files").setInputFiles({ name: opts.file, mimeType: "application/zip", buffer: opts.zip });
  await form.getByRole("button", { name: "Upload and import" }).click();
  const job = page.getByTestId("import-job");
  await expect(job.getByTestId("import-status")).toHaveText("succeeded", { timeout: 90_000 });
  return job;
}

async function countsOf(job: ReturnType<Page["getByTestId"]>) {
  const text = (await job.getByTestId("import-counts").textContent()) ?? "";
  const [imported, duplicates, rejected] = [...text.matchAll(/\d+/g)].map((m) => Number(m[0]));
  return { imported, duplicates, rejected };
}

/** The dataset filter of the cells page: "<n> cells" for one dataset. */
async function cellCount(page: Page, slug: string, dataset: string): Promise<number> {
  await page.goto(`/projects/${slug}/cells`);
  const filter = page.getByRole("form", { name: "Filter cells" });
  await filter.getByLabel("Dataset").selectOption({ label: dataset });
  await filter.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/[?&]dataset=/);
  await expect(filter).toContainText(/\d+ cells?/);
  return Number((await filter.textContent())!.match(/(\d+) cells?/)![1]);
}

let stack: EmptyStack;
const contexts: BrowserContext[] = [];
async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ baseURL: stack.baseURL });
  contexts.push(context);
  return context.newPage();
}

test.beforeAll(async () => {
  test.setTimeout(240_000);
  stack = await startEmptyStack();
});

test.afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await stack?.stop();
});

test("acceptance: from an empty database to labels, a field box and a COCO round trip", async ({ browser }) => {
  test.setTimeout(300_000);
  const slug = "acceptance-lab";
  const lab = "Acceptance Lab";
  const annotatorEmail = "annotator@acceptance.example";

  // First run: the launcher says how to create the first admin; the CLI prints the password once.
  expect(stack.output()).toContain("npm run admin -- create-admin");
  const created = await stack.cli("admin", ["create-admin", "--email", "admin@acceptance.example", "--name", "Lab Admin"]);
  const adminPassword = created.match(/password: (\S+)/)![1]!;

  const admin = await newPage(browser);
  await signIn(admin, "admin@acceptance.example", adminPassword, "/admin");
  await expect(admin.getByRole("heading", { name: "Administration" })).toBeVisible();

  // A user (one-time password) and an institution.
  await admin.goto("/admin/users");
  const newUser = admin.getByRole("form", { name: "New user" });
  await newUser.getByLabel("Email").fill(annotatorEmail);
  await newUser.getByLabel("Name").fill("Ann Otator");
  await newUser.getByRole("button", { name: "Create user" }).click();
  const oneTimePassword = (await admin.getByTestId("one-time-password").textContent())!.trim();
  expect(oneTimePassword.length).toBeGreaterThanOrEqual(20);
  await admin.goto("/admin/institutions");
  const newInstitution = admin.getByRole("form", { name: "New institution" });
  await newInstitution.getByLabel("Name").fill(lab);
  await newInstitution.getByLabel("Country").fill("NL");
  await newInstitution.getByRole("button", { name: "Create institution" }).click();
  await expect(admin.locator(`[data-testid="institution-row"][data-name="${lab}"]`)).toBeVisible();

  // Another institution with a private dataset (headless, as a scripted deployment would): never shared.
  await stack.cli("admin", ["institution", "add", "--name", "Other Hospital"]);
  const tmp = mkdtempSync(path.join(os.tmpdir(), "hemaloop-acceptance-zip-"));
  try {
    const otherZip = path.join(tmp, "other.zip");
    const { zip: pbcZip, images } = await buildPbcUpload();
    writeFileSync(otherZip, await zipOf(images.slice(0, 3)));
    await stack.cli("import", ["--zip", otherZip, "--institution", "Other Hospital", "--dataset", "Other private", "--scheme", "pbc-8"]);

    // A pbc-8 project (no dataset yet: the lab uploads its own).
    await admin.goto("/projects/new");
    const form = admin.getByTestId("new-project-form");
    await form.getByLabel("Name").fill("Acceptance lab");
    await form.getByLabel(/^Slug/).fill(slug);
    await form.getByLabel("Class scheme").selectOption("pbc-8");
    await form.getByRole("button", { name: "Create project" }).click();
    await admin.waitForURL(`**/projects/${slug}`);

    // ~100 real crops + planted bad files: the rejections are listed by name and reason.
    const crops = await upload(admin, slug, { dataset: "Lab crops", institution: lab, file: "lab-crops.zip", zip: pbcZip });
    expect(await countsOf(crops)).toEqual({ imported: images.length, duplicates: 0, rejected: 3 });
    const rows = crops.getByTestId("import-rejections").locator("tbody tr");
    await expect(rows).toHaveCount(3);
    const rejectionRows = await rows.evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")),
    );
    const rejections: Record<string, string> = Object.fromEntries(rejectionRows.map(([file, reason]) => [file ?? "", reason ?? ""]));
    expect(Object.keys(rejections).sort()).toEqual(["lymphocyte/readme.jpg", "neutrophil/truncated.jpg", "unknown-class/cell.jpg"]);
    for (const reason of Object.values(rejections)) expect(reason).toMatch(/\w{4,}/);

    const { zip: fieldZip, image: fieldImage, pbc8Boxes } = await buildFieldUpload();
    const field = await upload(admin, slug, { dataset: "Lab fields", institution: lab, file: "lab-fields.zip", zip: fieldZip });
    expect((await countsOf(field)).imported).toBe(1);

    // The user joins as annotator.
    await admin.goto(`/projects/${slug}/members`);
    const add = admin.getByTestId("add-member");
    await add.getByLabel("Email").fill(annotatorEmail);
    await add.getByLabel("Role").selectOption("annotator");
    await add.getByRole("button", { name: "Add member" }).click();
    await expect(admin.getByLabel(`Role of ${annotatorEmail}`)).toHaveValue("annotator");

    // The annotator signs in (the one-time password must be changed first) and labels crops by keyboard.
    const ann = await newPage(browser);
    await signIn(ann, annotatorEmail, oneTimePassword);
    await expect(ann).toHaveURL(/\/account\/password$/);
    const change = ann.getByRole("form", { name: "Change password" });
    await change.getByLabel("Current password").fill(oneTimePassword);
    await change.getByLabel("New password", { exact: true }).fill("annotator-own-password-1");
    await change.getByLabel("Repeat new password").fill("annotator-own-password-1");
    await change.getByRole("button", { name: "Change password" }).click();
    await expect(ann.getByTestId(`project-${slug}`)).toBeVisible();

    await ann.goto(`/projects/${slug}/cells?kind=crop`);
    const cells = ann.getByTestId("cell");
    await cells.first().click();
    for (const [i, key] of [
      [0, "5"],
      [1, "3"],
    ] as const) {
      await expect(cells.nth(i)).toHaveAttribute("aria-pressed", "true");
      const saved = ann.waitForResponse((r) => r.url().includes("/api/trpc/label.save"));
      await ann.keyboard.press(key);
      expect((await saved).status()).toBe(200);
    }
    await expect(cells.nth(0).locator('[data-class-chip="Lymphocyte"][title^="your label"]')).toBeVisible();

    // ... and draws a box on the field and labels it with a class key.
    await ann.goto(`/projects/${slug}`);
    await ann.getByTestId("field-link").first().click();
    await expect(ann.getByTestId("deep-zoom-viewer")).toHaveAttribute("data-ready", "true");
    const fieldRows = ann.getByTestId("field-cells").getByRole("button");
    const before = await fieldRows.count();
    expect(before).toBeGreaterThan(0); // the VOC boxes
    await ann.keyboard.press("b");
    const canvas = ann.getByTestId("field-canvas");
    await expect(canvas).toHaveAttribute("data-transform", /.+/);
    const [scale, ox, oy] = (await canvas.getAttribute("data-transform"))!.split(",").map(Number) as [number, number, number];
    const cbox = (await canvas.boundingBox())!;
    // Middle of the image (BCCD fields are 640 x 480): clear of the zoom buttons in the top-left corner.
    const start = { x: cbox.x + 300 * scale + ox, y: cbox.y + 220 * scale + oy };
    await ann.mouse.move(start.x, start.y);
    await ann.mouse.down();
    await ann.mouse.move(start.x + 25, start.y + 25, { steps: 3 });
    await ann.mouse.move(start.x + 50, start.y + 50, { steps: 3 });
    await ann.mouse.up();
    await expect(fieldRows).toHaveCount(before + 1);
    await expect(ann.getByTestId("save-state")).toHaveText("All changes saved");
    const boxId = await canvas.getAttribute("data-selected-id");
    await ann.keyboard.press("1");
    await expect(ann.getByTestId("save-state")).toHaveText("All changes saved");
    await ann.reload();
    await expect(ann.locator(`[data-cell-id="${boxId}"]`)).toContainText("Basophil");

    // The annotator never sees the other institution's private dataset: hidden in the UI, NOT_FOUND from the server.
    const sql = postgres(findEmbeddedServerUrl(stack.dataDir)!, { max: 1, onnotice: () => {} });
    let privateId: string;
    let projectId: string;
    try {
      [{ id: privateId }] = (await sql`select id from dataset where name = 'Other private'`) as unknown as [{ id: string }];
      [{ id: projectId }] = (await sql`select id from project where slug = ${slug}`) as unknown as [{ id: string }];
    } finally {
      await sql.end();
    }
    await ann.goto(`/projects/${slug}/cells`);
    const datasetOptions = await ann.getByRole("form", { name: "Filter cells" }).getByLabel("Dataset").locator("option").allTextContents();
    expect(datasetOptions.join("|")).toContain("Lab crops");
    expect(datasetOptions.join("|")).not.toContain("Other private");
    const input = encodeURIComponent(JSON.stringify({ json: { projectId, datasetId: privateId } }));
    const refused = await ann.request.get(`/api/trpc/cell.list?input=${input}`);
    expect(refused.status()).toBe(404);
    expect(JSON.stringify(await refused.json())).toContain("NOT_FOUND");
    // ... and cannot open the admin area.
    await expect(ann.getByTestId("admin-link")).toHaveCount(0);
    await ann.goto("/admin");
    await expect(ann.getByRole("heading", { name: "Not allowed" })).toBeVisible();
    expect((await ann.request.get("/api/trpc/admin.users.list")).status()).toBe(403);

    // The lead (the project's admin) exports COCO from the project page ...
    await admin.goto(`/projects/${slug}`);
    const href = await admin.getByTestId("export-links").getByRole("link", { name: "COCO JSON" }).getAttribute("href");
    const exported = await admin.request.get(href!);
    expect(exported.status()).toBe(200);
    const coco = (await exported.json()) as {
      images: Array<{ id: number; file_name: string; hemaloop_original_name: string }>;
      annotations: Array<{ image_id: number; category_id: number }>;
      categories: Array<{ id: number; name: string }>;
    };
    // every crop (imported class), the field's platelet boxes and the drawn box; unlabelled boxes are left out
    const annotated = new Set(coco.annotations.map((a) => a.image_id));
    expect(coco.annotations.length).toBe(images.length + pbc8Boxes + 1);

    // ... and re-imports it, with the image files beside the JSON, into a new dataset through the upload page.
    const bytesByName = new Map<string, Buffer>([
      ...images.map((e) => [path.basename(e.name), e.data] as const),
      [fieldImage.name, fieldImage.data],
    ]);
    const roundTrip: Entry[] = [{ name: "export.coco.json", data: await exported.body() }];
    for (const image of coco.images) {
      const data = bytesByName.get(path.basename(image.hemaloop_original_name));
      expect(data, image.hemaloop_original_name).toBeDefined();
      roundTrip.push({ name: image.file_name, data: data! });
    }
    const again = await upload(admin, slug, {
      dataset: "Round trip",
      institution: lab,
      file: "round-trip.zip",
      zip: await zipOf(roundTrip),
    });
    expect(await countsOf(again)).toEqual({ imported: coco.images.length, duplicates: 0, rejected: 0 });
    expect(coco.images.filter((i) => annotated.has(i.id)).length).toBe(images.length + 1);
    expect(new Set(coco.annotations.map((a) => a.category_id)).size).toBeGreaterThan(1);
    expect(await cellCount(admin, slug, "Round trip")).toBe(coco.annotations.length);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

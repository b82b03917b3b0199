import { expect, test } from "@playwright/test";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import yazl from "yazl";
import { demoProject, logins, signIn } from "./helpers";

const fixtureDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "demo", "pbc");

type Entry = { name: string; data: Buffer };

/** 20 real PBC crops in <class>/<image> folders, 2 byte-identical copies and 3 planted bad files. */
async function buildUploadZip(): Promise<{ zip: Buffer; images: Entry[] }> {
  const classes = (await readdir(fixtureDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && d.name !== "images")
    .map((d) => d.name)
    .sort();
  const images: Entry[] = [];
  for (const cls of classes) {
    for (const file of (await readdir(path.join(fixtureDir, cls))).sort().slice(0, 3)) {
      images.push({ name: `${cls}/${file}`, data: await readFile(path.join(fixtureDir, cls, file)) });
    }
  }
  images.splice(20);
  expect(images).toHaveLength(20);
  const [first, second] = images as [Entry, Entry];
  const entries: Entry[] = [
    ...images,
    // the same bytes under another name: duplicates, not new images
    { name: first.name.replace(/[^/]+$/, "copy-of-first.jpg"), data: first.data },
    { name: second.name.replace(/[^/]+$/, "copy-of-second.jpg"), data: second.data },
    // planted: a path that escapes the archive, a truncated JPEG, a text file named .jpg
    { name: "xx/evil.jpg", data: second.data },
    { name: "neutrophil/corrupt.jpg", data: first.data.subarray(0, 400) },
    { name: "basophil/notes.jpg", data: Buffer.from("these are my notes, not an image\n".repeat(20)) },
  ];
  const zipFile = new yazl.ZipFile();
  for (const e of entries) zipFile.addBuffer(e.data, e.name);
  zipFile.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zipFile.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  const zip = Buffer.concat(chunks);
  // Zip writers refuse to write "../": rename the entry in the local and central headers (same length).
  const needle = Buffer.from("xx/evil.jpg");
  for (let at = zip.indexOf(needle); at >= 0; at = zip.indexOf(needle, at + 1)) Buffer.from("../evil.jpg").copy(zip, at);
  return { zip, images };
}

test("a lead uploads a zip from the browser: progress, counts, named rejections, and the cells appear", async ({ page }) => {
  test.setTimeout(120_000);
  const { zip } = await buildUploadZip();
  const datasetName = `Leeds upload ${Date.now().toString(36)}`;

  await signIn(page, logins.lead, `/projects/${demoProject}`);
  await page.getByTestId("upload-link").click();
  await expect(page.getByRole("heading", { name: "Upload images" })).toBeVisible();

  const form = page.getByTestId("upload-form");
  await form.getByLabel("New dataset").check();
  await form.getByLabel("Name").fill(datasetName);
  await form.getByLabel("Class scheme").selectOption("pbc-8");
  await form.getByLabel("Site").fill("Leeds");
  await form.getByLabel("Device").fill("CellaVision DM96");
  await form.getByLabel("Stain").fill("May-Grünwald Giemsa");
  await form.getByLabel("Magnification").fill("100x");
  await form.getByLabel("Licence").fill("CC BY 4.0");
  await page.getByTestId("upload-files").setInputFiles({ name: "leeds-batch.zip", mimeType: "application/zip", buffer: zip });

  // A slow uplink (about 5 s for the zip) so the upload progress bar is on screen long enough to see.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: Math.ceil(zip.length / 5),
  });
  const uploaded = page.waitForResponse((r) => r.url().includes(`/api/projects/${demoProject}/uploads`) && r.request().method() === "POST");
  await form.getByRole("button", { name: "Upload and import" }).click();
  const progress = page.getByTestId("upload-progress");
  await expect(progress.getByRole("progressbar")).toBeVisible();
  await expect(progress).toContainText(/Uploading \d+\.\d \/ \d+\.\d MiB/);
  expect((await uploaded).status()).toBe(201);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

  // The trainer (import jobs only, as `npm start` runs one) picks the job up and reports the result.
  const job = page.getByTestId("import-job");
  await expect(job.getByTestId("import-status")).toHaveText("succeeded", { timeout: 60_000 });
  await expect(job.getByTestId("import-counts")).toHaveText("Imported 20 · duplicates 2 · rejected 3");
  const rows = job.getByTestId("import-rejections").locator("tbody tr");
  await expect(rows).toHaveCount(3);
  const cells = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")));
  const rejections: Record<string, string> = Object.fromEntries(cells.map(([file, reason]) => [file ?? "", reason ?? ""]));
  expect(Object.keys(rejections).sort()).toEqual(["../evil.jpg", "basophil/notes.jpg", "neutrophil/corrupt.jpg"]);
  expect(rejections["../evil.jpg"]).toMatch(/escapes the archive/);
  for (const file of ["basophil/notes.jpg", "neutrophil/corrupt.jpg"]) expect(rejections[file]).not.toBe("");

  // The new dataset is attached to the project: its 20 cells are on the cells page, thumbnails loading.
  await page.goto(`/projects/${demoProject}/cells`);
  const filter = page.getByRole("form", { name: "Filter cells" });
  await filter.getByLabel("Dataset").selectOption({ label: datasetName });
  await filter.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/[?&]dataset=/);
  await expect(filter).toContainText("20 cells");
  const thumbs = page.getByTestId("cell-grid").getByTestId("cell-thumb");
  await expect(thumbs).toHaveCount(20);
  await expect.poll(() => thumbs.first().evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0))).toBeGreaterThan(0);
  await expect(page.getByTestId("cell-grid").locator("[data-class-chip]").first()).toBeVisible();
});

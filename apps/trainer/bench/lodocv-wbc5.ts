/**
 * wbc-5 leave-one-dataset-out benchmark through the product itself: import PBC (pbc-8, mapped to
 * wbc-5 by the built-in mapping) and the two Zheng 2018 sites (wbc-5) into an embedded database,
 * create a wbc-5 project over the three datasets, run the LODOCV plan + fold jobs with the trainer's
 * handlers, and print the per-site table.
 *
 *   npx tsx apps/trainer/bench/lodocv-wbc5.ts [--data ../shared/data] [--minutes 12] [--backbone resnet]
 *     [--input-size 64] [--out lodocv-wbc5.json]
 */
import { addProjectDataset, createDb, enqueueJob, ensureProject, getJob, seedBuiltInSchemes } from "@hemaloop/db";
import { importImages } from "@hemaloop/db/import";
import { createLocalStorage } from "@hemaloop/db/storage";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createLodocvHandler, type LodocvParentResult } from "../src/handlers/lodocv-handler";
import { runWorker } from "../src/worker";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const { values } = parseArgs({
  options: {
    data: { type: "string", default: path.resolve(root, "../shared/data") },
    minutes: { type: "string", default: "12" },
    backbone: { type: "string", default: "resnet" },
    "input-size": { type: "string", default: "64" },
    out: { type: "string" },
  },
});
const dataDir = path.resolve(values.data);
const work = await mkdtemp(path.join(tmpdir(), "hemaloop-lodocv-bench-"));
const storage = createLocalStorage(path.join(work, "storage"));
const handle = await createDb();
await handle.migrate();
await seedBuiltInSchemes(handle.db);
const t0 = performance.now();

// The Zheng manifest is one CSV for both sites; give each site its own class-folder copy.
const zhengRows = (await readFile(path.join(dataDir, "zheng2018", "manifest.csv"), "utf8")).trim().split(/\r?\n/).slice(1);
for (const line of zhengRows) {
  const [file, label, site] = line.split(",");
  const dest = path.join(work, "zheng", site!, label!, path.basename(file!));
  await mkdir(path.dirname(dest), { recursive: true });
  await copyFile(path.join(dataDir, "zheng2018", file!), dest);
}
const sources = [
  {
    dataset: "pbc",
    institution: "Hospital Clinic Barcelona",
    scheme: "pbc-8",
    source: { kind: "manifest" as const, file: path.join(dataDir, "pbc", "manifest.csv") },
  },
  {
    dataset: "zheng-site1",
    institution: "Jiangxi Tecom (Zheng 2018)",
    scheme: "wbc-5",
    source: { kind: "dir" as const, dir: path.join(work, "zheng", "site1") },
  },
  {
    dataset: "zheng-site2",
    institution: "CellaVision set (Zheng 2018)",
    scheme: "wbc-5",
    source: { kind: "dir" as const, dir: path.join(work, "zheng", "site2") },
  },
];
const project = await ensureProject(handle.db, { slug: "lodocv-wbc5", name: "wbc-5 LODOCV", schemeKey: "wbc-5" });
for (const s of sources) {
  const r = await importImages(handle.db, storage, {
    source: s.source,
    institution: s.institution,
    dataset: s.dataset,
    schemeKey: s.scheme,
    maxImagePixels: 50_000_000,
  });
  console.log(`[bench] imported ${s.dataset}: imported=${r.imported} duplicates=${r.duplicates} rejected=${r.rejected.length}`);
  await addProjectDataset(handle.db, project.id, r.datasetId);
}
const importSeconds = (performance.now() - t0) / 1000;

const plan = await enqueueJob(handle.db, {
  type: "lodocv",
  projectId: project.id,
  payload: { role: "plan", backbone: values.backbone, inputSize: Number(values["input-size"]), timeBudgetMinutes: Number(values.minutes) },
});
const stop = new AbortController();
const worker = runWorker({
  db: handle.db,
  workerId: "bench",
  handlers: { lodocv: createLodocvHandler({ storage, tfBackend: "auto", trainThreads: Math.min(2, availableParallelism()) }) },
  pollIntervalMs: 500,
  heartbeatIntervalMs: 10_000,
  staleAfterMs: 3_600_000,
  signal: stop.signal,
});
let summary: LodocvParentResult["summary"] = null;
let result: LodocvParentResult | null = null;
while (!summary) {
  await new Promise((r) => setTimeout(r, 5_000));
  const parent = await getJob(handle.db, plan.id);
  if (parent.status === "failed") throw new Error(`plan failed: ${parent.error}`);
  result = parent.result as unknown as LodocvParentResult | null;
  summary = result?.summary ?? null;
}
stop.abort();
await worker;
const totalMinutes = (performance.now() - t0) / 60_000;

const pct = (v: number | null | undefined) => (v === null || v === undefined ? "N/A" : `${(v * 100).toFixed(1)}`);
const keys = result!.classKeys;
const header = `| held-out site | n | accuracy | balanced acc. | kappa | macro AUC | ${keys.map((k) => `recall ${k}`).join(" | ")} |`;
const rows = summary.perSite.map(
  ({ heldOut, report }) =>
    `| ${heldOut} | ${report.n} | ${pct(report.accuracy)} | ${pct(report.balancedAccuracy)} | ${report.kappa?.toFixed(3) ?? "N/A"} | ${report.macroAuc?.toFixed(3) ?? "N/A"} | ${keys.map((k) => pct(report.perClass[k]?.recall)).join(" | ")} |`,
);
const pooled = summary.pooled;
rows.push(
  `| pooled | ${pooled.n} | ${pct(pooled.accuracy)} | ${pct(pooled.balancedAccuracy)} | ${pooled.kappa?.toFixed(3) ?? "N/A"} | ${pooled.macroAuc?.toFixed(3) ?? "N/A"} | ${keys.map((k) => pct(pooled.perClass[k]?.recall)).join(" | ")} |`,
);
const a = summary.acrossSites;
rows.push(
  `| mean ± sd over sites | | ${pct(a.accuracy.mean)} ± ${pct(a.accuracy.sd)} | ${pct(a.balancedAccuracy.mean)} ± ${pct(a.balancedAccuracy.sd)} | ${a.kappa.mean?.toFixed(3)} ± ${a.kappa.sd?.toFixed(3)} | ${a.macroAuc.mean?.toFixed(3)} | ${keys.map(() => "").join(" | ")} |`,
);
const separator = `|${"---|".repeat(6 + keys.length)}`;
console.log([header, separator, ...rows].join("\n"));
console.log(
  `[bench] import ${importSeconds.toFixed(0)} s, total ${totalMinutes.toFixed(1)} min, ${values.minutes} min budget per fold, ${values.backbone} @${values["input-size"]}px`,
);
if (values.out) await writeFile(values.out, JSON.stringify({ settings: values, importSeconds, totalMinutes, result }, null, 2));
await handle.close();
await rm(work, { recursive: true, force: true });

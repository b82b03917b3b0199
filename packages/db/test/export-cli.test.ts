import { spawn } from "node:child_process";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError } from "../src/errors";
import { exportLabelsParam, toLabelChoice } from "../src/export";
import { copyInto, pbcCrop, repoRoot } from "./fixtures/import-test-files";
import { readZip } from "./helpers/unzip";

type CliRun = { code: number | null; stdout: string; stderr: string; lastLine: string };

function runCli(script: string, args: string[], env: Record<string, string>): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.DATABASE_URL;
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repoRoot, "node_modules", ".bin", "tsx"), [`packages/db/src/cli/${script}`, ...args], {
      cwd: repoRoot,
      env: childEnv,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const lines = stdout.trimEnd().split("\n");
      resolve({ code, stdout, stderr, lastLine: lines[lines.length - 1] ?? "" });
    });
  });
}

it("reader:<who> resolves through the caller's lookup; an unknown reader is a not-found error", async () => {
  const byEmail = (email: string) => Promise.resolve(email === "a@example.org" ? "user-1" : null);
  expect(exportLabelsParam.parse("consensus")).toEqual({ kind: "consensus" });
  expect(await toLabelChoice(exportLabelsParam.parse("reader:a@example.org"), byEmail)).toEqual({ kind: "reader", readerId: "user-1" });
  await expect(toLabelChoice(exportLabelsParam.parse("reader:nobody@example.org"), byEmail)).rejects.toBeInstanceOf(NotFoundError);
  expect(exportLabelsParam.safeParse("everyone").success).toBe(false);
});

// One engine is enough here: the export itself runs on both in export.test.ts; this checks the CLI's arguments and output.
describe("export CLI (embedded PGlite)", () => {
  let tmp: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-export-cli-"));
    const src = path.join(tmp, "src");
    await copyInto(await pbcCrop("lymphocyte", 0), path.join(src, "lymphocyte", "a.jpg"));
    await copyInto(await pbcCrop("lymphocyte", 1), path.join(src, "lymphocyte", "b.jpg"));
    await copyInto(await pbcCrop("ig", 2), path.join(src, "ig", "c.jpg"));
    env = { HEMALOOP_DATA_DIR: path.join(tmp, "data") };
    const imported = await runCli(
      "import-cli.ts",
      ["--dir", src, "--institution", "CLI Hospital", "--dataset", "cli-set", "--scheme", "pbc-8"],
      env,
    );
    expect(imported.lastLine).toBe("imported=3 duplicates=0 rejected=0");
  }, 120_000);
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("exports a dataset mapped to wbc-5, prints the counts and leaves out the unmapped class", async () => {
    const out = path.join(tmp, "out.zip");
    const run = await runCli(
      "export-cli.ts",
      ["--dataset", "cli-set", "--format", "csv", "--labels", "imported", "--scheme", "wbc-5", "--out", out],
      env,
    );
    expect(run.code).toBe(0);
    expect(run.lastLine).toBe("cells=2 images=2 left_out=1 (unmapped=1 unlabeled=0 no_box=0)");
    const files = await readZip(await readFile(out));
    const manifest = files.get("manifest.csv")!.toString("utf8").trim().split("\n");
    expect(manifest[0]).toBe("file,label,patient,smear,sublabel");
    expect(manifest.slice(1).map((l) => l.split(",")[1])).toEqual(["lymphocyte", "lymphocyte"]);
    await expect(access(`${out}.partial`)).rejects.toThrow();
  }, 60_000);

  it("bad arguments exit with code 2 before the database is opened and write nothing", async () => {
    const out = path.join(tmp, "bad.json");
    const noScope = await runCli("export-cli.ts", ["--format", "coco", "--labels", "imported", "--out", out], env);
    expect(noScope.code).toBe(2);
    expect(noScope.stderr).toContain("give exactly one of --project, --dataset");
    const badLabels = await runCli(
      "export-cli.ts",
      ["--dataset", "cli-set", "--format", "coco", "--labels", "everyone", "--out", out],
      env,
    );
    expect(badLabels.code).toBe(2);
    await expect(access(out)).rejects.toThrow();
  }, 60_000);
});

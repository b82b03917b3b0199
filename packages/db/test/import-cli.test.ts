import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { copyInto, listFiles, pbcCrop, repoRoot, writeInto } from "./fixtures/import-test-files";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

type CliRun = { code: number | null; stdout: string; stderr: string; lastLine: string };

function runImportCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.DATABASE_URL;
  if (env.DATABASE_URL) childEnv.DATABASE_URL = env.DATABASE_URL;
  return new Promise((resolve, reject) => {
    // `npx tsx packages/db/src/cli/import-cli.ts` (what `npm run import` runs), minus npx's own start-up.
    const child = spawn(path.join(repoRoot, "node_modules", ".bin", "tsx"), ["packages/db/src/cli/import-cli.ts", ...args], {
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

describeEachDb("import CLI", (kind) => {
  let t: TestDb | undefined;
  let tmp: string;
  let srcDir: string;
  let env: Record<string, string>;
  let dbArgs: string[];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-cli-"));
    srcDir = path.join(tmp, "src");
    await copyInto(await pbcCrop("lymphocyte", 0), path.join(srcDir, "lymphocyte", "a.jpg"));
    await copyInto(await pbcCrop("lymphocyte", 1), path.join(srcDir, "lymphocyte", "b.jpg"));
    await copyInto(await pbcCrop("ig", 2), path.join(srcDir, "IG", "c.jpg"));
    await writeInto(path.join(srcDir, "lymphocyte", "notes.jpg"), "not an image");
    // Embedded leg: a fresh PGlite data dir via HEMALOOP_DATA_DIR. Server leg: a throwaway database.
    env = { HEMALOOP_DATA_DIR: path.join(tmp, "data") };
    dbArgs = [];
    if (kind === "postgres") {
      t = await createTestDb("postgres");
      dbArgs = ["--database-url", t.url!];
    }
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  const importArgs = () => ["--dir", srcDir, "--institution", "CLI Hospital", "--dataset", "cli-set", "--scheme", "pbc-8", ...dbArgs];

  // Two tests rather than one: on a fresh embedded data dir the first run also creates the database.
  it("imports, lists rejected files and ends with the summary line", async () => {
    const first = await runImportCli(importArgs(), env);
    expect(first.stderr).toMatch(/\[import\] 4\/4 \(100%\) [\d.]+ img\/s ETA/);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("rejected lymphocyte/notes.jpg: not an image (unrecognised file format)");
    expect(first.lastLine).toBe("imported=3 duplicates=0 rejected=1");
    const stored = await listFiles(path.join(tmp, "data", "storage"));
    expect(stored.filter((f) => f.startsWith("images/"))).toHaveLength(3);
    expect(stored.filter((f) => f.startsWith("thumbs/"))).toHaveLength(3);
  });

  it("a second run adds nothing", async () => {
    const second = await runImportCli(importArgs(), env);
    expect(second.code).toBe(0);
    expect(second.lastLine).toBe("imported=0 duplicates=3 rejected=1");
  });

  if (kind === "pglite") {
    // Input errors are found before any database is opened: the data dir stays untouched.
    it("fails a manifest without file,label with exit code 2 before opening the database", async () => {
      const manifest = await writeInto(path.join(tmp, "m", "list.csv"), "filename,class\na.jpg,ig\n");
      const emptyData = path.join(tmp, "untouched");
      const badHeader = await runImportCli(["--manifest", manifest, "--institution", "I", "--dataset", "d", "--scheme", "pbc-8"], {
        HEMALOOP_DATA_DIR: emptyData,
      });
      expect(badHeader.code).toBe(2);
      expect(badHeader.stderr).toMatch(/error: manifest .*list\.csv is missing the required columns "file", "label"/);
      expect(badHeader.stdout).not.toMatch(/imported=/);
      expect(await listFiles(emptyData)).toEqual([]);
    });
  } else {
    // Spawning costs seconds on the embedded database; these checks need a database but not its kind.
    it("exits 2 on an unknown scheme and 1 on an unreachable database", async () => {
      const unknownScheme = await runImportCli(
        ["--dir", srcDir, "--institution", "I", "--dataset", "d", "--scheme", "pbc-9", ...dbArgs],
        env,
      );
      expect(unknownScheme.code).toBe(2);
      expect(unknownScheme.stderr).toContain('error: unknown class scheme "pbc-9"');
      expect(unknownScheme.stdout).not.toMatch(/imported=/);

      const unreachable = await runImportCli(
        [...importArgs().slice(0, -2), "--database-url", "postgres://postgres@127.0.0.1:1/nothing"],
        env,
      );
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toMatch(/error: cannot reach the database at postgres:\/\/postgres@127\.0\.0\.1:1\/nothing/);
    });
  }
});

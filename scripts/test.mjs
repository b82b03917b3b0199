#!/usr/bin/env node
// `npm test`: the whole suite on a fresh clone: install, typecheck, lint, format check, unit + integration tests
// (PGlite and the PostgreSQL server), web build, browser end-to-end tests. Prints one summary line.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDependencies, ensureNativeDecoder, run } from "./lib/ensure-deps.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ONNXRUNTIME_NODE_INSTALL: "skip" };
const only = new Set(process.argv.slice(2)); // e.g. `npm test -- unit` runs one step
const wants = (step) => only.size === 0 || only.has(step);

ensureDependencies(root);
ensureNativeDecoder(root);
ensureChromium();
await announcePostgres();

const reports = mkdtempSync(path.join(tmpdir(), "hemaloop-test-"));
const counts = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

function step(name, cmd, args, options = {}) {
  if (!wants(name)) return;
  const t0 = Date.now();
  console.log(`\n=== ${name}: ${[path.basename(cmd), ...args].join(" ")}`);
  const code = run(cmd, args, { cwd: root, env, ...options });
  console.log(`=== ${name}: ${code === 0 ? "ok" : `FAILED (exit ${code})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (code !== 0) failures.push(name);
}

step("typecheck", "npm", ["run", "typecheck", "--silent"]);
step("lint", bin("eslint"), ["."]);
step("format", bin("prettier"), ["--check", "."]);
const vitestJson = path.join(reports, "vitest.json");
step("unit", bin("vitest"), ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${vitestJson}`]);
addVitestCounts(vitestJson);
step("build", bin("next"), ["build"], { cwd: path.join(root, "apps", "web") });
const playwrightJson = path.join(reports, "playwright.json");
if (!failures.includes("build")) {
  step("e2e", bin("playwright"), ["test", "-c", "e2e/playwright.config.ts", "--reporter=list,json"], {
    env: { ...env, PLAYWRIGHT_JSON_OUTPUT_NAME: playwrightJson },
  });
  addPlaywrightCounts(playwrightJson);
}

console.log(`\nsteps failed: ${failures.length ? failures.join(", ") : "none"}`);
if (failures.length && counts.failed === 0) counts.failed = failures.length;
console.log(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exit(failures.length ? 1 : 0);

function addVitestCounts(file) {
  if (!existsSync(file)) return;
  const r = JSON.parse(readFileSync(file, "utf8"));
  counts.passed += r.numPassedTests ?? 0;
  counts.failed += r.numFailedTests ?? 0;
  counts.skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
}

function addPlaywrightCounts(file) {
  if (!existsSync(file)) return;
  const s = JSON.parse(readFileSync(file, "utf8")).stats ?? {};
  counts.passed += s.expected ?? 0;
  counts.failed += (s.unexpected ?? 0) + (s.flaky ?? 0);
  counts.skipped += s.skipped ?? 0;
}

/** Browser tests use Debian's chromium (Playwright cannot download browsers here). */
function ensureChromium() {
  if (!wants("e2e") || existsSync("/usr/bin/chromium")) return;
  console.log("[hemaloop] installing chromium for browser tests (apt-get)...");
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (run("apt-get", ["install", "-y", "-q", "chromium"], { env: aptEnv }) !== 0) {
    run("apt-get", ["update", "-q"], { env: aptEnv });
    if (run("apt-get", ["install", "-y", "-q", "chromium"], { env: aptEnv }) !== 0) {
      console.error("[hemaloop] could not install chromium: browser tests will fail");
    }
  }
}

/** Says up front whether the PostgreSQL leg will run; the tests skip it visibly when it cannot. */
async function announcePostgres() {
  const url = new URL(process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
  const reachable = await new Promise((resolve) => {
    const socket = createConnection({ host: url.hostname, port: Number(url.port || 5432) });
    socket.setTimeout(2_000, () => (socket.destroy(), resolve(false)));
    socket.once("connect", () => (socket.end(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
  console.log(
    reachable
      ? `[hemaloop] PostgreSQL server at ${url.host}: database tests run on PGlite AND PostgreSQL`
      : `[hemaloop] WARNING: no PostgreSQL server at ${url.host}: server tests will be SKIPPED (PGlite only)`,
  );
}

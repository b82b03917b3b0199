import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import path from "node:path";

/** Installs node_modules when missing or older than package-lock.json (fresh clones, pulled lockfiles). */
export function ensureDependencies(root) {
  const marker = path.join(root, "node_modules", ".package-lock.json");
  const lock = path.join(root, "package-lock.json");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log("[hemaloop] installing dependencies (npm ci)...");
  // onnxruntime-node's install script would download CUDA binaries; the CPU build ships in the package.
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip" },
  });
  if (result.status !== 0) {
    console.error("[hemaloop] npm ci failed");
    process.exit(result.status ?? 1);
  }
}

/** Runs a command, inheriting stdio; returns its exit code. */
export function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: "inherit", ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

/** Builds the optional native JPEG decoder (packages/ml/native); a failed build only warns. */
export function ensureNativeDecoder(root) {
  spawnSync(process.execPath, [path.join(root, "packages", "ml", "native", "build.mjs"), "--quiet"], { cwd: root, stdio: "inherit" });
}

/**
 * Builds the optional JPEG addon (jpeg-scaled.c) against the system libjpeg-turbo:
 *
 *   node packages/ml/native/build.mjs [--force] [--quiet]
 *
 * Called by `npm start` and `npm test` (scripts/lib/ensure-deps.mjs) after dependencies are
 * installed. It needs a C compiler, Node's headers and libjpeg headers (Debian: libjpeg-dev).
 * When any is missing it prints why and exits 0: decoding then falls back to sharp, which gives
 * the same pixels at several times the CPU cost (docs/benchmarks.md).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const source = path.join(here, "jpeg-scaled.c");
const output = path.join(here, "build", "jpeg-scaled.node");
const force = process.argv.includes("--force");
const quiet = process.argv.includes("--quiet");

function findNodeHeaders() {
  const candidates = [path.join(path.dirname(process.execPath), "..", "include", "node"), "/usr/include/node", "/usr/local/include/node"];
  return candidates.find((dir) => existsSync(path.join(dir, "node_api.h")));
}

function main() {
  if (!force && existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs) {
    if (!quiet) console.log(`[jpeg-scaled] up to date: ${output}`);
    return;
  }
  const headers = findNodeHeaders();
  if (!headers) {
    console.warn("[jpeg-scaled] Node headers (node_api.h) not found; JPEG decoding will use sharp (slower)");
    return;
  }
  mkdirSync(path.dirname(output), { recursive: true });
  const cc = process.env.CC || "cc";
  const args = ["-O2", "-shared", "-fPIC", "-Wall", "-o", output, source, `-I${headers}`, "-ljpeg", "-lm"];
  const result = spawnSync(cc, args, { encoding: "utf8" });
  if (result.status !== 0) {
    const why = result.error ? result.error.message : result.stderr.trim().split("\n").slice(0, 6).join("\n");
    console.warn(
      `[jpeg-scaled] build failed; JPEG decoding will use sharp (slower). Install a C compiler and libjpeg-dev to enable it.\n${why}`,
    );
    return;
  }
  if (!quiet) console.log(`[jpeg-scaled] built ${output}`);
}

main();

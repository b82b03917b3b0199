#!/usr/bin/env node
// `npm start` / `npm run demo` (--demo): install if needed, then hand over to the TypeScript launcher.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDependencies, ensureNativeDecoder } from "./lib/ensure-deps.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
ensureDependencies(root);
ensureNativeDecoder(root);
const child = spawn(
  path.join(root, "node_modules", ".bin", "tsx"),
  [path.join(root, "scripts", "start-stack.ts"), ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: "inherit",
    env: { NEXT_TELEMETRY_DISABLED: "1", ...process.env },
  },
);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));

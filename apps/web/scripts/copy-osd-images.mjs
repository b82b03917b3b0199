// Copies OpenSeadragon's navigation button images out of node_modules into public/osd-images
// (served by Next; no CDN). Run as the prebuild/predev script and from next.config.ts when missing.
import { cpSync, existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const target = path.resolve(here, "../public/osd-images");

export function copyOsdImages({ quiet = false, ifMissing = false } = {}) {
  if (ifMissing && existsSync(path.join(target, "home_rest.png"))) return;
  const require = createRequire(import.meta.url);
  const osdMain = require.resolve("openseadragon", { paths: [path.resolve(here, "../../../packages/ui"), here] });
  const source = path.join(path.dirname(osdMain), "images");
  if (!existsSync(source)) throw new Error(`[copy-osd-images] ${source} not found`);
  mkdirSync(target, { recursive: true });
  cpSync(source, target, { recursive: true });
  if (!quiet) console.log(`[copy-osd-images] ${source} -> ${target}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) copyOsdImages();

// npm run import -- (--dir <folder> | --manifest <file.csv> | --voc <folder> | --coco <file.json> [--images <dir>] | --zip <file.zip>) --institution <name> --dataset <name> --scheme <key>
// Last stdout line: imported=<n> duplicates=<n> rejected=<n>. Progress goes to stderr.
import path from "node:path";
import sharp from "sharp";
import { z } from "zod";
import { type ImportProgress, ImportSetupError, importImages, type ImportSource, validateImportSource } from "../import";
import { resolveRuntimeConfig } from "../runtime-config";
import { createStorage } from "../storage";
import { CliError, openMigratedDb, parseCliOptions, repoRoot, runCli } from "./cli-support";

const USAGE = `usage: npm run import -- (--dir <folder> | --manifest <file.csv> | --voc <folder> | --coco <file.json> [--images <dir>] | --zip <file.zip>)
         --institution <name> --dataset <name> --scheme <key>
         [--database-url <url>] [--storage-dir <dir>] [--max-pixels <n>] [--kind crop|field]
         [--site <s>] [--device <s>] [--stain <s>] [--magnification <s>] [--licence <s>] [--attribution <s>]
         [--label-map From=key,Other=key] [--concurrency <n>]
         [--zip-max-bytes <n>] [--zip-max-entries <n>] [--zip-max-ratio <n>]

  --dir        folder of <class>/<image>        --manifest  CSV with file,label[,patient,smear]
  --voc        Pascal VOC XML + images (fields, one box cell per object)
  --coco       COCO JSON (fields, one box cell per annotation); images in --images, else beside the JSON
  --zip        a zip of any of the above (layout detected); hostile entries are rejected, zip bombs refused
  Database: --database-url, else DATABASE_URL, else a running embedded server, else .data/pglite.`;

const text = z.string().trim().min(1);
const argsSchema = z
  .object({
    dir: text.optional(),
    manifest: text.optional(),
    voc: text.optional(),
    coco: text.optional(),
    images: text.optional(),
    zip: text.optional(),
    institution: text,
    dataset: text,
    scheme: text,
    "database-url": z.string().url().optional(),
    "storage-dir": text.optional(),
    "max-pixels": z.coerce.number().int().positive().optional(),
    kind: z.enum(["crop", "field"]).optional(),
    concurrency: z.coerce.number().int().min(1).max(64).optional(),
    site: text.optional(),
    device: text.optional(),
    stain: text.optional(),
    magnification: text.optional(),
    licence: text.optional(),
    attribution: text.optional(),
    description: text.optional(),
    "label-map": text.optional(),
    "zip-max-bytes": z.coerce.number().int().positive().optional(),
    "zip-max-entries": z.coerce.number().int().positive().optional(),
    "zip-max-ratio": z.coerce.number().positive().optional(),
  })
  .refine((a) => [a.dir, a.manifest, a.voc, a.coco, a.zip].filter(Boolean).length === 1, {
    message: "give exactly one of --dir, --manifest, --voc, --coco, --zip",
  })
  .refine((a) => !a.images || a.coco, { message: "--images goes with --coco" });

function parseCliArgs(argv: string[]) {
  return parseCliOptions(
    argv,
    [
      "dir",
      "manifest",
      "voc",
      "coco",
      "images",
      "zip",
      "institution",
      "dataset",
      "scheme",
      "database-url",
      "storage-dir",
      "max-pixels",
      "kind",
      "concurrency",
      "site",
      "device",
      "stain",
      "magnification",
      "licence",
      "attribution",
      "description",
      "label-map",
      "zip-max-bytes",
      "zip-max-entries",
      "zip-max-ratio",
    ],
    argsSchema,
    USAGE,
  );
}

/** "Platelets=platelet,WBC=neutrophil" -> { Platelets: "platelet", WBC: "neutrophil" } */
function parseLabelMap(value: string | undefined): Record<string, string> | undefined {
  if (!value) return undefined;
  const map: Record<string, string> = {};
  for (const pair of value.split(",")) {
    const [from, to, ...rest] = pair.split("=").map((s) => s.trim());
    if (!from || !to || rest.length > 0) throw new CliError(`--label-map: "${pair}" is not From=key`, 2);
    map[from] = to;
  }
  return map;
}

function createProgressPrinter(stream: NodeJS.WriteStream) {
  const interactive = stream.isTTY === true;
  const interval = interactive ? 200 : 2000;
  let last = 0;
  let lastLine = "";
  const format = (p: ImportProgress) => {
    const pct = p.total ? Math.floor((p.done / p.total) * 100) : 100;
    const eta = p.etaSeconds === null ? "?" : `${Math.ceil(p.etaSeconds)}s`;
    return `[import] ${p.done}/${p.total} (${pct}%) ${p.ratePerSec.toFixed(1)} img/s ETA ${eta} | imported=${p.imported} duplicates=${p.duplicates} rejected=${p.rejected}`;
  };
  return {
    update(p: ImportProgress) {
      const now = Date.now();
      if (now - last < interval && p.done !== p.total) return;
      last = now;
      lastLine = format(p);
      stream.write(interactive ? `\r${lastLine}\x1b[K` : `${lastLine}\n`);
    },
    finish() {
      if (interactive && lastLine) stream.write("\n");
    },
  };
}

async function main() {
  const args = parseCliArgs(process.argv.slice(2));
  const labelMap = parseLabelMap(args["label-map"]);
  let config;
  try {
    config = resolveRuntimeConfig(process.env, repoRoot);
  } catch (error) {
    throw new CliError(`bad environment: ${(error as Error).message}`, 2);
  }
  if (args["database-url"]) config = { ...config, databaseUrl: args["database-url"] };
  if (args["storage-dir"]) {
    const storageDir = path.resolve(args["storage-dir"]);
    config = { ...config, storageDir, storage: { kind: "local" as const, dir: storageDir } };
  }
  const maxImagePixels = args["max-pixels"] ?? config.maxImagePixels;

  const source: ImportSource = args.dir
    ? { kind: "dir", dir: path.resolve(args.dir) }
    : args.manifest
      ? { kind: "manifest", file: path.resolve(args.manifest) }
      : args.coco
        ? { kind: "coco", file: path.resolve(args.coco), imagesDir: args.images ? path.resolve(args.images) : undefined }
        : args.zip
          ? {
              kind: "zip",
              file: path.resolve(args.zip),
              limits: {
                maxTotalBytes: args["zip-max-bytes"],
                maxEntries: args["zip-max-entries"],
                maxEntryRatio: args["zip-max-ratio"],
                maxTotalRatio: args["zip-max-ratio"],
              },
            }
          : { kind: "voc", dir: path.resolve(args.voc!) };

  try {
    await validateImportSource(source);
  } catch (error) {
    if (error instanceof ImportSetupError) throw new CliError(error.message, 2);
    throw error;
  }

  // Decoded pixels are used once; libvips' operation cache would only hold memory.
  sharp.cache(false);
  const { handle, where } = await openMigratedDb(config);
  const storage = createStorage(config.storage);
  console.error(`[import] ${source.kind} ${"dir" in source ? source.dir : source.file} -> ${where}, storage ${storage.location}`);

  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    console.error("\n[import] stopping after the files in progress (Ctrl+C again to quit at once)");
    abort.abort();
  };
  process.on("SIGINT", onSigint);

  const progress = createProgressPrinter(process.stderr);
  try {
    const result = await importImages(handle.db, storage, {
      source,
      institution: args.institution,
      dataset: args.dataset,
      schemeKey: args.scheme,
      maxImagePixels,
      kind: args.kind,
      concurrency: args.concurrency,
      labelMap,
      signal: abort.signal,
      provenance: {
        site: args.site,
        device: args.device,
        stain: args.stain,
        magnification: args.magnification,
        licence: args.licence,
        attribution: args.attribution,
        description: args.description,
      },
      onProgress: (p) => progress.update(p),
    });
    progress.finish();
    for (const r of result.rejected) console.log(`rejected ${r.file}: ${r.reason}`);
    for (const r of result.rejectedBoxes) console.log(`rejected box ${r.file}: ${r.reason}`);
    for (const d of result.sameContent) console.log(`duplicate ${d.file}: same bytes as ${d.sameAs} (stored once)`);
    for (const w of result.warnings) console.error(`warning: ${w}`);
    if (result.aborted)
      console.error(
        `[import] stopped early: ${result.total - result.imported - result.duplicates - result.rejected.length} files not tried`,
      );
    const seconds = result.durationMs / 1000;
    console.log(
      `cells=${result.cells} labels=${result.labels} unlabeled_cells=${result.unlabeledCells} clipped_boxes=${result.clippedBoxes} ` +
        `time=${seconds.toFixed(1)}s rate=${(result.total / Math.max(seconds, 0.001)).toFixed(1)}/s ` +
        `peak_rss=${Math.round(process.resourceUsage().maxRSS / 1024)}MiB`,
    );
    console.log(`imported=${result.imported} duplicates=${result.duplicates} rejected=${result.rejected.length}`);
  } catch (error) {
    progress.finish();
    if (error instanceof ImportSetupError) throw new CliError(error.message, 2);
    throw error;
  } finally {
    process.off("SIGINT", onSigint);
    await handle.close();
  }
}

runCli(main);
